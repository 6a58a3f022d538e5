#!/usr/bin/env bash
# Installs the Debian packages the tests and the demo use, when root and when
# any is missing. Idempotent; prints what it does.
set -euo pipefail
pkgs=(iptables nftables ufw firewalld docker.io busybox-static dbus iproute2 conntrack curl util-linux lintian init-system-helpers
	libvirt-daemon-system libvirt-clients dnsmasq-base lxd podman containernetworking-plugins netavark aardvark-dns
	ferm)
if ! command -v go >/dev/null; then
	echo "deps: go is not installed (the project needs Go 1.22 or newer)" >&2
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps: not root: skipping the Debian packages (the integration tests will be skipped)"
	exit 0
fi
# Docker 29, for the tests of Docker's nftables firewall backend: built from
# the Go module proxy while apt works (it waits for it at the end).
"$(dirname "$0")/docker29.sh" &
docker29=$!
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
	# ferm would load /etc/ferm/ferm.conf at boot: the tests run it only
	# inside their lab, on a configuration of their own.
	echo 'ferm ferm/enable boolean false' | debconf-set-selections
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# iptables-persistent and netfilter-persistent, downloaded, not installed:
# UFW's package Breaks them. The tests unpack them into an overlay of the
# root inside their lab and run netfilter-persistent there.
debs=/var/cache/ufw-docker-bridge-test/debs
if ! ls "$debs"/netfilter-persistent_*.deb "$debs"/iptables-persistent_*.deb >/dev/null 2>&1; then
	echo "deps: downloading netfilter-persistent and iptables-persistent into $debs"
	mkdir -p "$debs"
	(cd "$debs" && { apt-get download -qq netfilter-persistent iptables-persistent 2>/dev/null ||
		{ apt-get update -qq && apt-get download -qq netfilter-persistent iptables-persistent 2>/dev/null; }; })
fi
if ! wait "$docker29"; then
	echo "deps: building Docker 29 failed (scripts/docker29.sh)" >&2
	exit 1
fi
