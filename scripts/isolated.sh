#!/usr/bin/env bash
# Runs a command in a fresh network namespace (and a private /tmp) whose
# only interfaces are loopback and a veth pair with the namespace's own test address
# (10.77.0.1/24). Everything the tests start (Kamailio, baresip, the phones)
# can then reach nothing but this machine's namespace: baresip's ICE, which
# ignores loopback, gathers the veth address instead of the host's.
# Without root or unshare it runs the command as it is, and says so.
set -euo pipefail
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && unshare --net --mount true 2>/dev/null; then
  # A mount namespace too, with a /tmp of its own: X servers keep their
  # sockets in /tmp/.X11-unix, and two test runs at once (in different
  # network namespaces, so the abstract sockets do not clash) would
  # otherwise pick the same display and delete each other's socket file.
  # A checkout under /tmp (a CI clone, say) stays visible at its path:
  # it is bind-mounted aside before the new /tmp hides it, then moved back.
  case "$PWD" in /tmp/*) export PARLO_KEEP_DIR="$PWD" ;; *) export PARLO_KEEP_DIR= ;; esac
  exec unshare --net --mount bash -c '
    set -e
    mount --make-rprivate /
    if [ -n "$PARLO_KEEP_DIR" ]; then
      keep=$(mktemp -d /run/parlo-keep.XXXXXX)
      mount --bind "$PARLO_KEEP_DIR" "$keep"
    fi
    mount -t tmpfs -o mode=1777 parlo-tmp /tmp
    if [ -n "$PARLO_KEEP_DIR" ]; then
      mkdir -p "$PARLO_KEEP_DIR"
      mount --move "$keep" "$PARLO_KEEP_DIR"
      rmdir "$keep"
      cd "$PARLO_KEEP_DIR"
    fi
    ip link set lo up
    ip link add pv0 type veth peer name pv1
    ip addr add 10.77.0.1/24 dev pv0
    ip link set pv0 up
    ip link set pv1 up
    exec "$@"' isolated "$@"
fi
echo "isolated.sh: no network namespace (need root and unshare); running on the host network" >&2
exec "$@"
