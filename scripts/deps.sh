#!/usr/bin/env bash
# Installs the Debian packages the tests and the demo use, when root and when
# any is missing. Idempotent; prints what it does.
set -euo pipefail
pkgs=(iptables nftables ufw firewalld docker.io busybox-static dbus iproute2 conntrack curl util-linux lintian init-system-helpers
	libvirt-daemon-system libvirt-clients dnsmasq-base lxd podman containernetworking-plugins netavark aardvark-dns)
if ! command -v go >/dev/null; then
	echo "deps: go is not installed (the project needs Go 1.22 or newer)" >&2
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps: not root: skipping the Debian packages (the integration tests will be skipped)"
	exit 0
fi
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# Installing docker.io must not start dockerd on this host: it would
	# rewrite the host's own firewall. policy-rc.d forbids starting services.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		trap 'rm -f /usr/sbin/policy-rc.d' EXIT
	fi
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Docker 29, for the tests of Docker's nftables firewall backend.
"$(dirname "$0")/docker29.sh"
