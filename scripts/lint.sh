#!/usr/bin/env bash
# Runs golangci-lint with .golangci.yml. The linter is a Go module like the
# others: a pinned version is built once with `go install` (from the Go module
# proxy, the only source CI reaches besides the package registries) into a
# per-version cache directory, so every machine lints with the same rules.
set -euo pipefail
cd "$(dirname "$0")/.."
version=v2.15.0
dir="${XDG_CACHE_HOME:-$HOME/.cache}/parlo-tools/golangci-lint-$version"
bin="$dir/golangci-lint"
if [ ! -x "$bin" ]; then
  echo "lint: building golangci-lint $version (once, a few minutes)"
  GOBIN="$dir" go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$version"
fi
# --allow-parallel-runners: several checkouts on one machine may lint at once.
exec "$bin" run --allow-parallel-runners ./...
