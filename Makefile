# ufw-docker-bridge. `make demo` and `make test` work on a fresh Debian 12
# machine as root: they install the Debian packages they use first.
GO ?= go
BIN := bin/ufw-docker-bridge
PKGS := ./...

.PHONY: all build deps test unit lint demo bench fuzz deb clean

all: build

VERSION ?= $(shell cat VERSION)

build:
	$(GO) build -ldflags "-X github.com/ufw-docker-bridge/ufw-docker-bridge/internal/cli.Version=$(VERSION)" -o $(BIN) ./cmd/ufw-docker-bridge

deps:
	./scripts/deps.sh

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet $(PKGS)

# Every test: unit tests (no root needed) and, as root, the integration tests
# that run real ufw, dockerd and an external client in namespaces of their own.
test: deps lint
	UFW_DOCKER_BRIDGE_REQUIRE_LAB=$$( [ "$$(id -u)" = 0 ] && echo 1 || echo 0 ) \
		$(GO) test -count=1 -timeout 20m $(PKGS)
	$(MAKE) fuzz FUZZTIME=5s

# Unit tests only: no root, no namespaces.
unit:
	$(GO) test -count=1 ./internal/... ./ufw/...

# The whole story in a disposable namespace lab: reachability matrices before
# install, after install, after allow/deny/delete, through ufw reload and
# dockerd restarts, and after uninstall.
demo: deps
	@[ "$$(id -u)" = 0 ] || { echo "demo: run as root (it builds its own network namespaces)"; exit 1; }
	UFW_DOCKER_BRIDGE_REQUIRE_LAB=1 $(GO) test -count=1 -timeout 10m -run TestUFWStory -v ./test/integration \
		| ./scripts/demo-filter.sh

# Benchmarks (root): every figure side by side with the alternative, in the
# namespace lab; one line per figure, also written to bench-results.txt.
bench: deps
	./scripts/bench.sh

# Each fuzz target for FUZZTIME (make test runs them for 5 s each; their
# seed corpora also run as plain tests).
FUZZTIME ?= 60s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzBlockEditor$$' -fuzztime $(FUZZTIME) ./ufw/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/rules/
	$(GO) test -run '^$$' -fuzz '^FuzzParseSave$$' -fuzztime $(FUZZTIME) ./internal/rules/
	$(GO) test -run '^$$' -fuzz '^FuzzArgs$$' -fuzztime $(FUZZTIME) ./internal/cli/

# The Debian package, out/ufw-docker-bridge_VERSION_ARCH.deb (dpkg-deb; the
# version comes from the VERSION file). TestDebPackage installs it for real.
deb:
	./scripts/build-deb.sh

clean:
	rm -rf bin out
