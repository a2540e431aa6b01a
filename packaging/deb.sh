#!/bin/sh
# Builds Parlo's Debian package from the same staged tree as the tar.xz:
#
#   packaging/deb.sh OUTDIR [EXECUTABLE]
#
# writes OUTDIR/parlo_VERSION_ARCH.deb. The files come from package.sh's
# archive (binary, desktop entry with the sip:/sips:/tel:/callto: handlers,
# icon), moved from /usr/local to /usr as a system package must. Runtime
# dependencies are computed by dpkg-shlibdeps from the binary's own links,
# so they follow what the build really uses (libvpx, libopus, libyuv, x264,
# libavcodec, GL/X11). No maintainer scripts: dpkg's triggers of
# desktop-file-utils and hicolor-icon-theme refresh the MIME cache and icons.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { echo "usage: $0 OUTDIR [EXECUTABLE]" >&2; exit 2; }
mkdir -p "$1"
out=$(cd "$1" && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT INT TERM

shift
"$root/packaging/package.sh" "$stage/tar" "$@" >/dev/null
tar -xJf "$stage/tar/Parlo.tar.xz" -C "$stage"
src="$stage/parlo/usr/local"
pkg="$stage/deb"

version=$(sed -n 's/^Version *= *"\(.*\)"/\1/p' "$root/FyneApp.toml")
build=$(sed -n 's/^Build *= *\([0-9]*\)/\1/p' "$root/FyneApp.toml")
debversion="$version-${build:-1}"
arch=$(dpkg --print-architecture)

install -Dm0755 "$src/bin/parlo" "$pkg/usr/bin/parlo"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$pkg/usr/bin/parlo" 2>/dev/null || true
install -Dm0644 "$src/share/applications/io.parlo.Parlo.desktop" "$pkg/usr/share/applications/io.parlo.Parlo.desktop"
install -Dm0644 "$root/assets/Icon.png" "$pkg/usr/share/icons/hicolor/512x512/apps/io.parlo.Parlo.png"
install -Dm0644 "$root/assets/Icon.svg" "$pkg/usr/share/icons/hicolor/scalable/apps/io.parlo.Parlo.svg"

doc="$pkg/usr/share/doc/parlo"
mkdir -p "$doc"
cat >"$doc/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: Parlo
Source: https://github.com/parlo-voip/parlo

Files: *
Copyright: 2026 The Parlo authors
License: none-yet
 The project has not chosen a licence yet; until it does, all rights are
 reserved by the authors.
EOF
date=$(date -R -d "@${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)}")
printf 'parlo (%s) unstable; urgency=medium\n\n  * Release %s.\n\n -- Parlo developers <dev@parlo.invalid>  %s\n' \
	"$debversion" "$version" "$date" | gzip -9n >"$doc/changelog.Debian.gz"
install -d "$pkg/usr/share/man/man1"
gzip -9n <"$root/packaging/parlo.1" >"$pkg/usr/share/man/man1/parlo.1.gz"

# dpkg-shlibdeps reads a debian/control of a source package; a minimal one
# in the staging directory is enough.
mkdir -p "$stage/src/debian"
printf 'Source: parlo\n\nPackage: parlo\nArchitecture: any\n' >"$stage/src/debian/control"
depends=$(cd "$stage/src" && dpkg-shlibdeps -O "$pkg/usr/bin/parlo" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "deb.sh: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

size=$(du -sk "$pkg/usr" | cut -f1)
mkdir -p "$pkg/DEBIAN"
cat >"$pkg/DEBIAN/control" <<EOF
Package: parlo
Version: $debversion
Architecture: $arch
Maintainer: Parlo developers <dev@parlo.invalid>
Installed-Size: $size
Depends: $depends
Recommends: pulseaudio | pipewire-pulse, xdg-utils
Section: net
Priority: optional
Homepage: https://github.com/parlo-voip/parlo
Description: SIP softphone with screen sharing in calls
 Parlo makes and answers SIP calls (UDP, TCP, TLS, WebSocket; WebRTC and
 classic RTP/SRTP media) and shares a monitor inside a call: pick a screen
 from live thumbnails and the far end sees it. It opens sip:, sips:, tel:
 and callto: links, and runs headless for automation.
EOF
find "$pkg" -type d -exec chmod 0755 {} +
deb="$out/parlo_${debversion}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >/dev/null
echo "packaging: wrote $deb"
