# ufw-docker-bridge. `make demo` and `make test` work on a fresh Debian 12
# machine as root: they install the Debian packages they use first.
GO ?= go
BIN := bin/ufw-docker-bridge
PKGS := ./...

.PHONY: all build deps deps-demo test unit lint demo bench fuzz deb clean

all: build

VERSION ?= $(shell cat VERSION)

build:
	$(GO) build -ldflags "-X github.com/ufw-docker-bridge/ufw-docker-bridge/internal/cli.Version=$(VERSION)" -o $(BIN) ./cmd/ufw-docker-bridge

# Debian packages and Go modules: everything for make test, or the demo's
# few. Labs build the binary before entering their namespaces and run with
# GOPROXY=off inside, so nothing downloads there.
deps:
	./scripts/deps.sh all

deps-demo:
	./scripts/deps.sh demo

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet $(PKGS)

# The integration package's tests of the other backends, guests and the
# package run in a lab of their own beside the rest (two test processes of
# one package, each in its own namespaces): the package is the suite's
# critical path.
INTEGRATION_B := ^(TestGuestBridges|TestPodman|TestDebPackage|TestDebPackageFirewalldStopped|TestDebTriggerHealsUFWUpgrade|TestFirewalldBackend|TestFirewalldZoneConflict|TestIPTablesBackend|TestWatchFirewalld|TestOffPathOtherBackends|TestSwarmHostMode)$$

# Every test: unit tests (no root needed) and, as root, the integration tests
# that run real ufw, dockerd and an external client in namespaces of their own.
# The second lab's output follows the first's, whole.
test: deps lint
	@req=$$( [ "$$(id -u)" = 0 ] && echo 1 || echo 0 ); out=$$(mktemp); \
	UFW_DOCKER_BRIDGE_REQUIRE_LAB=$$req $(GO) test -count=1 -timeout 20m -run '$(INTEGRATION_B)' ./test/integration >$$out 2>&1 & b=$$!; \
	echo "$(GO) test -count=1 -timeout 20m -skip '$(INTEGRATION_B)' $(PKGS)   (and -run of those in ./test/integration beside it)"; \
	UFW_DOCKER_BRIDGE_REQUIRE_LAB=$$req $(GO) test -count=1 -timeout 20m -skip '$(INTEGRATION_B)' $(PKGS); a=$$?; \
	wait $$b; bs=$$?; echo "== ./test/integration, second lab:"; cat $$out; rm -f $$out; \
	[ $$a = 0 ] && [ $$bs = 0 ]
	$(MAKE) unit
	$(MAKE) fuzz FUZZTIME=5s

# Unit tests only, with the race detector: no root, no namespaces.
unit:
	$(GO) test -race -count=1 ./internal/... ./ufw/... ./firewalld/...

# The whole story in a disposable namespace lab: reachability matrices before
# install, after install, after allow/deny/delete, through ufw reload and
# dockerd restarts, and after uninstall.
demo: deps-demo
	@[ "$$(id -u)" = 0 ] || { echo "demo: run as root (it builds its own network namespaces)"; exit 1; }
	@echo "demo: building, then starting the lab (dockerd, five containers, an external client): about 30 s"
	UFW_DOCKER_BRIDGE_REQUIRE_LAB=1 $(GO) test -count=1 -timeout 10m -run TestUFWStory -v ./test/integration \
		| ./scripts/demo-filter.sh

# Benchmarks (root): every figure side by side with the alternative, in the
# namespace lab; one line per figure, also written to bench-results.txt.
bench: deps
	./scripts/bench.sh

# Each fuzz target for FUZZTIME (make test runs them for 5 s each; their
# seed corpora also run as plain tests). Go's fuzzer can end a run with
# "context deadline exceeded" when a worker answers late at the deadline
# (seen once here, with no input at fault): a run that fails so is run once
# more. A real finding is written to testdata/fuzz and fails the rerun too.
# A target the package does not have fails (go test would pass fuzzing none).
FUZZTIME ?= 60s
fuzz:
	@for t in FuzzBlockEditor:./internal/block/ FuzzParse:./internal/rules/ FuzzParseSave:./internal/rules/ FuzzArgs:./internal/cli/; do \
		name=$${t%%:*}; pkg=$${t#*:}; \
		echo "$(GO) test -run '^$$' -fuzz '^$$name\$$' -fuzztime $(FUZZTIME) $$pkg"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg > /tmp/udb-fuzz.log 2>&1 && { cat /tmp/udb-fuzz.log; \
			! grep -q 'no fuzz tests to fuzz' /tmp/udb-fuzz.log || { echo "fuzz: $$pkg has no $$name"; exit 1; }; continue; }; \
		cat /tmp/udb-fuzz.log; \
		grep -q 'context deadline exceeded' /tmp/udb-fuzz.log || exit 1; \
		echo "fuzz: $$name ended on the fuzzer's deadline, not on an input: running it once more"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	done

# The Debian package, out/ufw-docker-bridge_VERSION_ARCH.deb (dpkg-deb; the
# version comes from the VERSION file). TestDebPackage installs it for real.
deb:
	./scripts/build-deb.sh

clean:
	rm -rf bin out
