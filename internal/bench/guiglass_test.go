package bench

import (
	"context"
	"fmt"
	"image"

	"net"
	"os"
	"path/filepath"
	"strings"
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
	wall          time.Duration
}

// benchGUIGlassToGlass measures glass to glass between two real desktop
// apps: `parlo` on display 1 (1080p) shares that screen with `parlo` on
// display 2, which shows it in its window (the default fit view, window
// filling the 1080p screen). On display 1 a barcode changes to the next
// value at random intervals (120–250 ms, so relative to the 30-fps capture
// tick the changes fall anywhere); a reader grabs the barcode's place on
// display 2 every 2 ms through MIT-SHM and notes when each value first
// appears. The latency is that moment minus the moment the X server on
// display 1 acknowledged the paint, on the same clock. First with a still
// desktop behind the barcode (a small change), then with the whole screen
// scrolling (full motion). The two apps' RSS and CPU come from the same run.
func benchGUIGlassToGlass(b *testing.B, cfg config, rep *Report) {
	b.Helper()
	testpeers.Require(b, "Xvfb", "xdotool", "xprop")
	bin := parloBinary(b, cfg)
	d1 := showScene(b, sceneStatic)
	d2, err := StartXvfb(screenW, screenH)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(d2.Close)
	p1, err := NewXPainter(d1.Name())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(p1.Close)
	start := make(chan struct{})
	log, err := p1.StartBarcodeChanges(BarcodeChangeOptions{X: barcodeX, Y: barcodeY, Start: start,
		MinGap: 120 * time.Millisecond, MaxGap: 250 * time.Millisecond, Seed: 19})
	if err != nil {
		b.Fatal(err)
	}

	port := freeUDPPort(b)
	viewer, err := StartGUIApp(GUIOptions{Bin: bin, Display: d2.Name(), Home: filepath.Join(b.TempDir(), "viewer"),
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
	sharer, err := StartGUIApp(GUIOptions{Bin: bin, Display: d1.Name(), Home: filepath.Join(b.TempDir(), "sharer"),
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
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rect, err := FindBarcodeMarker(ctx, d2.Name())
	if err != nil {
		b.Fatalf("%v\n--- viewer log ---\n%s", err, viewer.Log())
	}
	// Also grab as many rows below the barcode as it is high, twice: the
	// picture there is the desktop (still) or the scroller (full motion).
	below := min(2*rect.Dy(), screenH-rect.Max.Y)
	w, err := StartBarcodeWatcher(d2.Name(), rect, below, 2*time.Millisecond, log)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(w.Close)
	close(start)

	window := func() guiGlass {
		time.Sleep(cfg.warmup)
		s0 := w.Stats()
		v0, _ := ProcCPU(viewer.Pid())
		h0, _ := ProcCPU(sharer.Pid())
		t0 := time.Now()
		time.Sleep(cfg.g2gWindow)
		t1 := time.Now()
		s1 := w.Stats()
		v1, _ := ProcCPU(viewer.Pid())
		h1, _ := ProcCPU(sharer.Pid())
		wall := t1.Sub(t0)
		return guiGlass{
			lat:           BarcodeLatency{}, // filled in at the end, once every change painted here could arrive
			updatesPerSec: float64(s1.Updates-s0.Updates) / wall.Seconds(),
			grabs:         s1.Grabs - s0.Grabs, unread: s1.Unreadable - s0.Unreadable,
			viewerCPU: (v1 - v0) / wall.Seconds() * 100, sharerCPU: (h1 - h0) / wall.Seconds() * 100,
			wall: wall,
		}
	}
	type span struct{ from, to time.Time }
	var spans []span
	measure := func() guiGlass {
		g := window()
		spans = append(spans, span{time.Now().Add(-g.wall), time.Now()})
		return g
	}
	small := measure()
	must(p1.StartScroller(Desktop(screenW, screenH, desktopSeed+1), 60, 4))
	full := measure()
	time.Sleep(time.Second) // let the last changes of the window arrive before they are judged
	small.lat = log.Window(spans[0].from, spans[0].to, time.Second)
	full.lat = log.Window(spans[1].from, spans[1].to, time.Second)
	vm, err := ProcMem(viewer.Pid())
	must(err)
	sm, err := ProcMem(sharer.Pid())
	must(err)

	for i, g := range []guiGlass{small, full} {
		what := "small change (a barcode on a still desktop)"
		if i == 1 {
			what = "full motion (the barcode over a whole screen scrolling at 60 Hz)"
		}
		if g.lat.Bogus > 0 {
			b.Fatalf("%s: %d values read that were never painted", what, g.lat.Bogus)
		}
		if len(g.lat.Millis) < 10 {
			b.Fatalf("%s: only %d of %d changes seen on the receiving window", what, len(g.lat.Millis), g.lat.Painted)
		}
		p50, p95 := Percentile(g.lat.Millis, 50), Percentile(g.lat.Millis, 95)
		h1, h2 := g.lat.Halves()
		b.ReportMetric(p50, fmt.Sprintf("g2g-p50-ms/%d", i))
		rep.Add(
			Row{Section: "2", Measure: "glass to glass 1080p, `parlo` → `parlo` read off the receiving window, " + what + ": p50 (ms)",
				Parlo: fmt.Sprintf("%.0f (%d changes, %d never shown; receiving window: %.1f picture updates/s where the reader looks, %.1f %% of %d grabs unreadable)",
					p50, g.lat.Painted, g.lat.Missed, g.updatesPerSec, 100*float64(g.unread)/float64(max(1, g.grabs)), g.grabs),
				Reference: "— (no reference peer)", Ratio: "—", Target: "≤ 40 ms (share goal)", Verdict: AtMost(p50, 40)},
			Row{Section: "2", Measure: "glass to glass 1080p, `parlo` → `parlo` read off the receiving window, " + what + ": p95 (ms)",
				Parlo: fmt.Sprintf("%.0f (max %.0f; p50 of the first and second half of the window %.0f and %.0f: a viewer falling behind shows as a second half slower)",
					p95, Percentile(g.lat.Millis, 100), h1, h2),
				Reference: "— (no reference peer)", Ratio: "—", Target: "≤ 80 ms (share goal)", Verdict: AtMost(p95, 80)},
		)
	}
	// What the viewer's fit view costs per shown frame: Fyne paints a
	// canvas.Image in ImageScaleSmooth mode whose picture is larger than
	// its place by rescaling it on the CPU with x/image/draw's CatmullRom
	// (fyne internal/painter scaleImage) before the GL upload.
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
			Reference: "— (idle GUI: its own row)", Ratio: "—", Target: "—", Verdict: NoGoal},
		Row{Section: "5", Measure: fmt.Sprintf("RSS of the GUI while viewing a 1080p share (`parlo` on Xvfb, window %d×%d, fit view) (MB)", vw, vh),
			Parlo: fmt.Sprintf("%.0f (peak %.0f; receiver CPU with decode, RGBA conversion and Fyne's GL paint on Mesa's software renderer: %.1f %% of a core in full motion, %.1f %% with a still screen)",
				mb(vm.RSS), mb(vm.Peak), full.viewerCPU, small.viewerCPU),
			Reference: "—", Ratio: "—", Target: "—", Verdict: NoGoal},
	)
	rep.Note("**2, glass to glass.** Two real desktop apps: `parlo` on Xvfb display 1 shares that screen (Ctrl+Shift+S, Enter: the user's way, default settings) with `parlo` on display 2 (auto-answer on), "+
		"whose window fills display 2 and shows the share in its default fit view (the barcode lands at %v, %.2f× its size). On display 1 a 48-block barcode changes to the next value after a random 120–250 ms, "+
		"so changes fall anywhere relative to the capture tick; the paint time is when display 1's X server acknowledged it. A reader in the harness grabs the barcode's place on display 2 (MIT-SHM) every 2 ms "+
		"and takes the first grab that shows a value as its arrival, so the figures are upper bounds by up to one poll (about 2 ms). Included: the wait for the capture tick, grab, BGRA→I420, VP8, RTP/SRTP, loopback UDP, "+
		"jitter buffer, decode, the GUI's 33-ms poll, the RGBA conversion and Fyne's paint (OpenGL on Mesa's software renderer, as on any X server without a GPU) into display 2. Not included: a real monitor's scan-out. "+
		"Both apps, both X servers and the reader share the machine's 2 cores, so load from other processes lengthens these figures. "+
		"A \"picture update\" is a change of the pixels the reader grabs (the barcode and the rows below it), so in full motion it is the frame rate shown in the receiving window. "+
		"Warm-up %s per class, then %s measured.", rect, float64(rect.Dx())/float64(BarcodeWidth), cfg.warmup, cfg.g2gWindow)
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
