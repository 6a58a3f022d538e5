#!/usr/bin/env bash
# Builds the dockerd of Docker 29 (moby v2.0.0-beta.24) and a runc new enough
# for it from the Go module proxy, for the tests of Docker's nftables
# firewall backend: Debian 12 ships Docker 20.10, which has none. Both land
# in $DIR (what the tests read from UFW_DOCKER_BRIDGE_DOCKER29, this path by
# default); a build that is there already is kept. About four minutes the
# first time on two cores.
set -euo pipefail
DIR=${UFW_DOCKER_BRIDGE_DOCKER29:-/usr/local/lib/ufw-docker-bridge-test/docker29}
MOBY=v2.0.0-beta.24
RUNC=v1.2.6
stamp="$DIR/.versions"
if [ -x "$DIR/dockerd" ] && [ -x "$DIR/runc" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$MOBY $RUNC" ]; then
	exit 0
fi
echo "docker29: building dockerd $MOBY and runc $RUNC into $DIR"
mkdir -p "$DIR"
# No btrfs or devicemapper headers are needed: the tests use overlay2 and vfs.
CGO_ENABLED=0 GOBIN="$DIR" go install -tags 'exclude_graphdriver_btrfs exclude_graphdriver_devicemapper' \
	"github.com/moby/moby/v2/cmd/dockerd@$MOBY"
# Debian's runc 1.1 refuses the time namespace in Docker 29's OCI spec. Built
# without libseccomp: the tests start containers with seccomp=unconfined.
CGO_ENABLED=1 GOBIN="$DIR" go install "github.com/opencontainers/runc@$RUNC"
echo "$MOBY $RUNC" >"$stamp"
