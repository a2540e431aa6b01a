# Parlo — see README.md. Every target installs what it needs first.
GO        ?= go
BIN       ?= parlo
TEST_TIMEOUT ?= 25m

.PHONY: all deps deps-test deps-bench bench-go build run test test-short bench vet fmt clean screenshots package install uninstall reliability

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

# go vet, then golangci-lint with .golangci.yml (scripts/lint.sh builds the
# pinned linter once into ~/.cache/parlo-tools). cgo packages need the build
# dependencies to type-check.
vet: deps
	$(GO) vet ./...
	scripts/lint.sh

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
	scripts/lint.sh
	$(GO) test -count=1 -run '^$$' ./... >/dev/null
	scripts/isolated.sh $(GO) test -count=1 -p 1 -timeout $(TEST_TIMEOUT) ./...

# The tests that need no peer process: under -short every test that starts a
# real peer (Kamailio, baresip, Linphone, coturn, rtpengine, PulseAudio,
# sipvicious, Chromium, an X server) skips and names it
# (internal/testpeers.Require). Phone-to-phone calls on loopback still run.
test-short: deps
	$(GO) mod download
	$(GO) test -count=1 -run '^$$' ./... >/dev/null
	scripts/isolated.sh $(GO) test -short -count=1 -timeout $(TEST_TIMEOUT) ./...

# Benchmarks side by side with ffmpeg and baresip (docs/benchmarks.md is
# rewritten from the run, README.md's speed highlights too; 9m24s on a quiet 2-core machine). `make bench-go` runs
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

# Liveness, soak and media-resilience figures: the vanished-peer,
# session-timer, keep-alive, sleep/resume, soak, loss/jitter/bandwidth,
# FEC/DTX and RTCP tests (also part of `make test`), run with -v;
# internal/reliability rewrites docs/reliability.md from their FIGURE lines
# (about 5 minutes on 2 cores). A failed test leaves the document as it was.
RELIABILITY_LOG ?= /tmp/parlo-reliability.log
RELIABILITY_TESTS = ^(TestVanishedPeerIntegration|TestSilentPeerKeptAliveByRTCPIntegration|TestSessionTimerKamailioIntegration|TestSessionTimerBaresipIntegration|TestKeepAliveIntegration|TestSleepResumeIntegration|TestSoakIntegration)$$
# The media tests run in a process of their own, so the encoders they load
# do not weigh on the soak's RSS figures.
RELIABILITY_MEDIA_TESTS = ^(TestShareUnderLossIntegration|TestShareUnderBandwidthCapIntegration|TestShareLegibleUnderBandwidthCapIntegration|TestClassicShareUnderLossIntegration|TestShareUnderLossAndJitterIntegration|TestJitterBufferAdaptsIntegration|TestOpusFECUnderLossIntegration|TestOpusDTXIntegration|TestClassicRTCPBaresipIntegration)$$
reliability: deps-test
	$(GO) test -count=1 -run '^$$' ./callengine/ >/dev/null
	scripts/isolated.sh $(GO) test -count=1 -v -timeout 10m -run '$(RELIABILITY_TESTS)' ./callengine/ >$(RELIABILITY_LOG) 2>&1 || { grep -E -- '--- FAIL|_test.go:[0-9]+: ' $(RELIABILITY_LOG) | tail -40; exit 1; }
	scripts/isolated.sh $(GO) test -count=1 -v -timeout 10m -run '$(RELIABILITY_MEDIA_TESTS)' ./callengine/ >>$(RELIABILITY_LOG) 2>&1 || { grep -E -- '--- FAIL|_test.go:[0-9]+: ' $(RELIABILITY_LOG) | tail -40; exit 1; }
	$(GO) run ./internal/reliability <$(RELIABILITY_LOG) >docs/reliability.md.tmp
	mv docs/reliability.md.tmp docs/reliability.md

# Renders the GUI's windows (light and dark, Fyne's test renderer) and the
# real app window under a two-monitor X server into docs/screenshots/.
screenshots: deps-test
	PARLO_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run 'TestScreenshots|TestSettingsFitsTheWindow|TestContactsPanelWithKamailioIntegration|TestDirectorySettingsFitsTheWindow|TestDialFieldSearchesAndCallsIntegration|TestIncomingCallerNameIntegration' ./ui/
	PARLO_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run 'TestDesktopAppSharesScreenEndToEnd|TestDesktopAppContactsPanelEndToEnd|TestDesktopAppCallLevelsEndToEnd|TestDesktopDirectoryEndToEnd' .

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
