#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages Parlo needs, only those missing.
#   scripts/deps.sh build   — compile and run the app (cgo: GL/X11, libvpx, libopus, libpipewire)
#   scripts/deps.sh test    — build + the real peers and displays the tests start
#   scripts/deps.sh bench   — test + what the benchmarks compare against
set -euo pipefail

build_pkgs=(gcc pkg-config libgl1-mesa-dev xorg-dev libvpx-dev libopus-dev libopusfile-dev libyuv-dev libx264-dev libavcodec-dev libavutil-dev libwebrtc-audio-processing-dev libpipewire-0.3-dev)
test_pkgs=(kamailio kamailio-websocket-modules kamailio-tls-modules kamailio-presence-modules
  baresip-core baresip-ffmpeg baresip-x11
  xvfb xserver-xorg-video-dummy xserver-xorg-core x11-xserver-utils x11-utils
  ffmpeg sox desktop-file-utils xdotool xz-utils coturn nftables linphone-cli
  rtpengine-daemon
  radicale slapd ldap-utils
  xdg-utils xclip lintian sipvicious pulseaudio pulseaudio-utils
  chromium nodejs
  xterm
  sway swaybg dbus-daemon pipewire pipewire-bin wireplumber xdg-desktop-portal xdg-desktop-portal-wlr)
bench_pkgs=(xterm fonts-dejavu-core perl)

want=("${build_pkgs[@]}")
case "${1:-build}" in
  build) ;;
  test) want+=("${test_pkgs[@]}") ;;
  bench) want+=("${test_pkgs[@]}" ${bench_pkgs[@]+"${bench_pkgs[@]}"}) ;;
  *) echo "usage: $0 build|test|bench" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  echo "deps: all ${#want[@]} packages present"
  exit 0
fi
echo "deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
echo "deps: done"
