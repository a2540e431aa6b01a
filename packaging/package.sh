#!/bin/sh
# Builds Parlo's Linux installer with the pinned fyne tool:
#
#   packaging/package.sh OUTDIR [EXECUTABLE]
#
# writes OUTDIR/Parlo.tar.xz (binary, icon, .desktop entry and a Makefile
# with install / user-install targets). Without EXECUTABLE it builds a
# release binary first (the first cgo build of Fyne takes a few minutes).
#
# `fyne package` rewrites FyneApp.toml (it bumps Build) in its source
# directory and wants Go files there, so it runs on a staging copy of the
# metadata and icon with a stub package, never on the repository.
set -eu
GO=${GO:-go}
# The module cache doubles as a proxy, so a fetched fyne tool runs offline
# (the tests run in a network namespace); the usual proxy is the fallback.
GOPROXY="file://$($GO env GOMODCACHE)/cache/download,$($GO env GOPROXY)"
export GOPROXY
FYNE=${FYNE:-"$GO run fyne.io/tools/cmd/fyne@v1.7.4"}
root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { echo "usage: $0 OUTDIR [EXECUTABLE]" >&2; exit 2; }
mkdir -p "$1"
out=$(cd "$1" && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT INT TERM

if [ $# -ge 2 ]; then
	cp "$2" "$stage/parlo"
else
	(cd "$root" && $GO build -trimpath -buildmode=pie -tags release -ldflags "-s -w" -o "$stage/parlo" .)
fi
mkdir -p "$stage/src/assets"
cp "$root/FyneApp.toml" "$stage/src/"
cp "$root/assets/Icon.png" "$stage/src/assets/"
printf 'package main\n\nfunc main() {}\n' >"$stage/src/stub.go"
printf 'module parlo.stage\n\ngo 1.22\n' >"$stage/src/go.mod"
(cd "$stage/src" && $FYNE package -os linux -release -executable "$stage/parlo" -src "$stage/src")
# Parlo handles call links (click-to-dial). The fyne tool cannot say so:
# its [CanOpen] MimeTypes writes Exec=parlo %F (files) and breaks the
# archive's Makefile, which then installs a binary named "parlo %F". So the
# entry is completed here: the schemes, and %u, the argument a URL scheme
# handler receives (Desktop Entry Specification, "The Exec key").
mime='x-scheme-handler/sip;x-scheme-handler/sips;x-scheme-handler/tel;x-scheme-handler/callto;'
mkdir "$stage/x"
tar -xJf "$stage/src/Parlo.tar.xz" -C "$stage/x"
entry=$(echo "$stage"/x/parlo/usr/local/share/applications/*.desktop)
sed -i -e 's/^Exec=parlo$/Exec=parlo %u/' -e "/^Categories=/a MimeType=$mime" "$entry"
tar -cJf "$out/Parlo.tar.xz" -C "$stage/x" parlo
echo "packaging: wrote $out/Parlo.tar.xz"
