#!/usr/bin/env bash
# Installs the browser far end's npm packages (pinned in
# internal/testpeers/browser/package-lock.json) and builds its page bundles:
#   node_modules/   playwright-core (drives Debian's chromium), sip.js, esbuild
#   build/          sipjs-peer.js (SIP.js bundled by esbuild), wazo-sdk.js (the
#                   Wazo SDK's own browser bundle, from `npm pack`: its
#                   package.json has a git dependency `npm install` cannot
#                   fetch), wazo-peer.js
# Idempotent: does nothing when the bundles are newer than their sources.
# Runs outside the tests' network namespace (make test calls it first).
set -euo pipefail
WAZO_SDK=@wazo/sdk@0.44.7
dir="$(cd "$(dirname "$0")/../internal/testpeers/browser" && pwd)"
cd "$dir"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "browser-deps: node and npm are needed (scripts/deps.sh test installs them)" >&2
  exit 1
fi
if [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "browser-deps: playwright-core needs node >= 20, found $(node -v)" >&2
  exit 1
fi
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "browser-deps: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
mkdir -p build
if [ ! -s build/wazo-sdk.js ]; then
  echo "browser-deps: npm pack $WAZO_SDK"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$WAZO_SDK" >/dev/null && tar -xzf ./*.tgz package/dist/wazo-sdk.js)
  mv "$tmp/package/dist/wazo-sdk.js" build/wazo-sdk.js
fi
for entry in sipjs-peer wazo-peer; do
  if [ ! -s "build/$entry.js" ] || [ "$entry.js" -nt "build/$entry.js" ] || [ media.js -nt "build/$entry.js" ]; then
    echo "browser-deps: esbuild $entry.js"
    node_modules/.bin/esbuild "$entry.js" --bundle --format=iife --target=chrome120 --log-level=warning --outfile="build/$entry.js"
  fi
done
echo "browser-deps: ready in $dir"
