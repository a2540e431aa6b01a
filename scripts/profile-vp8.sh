#!/bin/sh
# Where libvpx spends a 1080p share frame, in instructions (callgrind counts
# them exactly, so the figures hold on a loaded machine too). Builds
# scripts/vp8profile against the static libvpx (libvpx-dev) and profiles the
# steady state of each scene: settled (nothing changes), typing (one glyph,
# active rows), caret (one glyph, column-precise active map), motion.
#
#   scripts/profile-vp8.sh [FRAMES]   (default 10; CPU_USED=-16 to compare)
set -eu
frames=${1:-10}
out=${PROFILE_OUT:-$(mktemp -d)}
here=$(dirname "$0")
cc -O2 -g -o "$out/vp8profile" "$here/vp8profile/vp8profile.c" \
	"$(cc -print-file-name=libvpx.a)" -lm -lpthread
for scene in settled typing caret motion; do
	valgrind --tool=callgrind --collect-atstart=no '--toggle-collect=encode_scene*' \
		--callgrind-out-file="$out/$scene.callgrind" "$out/vp8profile" "$frames" "$scene" 2>"$out/$scene.log"
	ir=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$out/$scene.log")
	echo "== $scene: $((ir / frames)) instructions/frame"
	callgrind_annotate "$out/$scene.callgrind" 2>/dev/null |
		awk '/file:function/ {on=1; next} on && NF && n < 12 {print; n++}'
done
echo "callgrind files in $out"
