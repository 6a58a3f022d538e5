#!/bin/sh
# make deb: build ufw-docker-bridge_VERSION_ARCH.deb from the source tree with
# dpkg-deb (the Go module proxy is the only network it may use). The version
# comes from the VERSION file. Output: out/ufw-docker-bridge_VERSION_ARCH.deb.
set -eu
cd "$(dirname "$0")/.."
version=$(cat VERSION)
arch=$(dpkg --print-architecture)
out=${DEB_OUT:-out}
root=$out/deb-root
rm -rf "$root"
mkdir -p "$root/DEBIAN" "$root/usr/sbin" "$root/lib/systemd/system" \
	"$root/usr/share/man/man8" "$root/usr/share/bash-completion/completions" \
	"$root/usr/share/zsh/vendor-completions" "$root/usr/share/doc/ufw-docker-bridge" "$root/etc/default"

# A static, stripped binary with reproducible paths.
CGO_ENABLED=0 go build -trimpath -buildvcs=false \
	-ldflags "-s -w -X github.com/ufw-docker-bridge/ufw-docker-bridge/internal/cli.Version=$version" \
	-o "$root/usr/sbin/ufw-docker-bridge" ./cmd/ufw-docker-bridge

docs=$(mktemp -d)
trap 'rm -rf "$docs"' EXIT
go run ./tools/gendocs "$docs"
gzip -9n < "$docs/ufw-docker-bridge.8" > "$root/usr/share/man/man8/ufw-docker-bridge.8.gz"
install -m 0644 "$docs/ufw-docker-bridge.bash" "$root/usr/share/bash-completion/completions/ufw-docker-bridge"
install -m 0644 "$docs/_ufw-docker-bridge" "$root/usr/share/zsh/vendor-completions/_ufw-docker-bridge"

install -m 0644 packaging/systemd/ufw-docker-bridge.service "$root/lib/systemd/system/"
for unit in docker ufw firewalld; do
	mkdir -p "$root/lib/systemd/system/$unit.service.d"
	install -m 0644 "hooks/systemd/$unit.service.d/ufw-docker-bridge.conf" "$root/lib/systemd/system/$unit.service.d/"
done
install -m 0644 packaging/deb/default "$root/etc/default/ufw-docker-bridge"
mkdir -p "$root/etc/fail2ban/action.d"
install -m 0644 hooks/fail2ban/ufw-docker-bridge.conf "$root/etc/fail2ban/action.d/ufw-docker-bridge.conf"
mkdir -p "$root/usr/share/lintian/overrides"
install -m 0644 packaging/deb/lintian-overrides "$root/usr/share/lintian/overrides/ufw-docker-bridge"
install -m 0644 packaging/deb/copyright "$root/usr/share/doc/ufw-docker-bridge/copyright"
gzip -9n < packaging/deb/changelog > "$root/usr/share/doc/ufw-docker-bridge/changelog.gz"
chmod 0644 "$root/usr/share/doc/ufw-docker-bridge/changelog.gz"

for s in postinst prerm postrm; do
	install -m 0755 "packaging/deb/$s" "$root/DEBIAN/$s"
done
install -m 0644 packaging/deb/conffiles "$root/DEBIAN/conffiles"
install -m 0644 hooks/dpkg/triggers "$root/DEBIAN/triggers"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" packaging/deb/control.in > "$root/DEBIAN/control"
(cd "$root" && find . -type f ! -path './DEBIAN/*' ! -path './etc/*' -printf '%P\0' | sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums"

deb=$out/ufw-docker-bridge_${version}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
