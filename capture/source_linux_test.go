package capture

import (
	"context"
	"errors"
	"image"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func monitorOf(t *testing.T, display string, i int) Monitor {
	t.Helper()
	mons, err := MonitorsOn(display)
	if err != nil {
		t.Fatal(err)
	}
	if i >= len(mons) {
		t.Fatalf("monitor %d of %+v", i, mons)
	}
	return mons[i]
}

// animate repaints a 200x200 square with a new colour every interval until
// stop is closed; the owner waits for the returned channel.
func animate(t *testing.T, display string, interval time.Duration, stop <-chan struct{}) <-chan struct{} {
	t.Helper()
	p := newPainter(t, display)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tk := time.NewTicker(interval)
		defer tk.Stop()
		for c := uint32(1); ; c++ {
			if err := p.fillErr(image.Rect(100, 100, 300, 300), c*0x010203); err != nil {
				return
			}
			select {
			case <-stop:
				return
			case <-tk.C:
			}
		}
	}()
	return done
}

func TestSourcePacingChangingScreen(t *testing.T) {
	display := startXvfb(t, "1920x1080x24")
	m := monitorOf(t, display, 0)
	stop := make(chan struct{})
	painted := animate(t, display, 5*time.Millisecond, stop)
	defer func() { close(stop); <-painted }()

	var mu sync.Mutex
	var times []time.Time
	var badFrame atomic.Bool
	const fps = 20
	src, err := NewSource(m, SourceOptions{FPS: fps, OnFrame: func(f Frame) {
		if f.Image.Width != 1920 || f.Image.Height != 1080 || f.Refresh {
			badFrame.Store(true)
		}
		mu.Lock()
		times = append(times, f.Time)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if err := src.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	const want = 21
	waitFor(t, 5*time.Second, "21 frames", func() bool { return src.Stats().Delivered >= want })
	mu.Lock()
	elapsed := times[want-1].Sub(times[0])
	mu.Unlock()
	rate := float64(want-1) / elapsed.Seconds()
	if rate < 0.7*fps || rate > 1.1*fps {
		t.Errorf("delivered %.1f fps of a changing screen, want about %d", rate, fps)
	}
	if badFrame.Load() {
		t.Error("bad frame geometry or refresh flag on a changing screen")
	}
	st := src.Stats()
	if st.Captured < st.Delivered || st.GrabErrors != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestSourceSkipsStaticAndRefreshes(t *testing.T) {
	display := startXvfb(t, "640x480x24")
	m := monitorOf(t, display, 0)
	var refreshes, changed atomic.Int32
	// Polling: the skip counters below are those of grab-and-compare; the
	// damage path does not grab a still screen at all.
	src, err := NewSource(m, SourceOptions{FPS: 50, Polling: true, RefreshInterval: 200 * time.Millisecond, OnFrame: func(f Frame) {
		if f.Refresh {
			refreshes.Add(1)
		} else {
			changed.Add(1)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	start := time.Now()
	if err := src.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "3 refreshes", func() bool { return refreshes.Load() >= 3 })
	elapsed := time.Since(start)
	st := src.Stats()
	if changed.Load() != 1 {
		t.Errorf("static screen delivered %d changed frames, want only the first", changed.Load())
	}
	// 3 refreshes at 200 ms take at least 600 ms; at 50 fps that is ~30 grabs.
	if elapsed < 550*time.Millisecond {
		t.Errorf("3 refreshes after %v, faster than RefreshInterval", elapsed)
	}
	if st.Skipped < 15 || st.Captured < st.Skipped+st.Delivered || st.Captured > st.Skipped+st.Delivered+1 {
		t.Errorf("stats %+v after %v: want many skipped", st, elapsed)
	}

	// A change is picked up on the next tick with its dirty rows.
	var dirty atomic.Value
	src2, err := NewSource(m, SourceOptions{FPS: 50, RefreshInterval: time.Hour, OnFrame: func(f Frame) {
		if f.Seq == 1 {
			dirty.Store(f.Dirty)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer src2.Close()
	if err := src2.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, "first frame", func() bool { return src2.Stats().Delivered >= 1 })
	newPainter(t, display).fill(image.Rect(10, 100, 20, 120), 0xffffff)
	waitFor(t, 2*time.Second, "changed frame", func() bool { return dirty.Load() != nil })
	if d := dirty.Load().(DirtyRows); d != (DirtyRows{100, 119}) {
		t.Errorf("dirty rows %+v, want 100..119", d)
	}
}

func TestSourceCloseStopsQuickly(t *testing.T) {
	display := sharedXvfbDisplay(t)
	m := monitorOf(t, display, 0)
	stop := make(chan struct{})
	painted := animate(t, display, 5*time.Millisecond, stop)
	defer func() { close(stop); <-painted }()

	var closed, lateFrame atomic.Bool
	src, err := NewSource(m, SourceOptions{FPS: 60, OnFrame: func(Frame) {
		if closed.Load() {
			lateFrame.Store(true)
		}
		time.Sleep(10 * time.Millisecond) // a slow consumer (encoder)
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, "5 frames", func() bool { return src.Stats().Delivered >= 5 })
	t0 := time.Now()
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d > 100*time.Millisecond {
		t.Errorf("Close took %v, want < 100 ms", d)
	}
	closed.Store(true)
	n := src.Stats().Delivered
	select {
	case <-src.Done():
	default:
		t.Fatal("Done not closed after Close")
	}
	if err := src.Err(); err != nil {
		t.Errorf("Err after Close = %v, want nil", err)
	}
	if err := src.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	// Give a leaked goroutine the chance to deliver: several frame periods.
	deadline := time.Now().Add(100 * time.Millisecond)
	for time.Now().Before(deadline) {
		if src.Stats().Delivered != n || lateFrame.Load() {
			t.Fatal("frame delivered after Close")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := src.Start(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Close: %v", err)
	}
}

func TestSourceContextCancel(t *testing.T) {
	display := sharedXvfbDisplay(t)
	m := monitorOf(t, display, 0)
	src, err := NewSource(m, SourceOptions{OnFrame: func(Frame) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ctx, cancel := context.WithCancel(context.Background())
	if err := src.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// Cancel between frames, as a call hanging up would.
	waitFor(t, 3*time.Second, "first frame", func() bool { return src.Stats().Delivered >= 1 })
	cancel()
	select {
	case <-src.Done():
	case <-time.After(100 * time.Millisecond):
		t.Fatal("not stopped 100 ms after cancel")
	}
	if !errors.Is(src.Err(), context.Canceled) {
		t.Errorf("Err = %v", src.Err())
	}

	// Never started: Close still releases everything.
	src2, err := NewSource(m, SourceOptions{OnFrame: func(Frame) {}})
	if err != nil {
		t.Fatal(err)
	}
	_ = src2.Close()
	<-src2.Done()
}

func TestSourceMonitorUnplugged(t *testing.T) {
	display := startDualMonitorXorg(t)
	m := monitorOf(t, display, 1)
	if m.Name != "DUMMY1" {
		t.Fatalf("monitor 1 = %+v", m)
	}
	src, err := NewSource(m, SourceOptions{FPS: 30, CheckInterval: 100 * time.Millisecond, OnFrame: func(Frame) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if err := src.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, "first frame", func() bool { return src.Stats().Delivered >= 1 })
	xrandr(t, display, "--output", "DUMMY1", "--off")
	select {
	case <-src.Done():
	case <-time.After(3 * time.Second):
		t.Fatal("source still running 3 s after its monitor was switched off")
	}
	if !errors.Is(src.Err(), ErrMonitorGone) {
		t.Fatalf("Err = %v, want ErrMonitorGone", src.Err())
	}
}

func TestSourceMonitorResized(t *testing.T) {
	display := startDualMonitorXorg(t)
	m := monitorOf(t, display, 0)
	src, err := NewSource(m, SourceOptions{FPS: 30, CheckInterval: 100 * time.Millisecond, OnFrame: func(Frame) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if err := src.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, "first frame", func() bool { return src.Stats().Delivered >= 1 })
	// The primary monitor keeps its name but changes mode: the negotiated
	// picture size no longer holds.
	xrandr(t, display, "--addmode", "DUMMY0", "1280x720_60")
	xrandr(t, display, "--output", "DUMMY0", "--mode", "1280x720_60")
	select {
	case <-src.Done():
	case <-time.After(3 * time.Second):
		t.Fatal("source still running 3 s after its monitor changed size")
	}
	if !errors.Is(src.Err(), ErrMonitorGone) {
		t.Fatalf("Err = %v, want ErrMonitorGone", src.Err())
	}
}

func TestNewSourceErrors(t *testing.T) {
	if _, err := NewSource(Monitor{Width: 10, Height: 10}, SourceOptions{}); err == nil {
		t.Error("no OnFrame accepted")
	}
	if _, err := NewSource(Monitor{}, SourceOptions{OnFrame: func(Frame) {}}); !errors.Is(err, ErrMonitorGone) {
		t.Errorf("empty monitor: %v", err)
	}
	if _, err := NewSource(Monitor{Width: 10, Height: 10, Display: ":999999"}, SourceOptions{OnFrame: func(Frame) {}}); !errors.Is(err, ErrNoDisplay) {
		t.Errorf("bad display: %v", err)
	}
}
