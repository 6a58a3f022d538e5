#!/usr/bin/env bash
# Installs what the demo or the tests use, when root and when any is missing,
# and fills the Go module cache: nothing that downloads runs later inside a
# lab's namespaces. Idempotent; says what it does during long steps.
#   deps.sh demo   the demo's packages only (ufw, dockerd 20.10, a client)
#   deps.sh        everything make test uses (firewalld, libvirt, LXD, Podman,
#                  ferm, the persistent packages, Docker 29 built from source)
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${1:-all}
demo_pkgs=(iptables nftables ufw docker.io busybox-static iproute2 conntrack curl util-linux)
test_pkgs=(firewalld dbus lintian init-system-helpers
	libvirt-daemon-system libvirt-clients dnsmasq-base lxd podman containernetworking-plugins netavark aardvark-dns
	ferm fail2ban crowdsec-firewall-bouncer ipset ansible-core prometheus-node-exporter)
case $profile in
demo) pkgs=("${demo_pkgs[@]}") ;;
all) pkgs=("${demo_pkgs[@]}" "${test_pkgs[@]}") ;;
*) echo "deps: unknown profile $profile (demo or all)" >&2; exit 2 ;;
esac
if ! command -v go >/dev/null; then
	echo "deps: go is not installed (the project needs Go 1.22 or newer)" >&2
	exit 1
fi
# The modules, before any lab: the labs build nothing that downloads.
echo "deps: Go modules (go mod download)"
go mod download
if [ "$(id -u)" != 0 ]; then
	echo "deps: not root: skipping the Debian packages (the integration tests will be skipped)"
	exit 0
fi

# elapsed PID WHAT prints a line every 30 s while PID runs.
elapsed() {
	local pid=$1 what=$2 n=0
	while kill -0 "$pid" 2>/dev/null; do
		sleep 1
		n=$((n + 1))
		((n % 30)) || echo "deps: still $what ($n s)"
	done
}

docker29=
if [ "$profile" = all ]; then
	# Docker 29, for the tests of Docker's nftables firewall backend: built
	# from the Go module proxy while apt works (waited for at the end).
	./scripts/docker29.sh &
	docker29=$!
fi
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${#missing[@]} Debian packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# Installing docker.io must not start dockerd on this host: it would
	# rewrite the host's own firewall. policy-rc.d forbids starting services.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		trap 'rm -f /usr/sbin/policy-rc.d' EXIT
	fi
	# ferm would load /etc/ferm/ferm.conf at boot: the tests run it only
	# inside their lab, on a configuration of their own.
	echo 'ferm ferm/enable boolean false' | debconf-set-selections
	# One line per package as dpkg sets it up, so a long install shows progress.
	log=$(mktemp)
	apt-get install -y -q --no-install-recommends "${missing[@]}" 2>&1 | tee "$log" |
		grep --line-buffered '^Setting up ' | sed -u 's/^/deps: /' || true
	for p in "${missing[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			{ tail -n 20 "$log" >&2; echo "deps: apt-get could not install $p" >&2; exit 1; }
	done
	rm -f "$log"
fi
[ "$profile" = all ] || exit 0
# iptables-persistent and netfilter-persistent, downloaded, not installed:
# UFW's package Breaks them. The tests unpack them into an overlay of the
# root inside their lab and run netfilter-persistent there. ufw's own
# package too: the tests upgrade ufw there, to see our dpkg trigger heal.
debs=/var/cache/ufw-docker-bridge-test/debs
if ! ls "$debs"/netfilter-persistent_*.deb "$debs"/iptables-persistent_*.deb "$debs"/ufw_*.deb >/dev/null 2>&1; then
	echo "deps: downloading netfilter-persistent, iptables-persistent and ufw into $debs"
	mkdir -p "$debs"
	(cd "$debs" && { apt-get download -qq netfilter-persistent iptables-persistent ufw 2>/dev/null ||
		{ apt-get update -qq && apt-get download -qq netfilter-persistent iptables-persistent ufw 2>/dev/null; }; })
fi
elapsed "$docker29" "building Docker 29 (scripts/docker29.sh, about four minutes the first time)"
if ! wait "$docker29"; then
	echo "deps: building Docker 29 failed (scripts/docker29.sh)" >&2
	exit 1
fi
