package bench

import (
	"bytes"
	"context"
	"fmt"
	"image"

	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	xdraw "golang.org/x/image/draw"

	"github.com/parlo-voip/parlo/internal/testpeers"
)

// guiGlass is what one content class of the GUI glass-to-glass run gave.
type guiGlass struct {
	lat           BarcodeLatency
	updatesPerSec float64 // picture changes per second in the strip the reader grabs
	grabs, unread int
	viewerCPU     float64 // % of a core
	sharerCPU     float64
}

// g2gRig is the stage of a glass-to-glass run: display 1 (1080p, a still
// desktop) with a barcode that, once started, changes to the next value at
// random intervals (120–250 ms, so relative to a 30-fps capture tick the
// changes fall anywhere), and an empty display 2 for the viewer.
type g2gRig struct {
	d1, d2 *Xvfb
	p1     *XPainter
	start  chan struct{}
	log    *BarcodeLog
}

func newG2GRig(b *testing.B) *g2gRig {
	b.Helper()
	r := &g2gRig{d1: showScene(b, sceneStatic), start: make(chan struct{})}
	var err error
	if r.d2, err = StartXvfb(screenW, screenH); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(r.d2.Close)
	if r.p1, err = NewXPainter(r.d1.Name()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(r.p1.Close)
	r.log, err = r.p1.StartBarcodeChanges(BarcodeChangeOptions{X: barcodeX, Y: barcodeY, Start: r.start,
		MinGap: 120 * time.Millisecond, MaxGap: 250 * time.Millisecond, Seed: 19})
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// close stops the painter and both X servers (idempotent, like the
// cleanups that do the same).
func (r *g2gRig) close() {
	r.p1.Close()
	r.d2.Close()
	r.d1.Close()
}

// run waits until the viewer shows the calibration colour, starts the reader
// (every 2 ms through MIT-SHM) and the changes, and measures a window with
// the still desktop behind the barcode (a small change), then one with the
// whole screen scrolling at 60 Hz (full motion). viewer and sender are the
// processes whose CPU is read over each window.
func (r *g2gRig) run(b *testing.B, cfg config, viewer, sender int, viewerLog func() string) (small, full guiGlass, rect image.Rectangle) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rect, err := FindBarcodeMarker(ctx, r.d2.Name())
	if err != nil {
		b.Fatalf("%v\n--- viewer log ---\n%s", err, viewerLog())
	}
	// Also grab as many rows below the barcode as it is high, twice: the
	// picture there is the desktop (still) or the scroller (full motion).
	below := min(2*rect.Dy(), screenH-rect.Max.Y)
	w, err := StartBarcodeWatcher(r.d2.Name(), rect, below, 2*time.Millisecond, r.log)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	close(r.start)
	window := func() (guiGlass, time.Time, time.Time) {
		time.Sleep(cfg.warmup)
		s0 := w.Stats()
		v0, _ := ProcCPU(viewer)
		h0, _ := ProcCPU(sender)
		t0 := time.Now()
		var perf *exec.Cmd
		if dir := os.Getenv("PARLO_BENCH_PERF"); dir != "" { // a system-wide profile of the window, for `perf report -i`
			perf = exec.Command("perf", "record", "-a", "-g", "-F", "499", "-o", filepath.Join(dir, fmt.Sprintf("g2g-%d.data", t0.UnixMilli())))
			if err := perf.Start(); err != nil {
				b.Fatal(err)
			}
		}
		time.Sleep(cfg.g2gWindow)
		t1 := time.Now()
		if perf != nil {
			_ = perf.Process.Signal(os.Interrupt)
			_ = perf.Wait()
			// And what the receiving window showed then.
			_ = exec.Command("ffmpeg", "-loglevel", "error", "-y", "-f", "x11grab", "-video_size", fmt.Sprintf("%dx%d", screenW, screenH), "-i", r.d2.Name(), "-frames:v", "1", filepath.Join(os.Getenv("PARLO_BENCH_PERF"), fmt.Sprintf("g2g-%d.png", t0.UnixMilli()))).Run()
		}
		s1 := w.Stats()
		v1, _ := ProcCPU(viewer)
		h1, _ := ProcCPU(sender)
		wall := t1.Sub(t0).Seconds()
		return guiGlass{
			updatesPerSec: float64(s1.Updates-s0.Updates) / wall,
			grabs:         s1.Grabs - s0.Grabs, unread: s1.Unreadable - s0.Unreadable,
			viewerCPU: (v1 - v0) / wall * 100, sharerCPU: (h1 - h0) / wall * 100,
		}, t0, t1
	}
	small, s0, s1 := window()
	if err := r.p1.StartScroller(Desktop(screenW, screenH, desktopSeed+1), 60, 4); err != nil {
		b.Fatal(err)
	}
	full, f0, f1 := window()
	// Wait (10 s at most) until the window's last change has been shown,
	// so that a viewer running behind is measured, not cut off.
	lastV := r.log.LastPaintedBefore(f1)
	for end := time.Now().Add(10 * time.Second); !r.log.ShownAtLeast(lastV) && time.Now().Before(end); {
		time.Sleep(20 * time.Millisecond)
	}
	until := time.Now()
	small.lat = r.log.Window(s0, s1, until)
	full.lat = r.log.Window(f0, f1, until)
	for _, g := range []guiGlass{small, full} {
		if g.lat.Bogus > 0 {
			b.Fatalf("%d values read that were never painted", g.lat.Bogus)
		}
	}
	return small, full, rect
}

// benchGUIGlassToGlass measures glass to glass between two real desktop
// apps: `parlo` on display 1 shares that screen with `parlo` on display 2,
// which shows it in its window (the default fit view, window filling the
// 1080p screen). A reader notes when each barcode value first appears on
// display 2; the latency is that moment minus the moment the X server on
// display 1 acknowledged the paint, on the same clock. The reference is
// ffmpeg (x11grab, libvpx at the bench's fixed speed and rate control) over
// RTP to ffplay's window on the same two kinds of display. The two apps'
// RSS and CPU come from the same run.
func benchGUIGlassToGlass(b *testing.B, cfg config, rep *Report) {
	b.Helper()
	testpeers.Require(b, "Xvfb", "xdotool", "xprop", "ffmpeg", "ffplay")
	bin := parloBinary(b, cfg)
	r := newG2GRig(b)
	port := freeUDPPort(b)
	viewer, err := StartGUIApp(GUIOptions{Bin: bin, Display: r.d2.Name(), Home: filepath.Join(b.TempDir(), "viewer"),
		Listen: fmt.Sprintf("udp:127.0.0.1:%d", port), Preferences: `{"calls.autoAnswer":true}`})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(viewer.Close)
	vw, vh := screenW, screenH
	if v := os.Getenv("PARLO_BENCH_VIEWER_WINDOW"); v != "" { // e.g. 980x640, the app's default size
		if _, err := fmt.Sscanf(v, "%dx%d", &vw, &vh); err != nil {
			b.Fatalf("PARLO_BENCH_VIEWER_WINDOW=%q: %v", v, err)
		}
	}
	if err := viewer.Place(0, 0, vw, vh); err != nil {
		b.Fatal(err)
	}
	sharer, err := StartGUIApp(GUIOptions{Bin: bin, Display: r.d1.Name(), Home: filepath.Join(b.TempDir(), "sharer"),
		Listen: "udp:127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(sharer.Close)
	// The sharer's window at its default size, in the corner away from
	// the barcode: on the shared screen, as a user's Parlo would be.
	if err := sharer.Place(screenW-1000, screenH-680, 980, 640); err != nil {
		b.Fatal(err)
	}
	must := func(err error) {
		b.Helper()
		if err != nil {
			b.Fatal(err)
		}
	}
	must(sharer.Focus())
	must(sharer.Keys("ctrl+l"))
	must(sharer.Type(fmt.Sprintf("sip:viewer@127.0.0.1:%d", port)))
	must(sharer.Keys("ctrl+Return"))
	// Empty the dial field: an Enter meant for the picker below, pressed
	// while the call is still connecting (no picker then), would otherwise
	// place a second call.
	must(sharer.Keys("ctrl+l", "ctrl+a", "BackSpace"))
	must(viewer.WaitFor("the call answered", 30*time.Second, func() bool { return strings.Contains(viewer.Title(), " — ") }))
	// Share the screen: Ctrl+Shift+S opens the picker, Enter takes the
	// first monitor. The call may still be connecting (the key then only
	// says so), hence the retries.
	shared := false
	for attempt := 0; attempt < 4 && !shared; attempt++ {
		must(sharer.Keys("ctrl+shift+s"))
		time.Sleep(time.Second) // the picker opens; not an assertion (the title below is)
		must(sharer.Keys("Return"))
		shared = sharer.WaitFor("● Sharing in the title", 10*time.Second, func() bool { return strings.HasPrefix(sharer.Title(), "● Sharing") }) == nil
		if !shared {
			must(sharer.Keys("Escape"))
		}
	}
	if !shared {
		b.Fatalf("the sharer never shared (title %q)\n%s", sharer.Title(), sharer.Log())
	}
	small, full, rect := r.run(b, cfg, viewer.Pid(), sharer.Pid(), viewer.Log)
	if dir := os.Getenv("PARLO_BENCH_LOGS"); dir != "" { // both apps' logs, kept
		_ = os.WriteFile(filepath.Join(dir, "viewer.log"), []byte(viewer.Log()), 0o644)
		_ = os.WriteFile(filepath.Join(dir, "sharer.log"), []byte(sharer.Log()), 0o644)
	}
	vm, err := ProcMem(viewer.Pid())
	must(err)
	sm, err := ProcMem(sharer.Pid())
	must(err)
	// Stop everything of Parlo's stage (the scroller, both X servers)
	// before the reference runs.
	viewer.Close()
	sharer.Close()
	r.close()

	// The reference on a stage of its own.
	ref := newG2GRig(b)
	ffSender, ffViewer, ffLog := startFFmpegShare(b, ref.d1.Name(), ref.d2.Name())
	refSmall, refFull, _ := ref.run(b, cfg, ffViewer, ffSender, ffLog)

	for i, g := range []guiGlass{small, full} {
		rg := []guiGlass{refSmall, refFull}[i]
		what := "small change (a barcode on a still desktop)"
		if i == 1 {
			what = "full motion (the barcode over a whole screen scrolling at 60 Hz)"
		}
		if len(g.lat.Millis) < 10 {
			b.Fatalf("%s: only %d changes painted in the window", what, len(g.lat.Millis))
		}
		p50, p95 := Percentile(g.lat.Millis, 50), Percentile(g.lat.Millis, 95)
		h1, h2 := g.lat.Halves()
		b.ReportMetric(p50, fmt.Sprintf("g2g-p50-ms/%d", i))
		counts := func(l BarcodeLatency) string {
			return fmt.Sprintf("%d changes: %d skipped for a newer one, %d not shown within the wait", l.Painted, l.Skipped, l.Lost)
		}
		refCell := func(p float64) (string, string) {
			v := Percentile(rg.lat.Millis, p)
			return fmt.Sprintf("ffmpeg → ffplay: %.0f (%s; %.1f updates/s)", v, counts(rg.lat), rg.updatesPerSec), Ratio(Percentile(g.lat.Millis, p), v)
		}
		ref50, ratio50 := refCell(50)
		ref95, ratio95 := refCell(95)
		rep.Add(
			Row{Section: "2", Measure: "glass to glass 1080p, `parlo` → `parlo` read off the receiving window, " + what + ": p50 (ms)",
				Parlo: fmt.Sprintf("%.0f (%s; receiving window: %.1f picture updates/s where the reader looks, %.1f %% of %d grabs unreadable)",
					p50, counts(g.lat), g.updatesPerSec, 100*float64(g.unread)/float64(max(1, g.grabs)), g.grabs),
				Reference: ref50, Ratio: ratio50, Target: "≤ 40 ms (share goal)", Verdict: AtMost(p50, 40)},
			Row{Section: "2", Measure: "glass to glass 1080p, `parlo` → `parlo` read off the receiving window, " + what + ": p95 (ms)",
				Parlo: fmt.Sprintf("%.0f (max %.0f; p50 of the first and second half of the window %.0f and %.0f: a viewer falling behind shows as a second half slower)",
					p95, Percentile(g.lat.Millis, 100), h1, h2),
				Reference: ref95, Ratio: ratio95, Target: "≤ 80 ms (share goal)", Verdict: AtMost(p95, 80)},
		)
	}
	// What the viewer's fit view costs per shown frame: Fyne paints a
	// canvas.Image in ImageScaleSmooth mode whose picture is larger than
	// its place by rescaling it on the CPU with x/image/draw's CatmullRom
	// before the GL upload.
	scale := float64(rect.Dx()) / float64(BarcodeWidth)
	sw, sh := int(screenW*scale), int(screenH*scale)
	rescale := smoothRescaleMillis(Desktop(screenW, screenH, desktopSeed+1), sw, sh)
	rep.Add(Row{Section: "2", Measure: fmt.Sprintf("where the viewer's time goes: one CatmullRom rescale of a 1080p frame to the %d×%d the fit view shows (what Fyne does on the CPU for every shown frame of an ImageScaleSmooth image) (ms, median of 5)", sw, sh),
		Parlo:     fmt.Sprintf("%.0f", rescale),
		Reference: "30-fps frame budget: 33.3", Ratio: fmt.Sprintf("%.2f×", rescale/33.3), Target: "—", Verdict: NoGoal})
	mb := func(n int64) float64 { return float64(n) / 1e6 }
	rep.Add(
		Row{Section: "5", Measure: "RSS of the GUI while sharing 1080p (`parlo` on Xvfb, its window on the shared screen; after the small-change and full-motion windows) (MB)",
			Parlo:     fmt.Sprintf("%.0f (peak %.0f; CPU %.1f %% of a core in full motion, %.1f %% with a still screen)", mb(sm.RSS), mb(sm.Peak), full.sharerCPU, small.sharerCPU),
			Reference: fmt.Sprintf("ffmpeg x11grab+libvpx → RTP: CPU %.1f %% in full motion", refFull.sharerCPU), Ratio: "—", Target: "—", Verdict: NoGoal},
		Row{Section: "5", Measure: fmt.Sprintf("RSS of the GUI while viewing a 1080p share (`parlo` on Xvfb, window %d×%d, fit view) (MB)", vw, vh),
			Parlo: fmt.Sprintf("%.0f (peak %.0f; receiver CPU with decode, RGBA conversion and Fyne's GL paint on Mesa's software renderer: %.1f %% of a core in full motion, %.1f %% with a still screen)",
				mb(vm.RSS), mb(vm.Peak), full.viewerCPU, small.viewerCPU),
			Reference: fmt.Sprintf("ffplay (SDL): CPU %.1f %% in full motion, %.1f %% still", refFull.viewerCPU, refSmall.viewerCPU), Ratio: "—", Target: "—", Verdict: NoGoal},
	)
	rep.Note("**2, glass to glass.** Two real desktop apps: `parlo` on Xvfb display 1 shares that screen (Ctrl+Shift+S, Enter: the user's way, default settings) with `parlo` on display 2 (auto-answer on), "+
		"whose window fills display 2 and shows the share in its default fit view (the barcode lands at %v, %.2f× its size). On display 1 a 48-block barcode changes to the next value after a random 120–250 ms, "+
		"so changes fall anywhere relative to the capture tick; the paint time is when display 1's X server acknowledged it. A reader in the harness grabs the barcode's place on display 2 (MIT-SHM) every 2 ms "+
		"and takes the first grab that shows a value as its arrival, so the figures are upper bounds by up to one poll (about 2 ms). A change counts as seen when the window first shows it or a newer value "+
		"(a viewer that skips a frame shows the newer state: that is when the user sees the change); after the last window the run waits up to 10 s for the viewer to catch up, and a change not shown by then counts "+
		"with the time waited (a lower bound). Included: the wait for the capture tick, grab, BGRA→I420, VP8, RTP/SRTP, loopback UDP, "+
		"jitter buffer, decode, the hand-over to the GUI (it reads each frame when the receiver signals it), the RGBA conversion (libyuv) and Fyne's paint (OpenGL on Mesa's software renderer, as on any X server without a GPU) into display 2. Not included: a real monitor's scan-out. "+
		"Both apps, both X servers and the reader share the machine's 2 cores, so load from other processes lengthens these figures. "+
		"A \"picture update\" is a change of the pixels the reader grabs (the barcode and the rows below it), so in full motion it is the frame rate shown in the receiving window. "+
		"The reference is measured the same way on fresh displays after Parlo's run: `ffmpeg` x11grab at 30 fps, libvpx at cpu-used −16 with the encoder pairs' rate control, plain RTP (no SRTP) on loopback, "+
		"`ffplay -fflags nobuffer -flags low_delay -framedrop -max_delay 0` (no RTP reorder wait) on display 2 (SDL, 1:1, no scaling). "+
		"Warm-up %s per class, then %s measured.", rect, float64(rect.Dx())/float64(BarcodeWidth), cfg.warmup, cfg.g2gWindow)
}

// startFFmpegShare is the reference screen share: ffmpeg grabs display
// from, encodes VP8 with the bench's fixed-speed settings and sends RTP to
// ffplay on display to, which is started first (on an SDP written here) so
// that it has the first keyframe. It returns both pids and ffplay's log.
func startFFmpegShare(b *testing.B, from, to string) (sender, viewer int, log func() string) {
	b.Helper()
	port := freeUDPPort(b) &^ 1 // RTP on an even port, RTCP above it
	sdp := filepath.Join(b.TempDir(), "ref.sdp")
	body := fmt.Sprintf("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=bench\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=video %d RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n", port)
	if err := os.WriteFile(sdp, []byte(body), 0o644); err != nil {
		b.Fatal(err)
	}
	var out syncBuffer
	play := exec.Command("ffplay", "-hide_banner", "-loglevel", "warning", "-protocol_whitelist", "file,udp,rtp",
		"-fflags", "nobuffer", "-flags", "low_delay", "-framedrop", "-max_delay", "0", "-an", "-left", "0", "-top", "0", "-i", sdp)
	play.Env = append(os.Environ(), "DISPLAY="+to, "SDL_AUDIODRIVER=dummy")
	play.Stdout, play.Stderr = &out, &out
	if err := play.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = play.Process.Kill(); _ = play.Wait() })
	// ffplay has the port once it has opened the input.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		c, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			b.Fatalf("ffplay did not open its RTP port in 20 s\n%s", out.String())
		}
	}
	args := []string{"-hide_banner", "-loglevel", "error", "-nostdin",
		"-f", "x11grab", "-draw_mouse", "0", "-framerate", "30", "-video_size", fmt.Sprintf("%dx%d", screenW, screenH), "-i", from}
	args = append(args, EncoderSettings{CPUUsed: -16, BitrateKbps: shareKbps, FPS: 30}.FFmpegArgs()...)
	args = append(args, "-f", "rtp", fmt.Sprintf("rtp://127.0.0.1:%d?pkt_size=1200", port))
	send := exec.Command("ffmpeg", args...)
	send.Stdout, send.Stderr = &out, &out
	if err := send.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = send.Process.Kill(); _ = send.Wait() })
	return send.Process.Pid, play.Process.Pid, out.String
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of two
// processes' output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// freeUDPPort returns a UDP port on 127.0.0.1 that was free a moment ago
// (the run's network namespace is its own, so nothing else takes it).
func freeUDPPort(b *testing.B) int {
	b.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// smoothRescaleMillis times x/image/draw's CatmullRom scale of src to w x h
// into a fresh NRGBA, as Fyne's painter does: the median of 5, in ms.
func smoothRescaleMillis(src *image.RGBA, w, h int) float64 {
	var ms []float64
	for range 5 {
		t0 := time.Now()
		dst := image.NewNRGBA(image.Rect(0, 0, w, h))
		xdraw.CatmullRom.Scale(dst, dst.Rect, src, src.Rect, xdraw.Over, nil)
		ms = append(ms, float64(time.Since(t0).Microseconds())/1000)
	}
	return Median(ms)
}
