package callengine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine/audio"
	"github.com/parlo-voip/parlo/capture"
	"github.com/parlo-voip/parlo/internal/testpeers"
)

// resources is what a leak would grow: goroutines, open files (sockets
// included) and resident memory of this process.
type resources struct {
	goroutines int
	fds        int
	rssKiB     int
	heapKiB    int // live Go heap after a GC: tells a Go leak from C allocators' caches
}

func (r resources) String() string {
	return fmt.Sprintf("%d goroutines, %d fds, RSS %.1f MiB (live Go heap %.1f MiB)", r.goroutines, r.fds, float64(r.rssKiB)/1024, float64(r.heapKiB)/1024)
}

func measure(t *testing.T) resources {
	t.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	r := resources{goroutines: runtime.NumGoroutine(), fds: len(ents), heapKiB: int(ms.HeapAlloc / 1024)}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			r.rssKiB, _ = strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
		}
	}
	return r
}

// Soak tolerances: what may stay above the baseline once every call ended.
// Goroutines and files must come back exactly but for a few (sipgo keeps
// a completed transaction's timers a while, RFC 3261 §17); RSS may keep
// what Go's heap grew to, not a per-call share of it.
const (
	soakGoroutineSlack = 10
	soakFDSlack        = 4
	// RSS is reported and only loosely bounded: the C allocators under
	// libopus and libvpx keep freed memory in their arenas (20 calls at
	// once on many threads grow them), so RSS is no per-call measure; the
	// live Go heap, goroutines and files are.
	soakRSSSlackKiB = 64 * 1024
	// soakHeapSlackKiB: the Go heap once sipgo dropped the last calls'
	// completed transactions (kept 32 s, 64*T1, RFC 3261 §17.1.1.2 Timer D,
	// §17.2.2 Timer J) must be back near the baseline; ~45 KiB a call
	// above it would be a leak of 10 MiB over this run.
	soakHeapSlackKiB = 4 * 1024
	// transactionLinger is how long sipgo keeps them, with a margin.
	transactionLinger = 35 * time.Second
)

// soakCalls is the number of sequential calls (PARLO_SOAK_CALLS overrides,
// for a longer run by hand).
func soakCalls() int {
	if n, err := strconv.Atoi(os.Getenv("PARLO_SOAK_CALLS")); err == nil && n > 0 {
		return n
	}
	return 200
}

