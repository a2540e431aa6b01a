#!/usr/bin/env bash
# Runs a command in a fresh network namespace whose only interfaces are
# loopback and a veth pair with the namespace's own test address
# (10.77.0.1/24). Everything the tests start (Kamailio, baresip, the phones)
# can then reach nothing but this machine's namespace: baresip's ICE, which
# ignores loopback, gathers the veth address instead of the host's.
# Without root or unshare it runs the command as it is, and says so.
set -euo pipefail
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && unshare --net true 2>/dev/null; then
  exec unshare --net bash -c '
    set -e
    ip link set lo up
    ip link add pv0 type veth peer name pv1
    ip addr add 10.77.0.1/24 dev pv0
    ip link set pv0 up
    ip link set pv1 up
    exec "$@"' isolated "$@"
fi
echo "isolated.sh: no network namespace (need root and unshare); running on the host network" >&2
exec "$@"
