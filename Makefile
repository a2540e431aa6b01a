# Parlo — see README.md. Every target installs what it needs first.
GO        ?= go
BIN       ?= parlo
TEST_TIMEOUT ?= 25m

.PHONY: all deps deps-test deps-bench bench-go build run test test-short bench vet fmt clean screenshots package install uninstall

all: build

deps:
	@scripts/deps.sh build

deps-test:
	@scripts/deps.sh test
	@scripts/browser-deps.sh

build: deps
	@echo "build: compiling $(BIN) (the first cgo build of Fyne takes a few minutes)"
	$(GO) build -o $(BIN) .

run: build
	./$(BIN)

vet:
	$(GO) vet ./...

# All tests, real peers included (Kamailio, baresip, Xvfb / Xorg dummy display
# are started by the tests themselves on loopback).
# The tests run in their own network namespace (scripts/isolated.sh): only
# loopback and the namespace's own address exist there. Modules are fetched
# and test binaries built first, outside it. Packages run one at a time
# (-p 1): the media tests measure frame rates and tones in real time, and two
# packages at once on two cores made them fight for the CPU.
test: deps-test
	$(GO) mod download
	$(GO) run fyne.io/tools/cmd/fyne@v1.7.4 --version >/dev/null
	$(GO) vet ./...
	$(GO) test -count=1 -run '^$$' ./... >/dev/null
	scripts/isolated.sh $(GO) test -count=1 -p 1 -timeout $(TEST_TIMEOUT) ./...

test-short: deps
	$(GO) test -short -count=1 ./...

# Benchmarks side by side with ffmpeg and baresip (docs/benchmarks.md is
# rewritten from the run; about 12–14 minutes on 2 cores, under 15). `make bench-go` runs
# the in-function Go benchmarks only.
bench: deps-bench
	$(GO) mod download
	$(GO) build -o $(BIN) .
	$(GO) test -count=1 -run '^$$' ./internal/bench/ ./capture/ ./callengine/ >/dev/null
	PARLO_BIN=$(CURDIR)/$(BIN) scripts/isolated.sh $(GO) test -count=1 -run '^$$' -bench '^BenchmarkParlo$$' -benchtime 1x -timeout 40m ./internal/bench/

bench-go: deps-test
	$(GO) test -run '^$$' -bench . -benchmem ./capture/ ./callengine/...

deps-bench:
	@scripts/deps.sh bench

# Renders the GUI's windows (light and dark, Fyne's test renderer) and the
# real app window under a two-monitor X server into docs/screenshots/.
screenshots: deps-test
	PARLO_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run 'TestScreenshots|TestSettingsFitsTheWindow|TestDirectorySettingsFitsTheWindow|TestDialFieldSearchesAndCallsIntegration|TestIncomingCallerNameIntegration' ./ui/
	PARLO_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run 'TestDesktopAppSharesScreenEndToEnd|TestDesktopDirectoryEndToEnd' .

# Linux installer (tar.xz with binary, icon, .desktop) via the pinned fyne tool.
package: deps
	packaging/package.sh dist

install: package
	rm -rf dist/x && mkdir -p dist/x && tar -xJf dist/Parlo.tar.xz -C dist/x && $(MAKE) -C dist/x/parlo user-install

uninstall:
	rm -rf dist/x && mkdir -p dist/x && tar -xJf dist/Parlo.tar.xz -C dist/x && $(MAKE) -C dist/x/parlo user-uninstall

fmt:
	gofmt -l -w .

clean:
	rm -rf $(BIN) dist