// 200 sequential calls Parlo ↔ Parlo, every 10th held and resumed, every
// 25th transferred (blind) and every 50th sharing a screen, then 20 calls
// at once: every call's goroutines, sockets and memory are released, so
// goroutines, file descriptors and RSS return to the baseline measured
// after a warm-up.
func TestSoakIntegration(t *testing.T) {
	if os.Getenv("PARLO_SOAK_PROFILE") != "" {
		runtime.MemProfileRate = 4096 // fine enough to see a few KiB a call
	}
	d := testpeers.StartDummyTwoMonitors(t)
	display := privateDisplay(t, d)
	mons, err := capture.MonitorsOn(display)
	if err != nil || len(mons) == 0 {
		t.Fatalf("monitors on %s: %v %v", display, mons, err)
	}
	d.ShowTestPattern(t, mons[0].X, mons[0].Y, 640, 360)
	quiet := func(o *Options) {
		o.NewAudioOut = func() (audio.Sink, error) { return audio.Null(), nil }
		o.SourceRate = -1 // load from one address is the point here
		o.MaxRinging = 64
	}
	a := newTestPhone(t, testPhoneOpts{toneHz: 440, display: display, tune: quiet})
	b := newTestPhone(t, testPhoneOpts{toneHz: 660, auto: true, tune: quiet})
	c := newTestPhone(t, testPhoneOpts{toneHz: 880, auto: true, tune: quiet})
	// The concurrent calls go to callees of their own: one callee taking
	// 20 calls would hold each when answering the next (as the Wazo SDK
	// does), a re-INVITE storm that is not what this measures.
	const concurrent = 20
	callees := make([]*testPhone, concurrent)
	for i := range callees {
		callees[i] = newTestPhone(t, testPhoneOpts{toneHz: 660, auto: true, tune: quiet})
	}

	ctx := ctxT(t, 170*time.Second)
	// one call: placed, answered, media up, optionally exercised, hung up.
	one := func(i int, to *testPhone) error {
		s, err := a.Call(ctx, to.uri(), CallOptions{KeepOthers: to != b})
		if err != nil {
			return fmt.Errorf("call %d: %w", i, err)
		}
		id := s.SipCallID
		if err := waitEvent(ctx, a.rec, EventMediaConnected, id); err != nil {
			return fmt.Errorf("call %d: %w", i, err)
		}
		switch {
		case i%50 == 49:
			if err := a.StartScreenSharing(ctx, id, mons[0].Index); err != nil {
				return fmt.Errorf("call %d share: %w", i, err)
			}
			if err := waitStat(ctx, b, id, func(st uint64) bool { return st > 0 }); err != nil {
				return fmt.Errorf("call %d share: %w", i, err)
			}
			if err := a.StopScreenSharing(ctx, id); err != nil {
				return fmt.Errorf("call %d share stop: %w", i, err)
			}
		case i%25 == 24:
			consent := b.consentTo(t, id, true)
			if err := a.Transfer(ctx, id, c.uri()); err != nil {
				return fmt.Errorf("call %d transfer: %w", i, err)
			}
			if _, ok := <-consent; !ok {
				return fmt.Errorf("call %d transfer: B was not asked", i)
			}
			if err := waitEvent(ctx, a.rec, EventCallEnded, id); err != nil {
				return fmt.Errorf("call %d transfer: %w", i, err)
			}
			// B now talks to C: C hangs that up.
			if err := waitFor(ctx, func() bool { return len(c.Calls()) == 1 && c.Calls()[0].IsEstablished() }); err != nil {
				return fmt.Errorf("call %d transfer: %w (C has %d calls)", i, err, len(c.Calls()))
			}
			return c.Hangup(ctx, c.Calls()[0].SipCallID)
		case i%10 == 9:
			if err := a.Hold(ctx, id); err != nil {
				return fmt.Errorf("call %d hold: %w", i, err)
			}
			if err := a.Resume(ctx, id); err != nil {
				return fmt.Errorf("call %d resume: %w", i, err)
			}
		}
		return a.Hangup(ctx, id)
	}
	idle := func() error {
		return waitFor(ctx, func() bool {
			n := len(a.Calls()) + len(b.Calls()) + len(c.Calls())
			for _, p := range callees {
				n += len(p.Calls())
			}
			return n == 0
		})
	}
	// Warm-up: every kind of call once, so pools and lazily started
	// goroutines exist before the baseline.
	for _, i := range []int{0, 9, 24, 49} {
		if err := one(i, b); err != nil {
			t.Fatalf("warm-up: %v", err)
		}
	}
	// sipgo keeps a connection per peer address it has talked to (its
	// transport pool), so every callee is called once before the baseline:
	// what must not grow is per call, not per peer.
	for _, p := range callees {
		if err := one(0, p); err != nil {
			t.Fatalf("warm-up: %v", err)
		}
	}
	if err := idle(); err != nil {
		t.Fatal("calls left after the warm-up")
	}
	forget(append([]*testPhone{a, b, c}, callees...)...)
	base := measure(t)
	figure(t, "soak.baseline", "%s", base)
	heapProfile(t, "base")

	n := soakCalls()
	start := time.Now()
	for i := range n {
		if err := one(i, b); err != nil {
			t.Fatalf("%v\nA: %v\nX server log:\n%s", err, a.rec.errors(), d.Log())
		}
		if err := idle(); err != nil {
			t.Fatalf("call %d left calls behind", i)
		}
		forget(a, b, c)
	}
	seqTook := time.Since(start)
	if err := idle(); err != nil {
		t.Fatal("calls left after the sequential run")
	}
	afterSeq := measure(t)

	start = time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, concurrent)
	for i := range concurrent {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// plain calls and held-and-resumed ones, all at once.
			errs <- one(9*(i%2), callees[i])
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	parTook := time.Since(start)
	if err := idle(); err != nil {
		t.Fatal("calls left after the concurrent run")
	}
	forget(append([]*testPhone{a, b, c}, callees...)...)
	// Settle: the last BYEs' transactions and the media sessions' closing
	// goroutines finish within a few seconds.
	var end resources
	deadline := time.Now().Add(15 * time.Second)
	for {
		end = measure(t)
		if end.goroutines <= base.goroutines+soakGoroutineSlack && end.fds <= base.fds+soakFDSlack {
			break
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	// The heap: wait out the transaction timers, then compare.
	afterCalls := end
	time.Sleep(transactionLinger)
	end = measure(t)
	figure(t, "soak.sequential", "%d calls in %.1f s (%.0f ms a call); then %s", n, seqTook.Seconds(), float64(seqTook.Milliseconds())/float64(n), afterSeq)
	figure(t, "soak.concurrent", "%d calls at once in %.1f s", concurrent, parTook.Seconds())
	heapProfile(t, "end")
	figure(t, "soak.idle", "%s right after the last call", afterCalls)
	figure(t, "soak.end", "%s (baseline %s)", end, base)
	if end.goroutines > base.goroutines+soakGoroutineSlack {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines %d, baseline %d: a leak\n%s", end.goroutines, base.goroutines, buf[:runtime.Stack(buf, true)])
	}
	if end.fds > base.fds+soakFDSlack {
		t.Fatalf("file descriptors %d, baseline %d: a leak", end.fds, base.fds)
	}
	if end.heapKiB > base.heapKiB+soakHeapSlackKiB {
		t.Fatalf("Go heap %d KiB, baseline %d KiB: grew more than %d KiB once SIP transactions expired", end.heapKiB, base.heapKiB, soakHeapSlackKiB)
	}
	if end.rssKiB > base.rssKiB+soakRSSSlackKiB {
		t.Fatalf("RSS %d KiB, baseline %d KiB: grew more than %d KiB", end.rssKiB, base.rssKiB, soakRSSSlackKiB)
	}
}

// heapProfile writes the heap profile to $PARLO_SOAK_PROFILE-name.pprof
// when that is set, to find what a growth is (go tool pprof -base).
func heapProfile(t *testing.T, name string) {
	t.Helper()
	prefix := os.Getenv("PARLO_SOAK_PROFILE")
	if prefix == "" {
		return
	}
	f, err := os.Create(prefix + "-" + name + ".pprof")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		t.Fatal(err)
	}
}

// forget drops the events the test's recorders kept (the harness's memory,
// not the phone's), between calls.
func forget(phones ...*testPhone) {
	for _, p := range phones {
		p.rec.mu.Lock()
		p.rec.events = nil
		p.rec.mu.Unlock()
	}
}

// privateDisplay is a display name for d whose socket path no other X
// server can take away. X servers in other network namespaces on this
// machine (other test runs) all pick display 0, each with its own abstract
// socket but one shared /tmp/.X11-unix/X0, which the first to exit
// unlinks; a hard link of the socket in the test's own directory keeps
// the inode reachable ("/dir/X:0" is a socket path to xgb).
func privateDisplay(t *testing.T, d *testpeers.Display) string {
	t.Helper()
	num := strings.TrimPrefix(d.Name(), ":")
	path := filepath.Join(t.TempDir(), "X")
	if err := os.Link("/tmp/.X11-unix/X"+num, path+":"+num); err != nil {
		t.Fatalf("linking the X socket: %v", err)
	}
	return path + ":" + num
}

// waitEvent waits for the first event name of callID, up to ctx.
func waitEvent(ctx context.Context, r *recorder, name, callID string) error {
	return waitFor(ctx, func() bool { return r.count(name, callID) > 0 })
}

// waitStat waits until the peer decoded a frame of call id.
func waitStat(ctx context.Context, p *testPhone, id string, ok func(uint64) bool) error {
	return waitFor(ctx, func() bool {
		st, err := p.Stats(id)
		return err == nil && ok(st.Video.Received.FramesDecoded)
	})
}

// waitFor polls cond every 10 ms until it holds or ctx ends.
func waitFor(ctx context.Context, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}
