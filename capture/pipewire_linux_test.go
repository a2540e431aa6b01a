package capture

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/internal/testpeers"
)

// i420Of is what bgraToI420Rows makes of a picture of one colour.
func i420Of(r, g, b byte) (y, u, v byte) {
	var img I420
	img.ensure(2, 2)
	px := make([]byte, 2*2*4)
	for i := 0; i < len(px); i += 4 {
		px[i], px[i+1], px[i+2], px[i+3] = b, g, r, 0xff
	}
	bgraToI420Rows(&img, px, 8, 0, 2)
	return img.Y[0], img.U[0], img.V[0]
}

// frameColour reports whether every sampled pixel of f has the colour
// (y, u, v), within a rounding step.
func frameColour(f *I420, y, u, v byte) bool {
	near := func(a, b byte) bool { return a-b <= 2 || b-a <= 2 }
	for row := 0; row < f.Height; row += 7 {
		for col := 0; col < f.Width; col += 11 {
			if !near(f.Y[row*f.StrideY+col], y) {
				return false
			}
			c := (row/2)*f.StrideUV + col/2
			if !near(f.U[c], u) || !near(f.V[c], v) {
				return false
			}
		}
	}
	return true
}

// TestPortalSourceIntegration shares the output of a headless sway through
// the ScreenCast portal (xdg-desktop-portal-wlr picks the output with no
// person) and PipeWire: the Source delivers pictures of the output's size
// and colour, follows a change of colour, and ends the session on Close.
func TestPortalSourceIntegration(t *testing.T) {
	const w, h = 640, 480
	sway := testpeers.StartSway(t, testpeers.SwayOptions{Width: w, Height: h, Background: "#ff0000"})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	mon, err := OpenPortalMonitor(ctx, PortalOptions{BusAddress: sway.BusAddress()})
	if err != nil {
		t.Fatalf("OpenPortalMonitor: %v\n%s", err, sway.Log())
	}
	if mon.Width != w || mon.Height != h {
		t.Fatalf("portal monitor %dx%d, want %dx%d", mon.Width, mon.Height, w, h)
	}
	if mon.PortalRestoreToken() == "" {
		t.Errorf("no restore token for persist_mode 2")
	}
	// xdpw offers embedded pointers: the share asks for them.
	if !strings.Contains(sway.Log(), "option cursor_mode:2") {
		t.Errorf("SelectSources did not ask for the embedded pointer (cursor_mode 2)\n%s", sway.Log())
	}

	type seen struct {
		w, h     int
		red, blu bool
	}
	frames := make(chan seen, 64)
	ry, ru, rv := i420Of(0xff, 0, 0)
	by, bu, bv := i420Of(0, 0, 0xff)
	src, err := NewSource(mon, SourceOptions{
		FPS: 30,
		OnFrame: func(f Frame) {
			s := seen{w: f.Image.Width, h: f.Image.Height, red: frameColour(f.Image, ry, ru, rv), blu: frameColour(f.Image, by, bu, bv)}
			select {
			case frames <- s:
			default:
			}
		},
	})
	if err != nil {
		t.Fatalf("NewSource: %v\n%s", err, sway.Log())
	}
	defer src.Close()
	if err := src.Start(ctx); err != nil {
		t.Fatal(err)
	}

	wait := func(what string, ok func(seen) bool) {
		t.Helper()
		for {
			select {
			case s := <-frames:
				if s.w != w || s.h != h {
					t.Fatalf("frame %dx%d, want %dx%d", s.w, s.h, w, h)
				}
				if ok(s) {
					return
				}
			case <-src.Done():
				t.Fatalf("source stopped before %s: %v\n%s", what, src.Err(), sway.Log())
			case <-ctx.Done():
				t.Fatalf("no %s frame: %v (stats %+v)\n%s", what, ctx.Err(), src.Stats(), sway.Log())
			}
		}
	}
	wait("red", func(s seen) bool { return s.red })
	if err := sway.SetBackground(ctx, "#0000ff"); err != nil {
		t.Fatal(err)
	}
	wait("blue", func(s seen) bool { return s.blu })
	t.Logf("stats after red then blue: %+v", src.Stats())
	if st := src.Stats(); !st.Damage {
		t.Errorf("portal source polls; want it driven by the stream's pictures (stats %+v)", st)
	}

	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if err := src.Err(); err != nil && !errors.Is(err, ErrClosed) {
		t.Errorf("Err after Close = %v", err)
	}

	// A share restarted from the same Monitor (resume after hold) opens
	// the target again with the restore token, without a chooser, and
	// starts from the last picture: xdpw 0.7 copies the output "with
	// damage", and wlroots keeps the damage per screencopy client, which
	// xdpw is for all its sessions, so a new session of a still screen
	// gets nothing until something is drawn. Its first frame is the blue
	// the previous Source saw, before any repaint.
	type colours struct{ blue, green bool }
	gy, gu, gv := i420Of(0, 0xff, 0)
	restored := make(chan colours, 64)
	src2, err := NewSource(mon, SourceOptions{FPS: 30, OnFrame: func(f Frame) {
		select {
		case restored <- colours{blue: frameColour(f.Image, by, bu, bv), green: frameColour(f.Image, gy, gu, gv)}:
		default:
		}
	}})
	if err != nil {
		t.Fatalf("NewSource again: %v\n%s", err, sway.Log())
	}
	defer src2.Close()
	if err := src2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-restored:
		if !c.blue {
			t.Fatalf("the restarted share's first frame is not the last picture (blue): %+v", c)
		}
	case <-time.After(time.Second):
		t.Fatalf("the restarted share delivered nothing within 1 s (stats %+v)\n%s", src2.Stats(), sway.Log())
	}
	// Then the stream's own pictures: the output changes colour, again
	// each second until the picture comes, because the first repaint can
	// go to a copy the closed session still had pending.
	if err := sway.SetBackground(ctx, "#00ff00"); err != nil {
		t.Fatal(err)
	}
	repaint := time.NewTicker(time.Second)
	defer repaint.Stop()
	for done := false; !done; {
		select {
		case c := <-restored:
			done = c.green
		case <-repaint.C:
			if err := sway.SetBackground(ctx, "#00ff00"); err != nil {
				t.Fatal(err)
			}
		case <-src2.Done():
			t.Fatalf("second source stopped: %v\n%s", src2.Err(), sway.Log())
		case <-ctx.Done():
			t.Fatalf("no green frame from the restored session (stats %+v)\n%s", src2.Stats(), sway.Log())
		}
	}
	if err := src2.Close(); err != nil {
		t.Fatal(err)
	}

	// A new target (no last picture) on a still screen waits for its
	// first picture; such a Source still closes at once.
	fresh, err := OpenPortalMonitor(ctx, PortalOptions{BusAddress: sway.BusAddress()})
	if err != nil {
		t.Fatalf("OpenPortalMonitor again: %v\n%s", err, sway.Log())
	}
	idle, err := NewSource(fresh, SourceOptions{FPS: 30, OnFrame: func(Frame) {}})
	if err != nil {
		t.Fatalf("NewSource: %v\n%s", err, sway.Log())
	}
	if err := idle.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for idle.Stats().Captured == 0 {
		select {
		case <-idle.Done():
			t.Fatalf("idle source stopped: %v", idle.Err())
		case <-ctx.Done():
			t.Fatal("idle source never tried to grab")
		case <-time.After(10 * time.Millisecond):
		}
	}
	closeStart := time.Now()
	_ = idle.Close()
	if d := time.Since(closeStart); d > time.Second {
		t.Errorf("Close of a source waiting for its first picture took %v", d)
	}
	if st := idle.Stats(); st.GrabErrors != 0 {
		t.Errorf("idle source stats %+v: a picture on its way counted as a grab error", st)
	}
}

// TestPortalCancelledIntegration: when the person dismisses the portal's
// dialog (here a chooser that chooses nothing), OpenPortalMonitor says
// ErrShareCancelled, which is also a context.Canceled.
func TestPortalCancelledIntegration(t *testing.T) {
	sway := testpeers.StartSway(t, testpeers.SwayOptions{Decline: true})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := OpenPortalMonitor(ctx, PortalOptions{BusAddress: sway.BusAddress()})
	if !errors.Is(err, ErrShareCancelled) || !errors.Is(err, context.Canceled) {
		t.Fatalf("OpenPortalMonitor with the dialog dismissed: %v, want ErrShareCancelled\n%s", err, sway.Log())
	}
}

// TestPortalStreamEndsIntegration: when the screencast ends on the
// desktop's side (the portal back end stops, its PipeWire node goes), the
// Source ends with ErrMonitorGone, as for an unplugged X11 monitor.
func TestPortalStreamEndsIntegration(t *testing.T) {
	sway := testpeers.StartSway(t, testpeers.SwayOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	mon, err := OpenPortalMonitor(ctx, PortalOptions{BusAddress: sway.BusAddress()})
	if err != nil {
		t.Fatalf("OpenPortalMonitor: %v\n%s", err, sway.Log())
	}
	first := make(chan struct{}, 1)
	src, err := NewSource(mon, SourceOptions{FPS: 30, OnFrame: func(Frame) {
		select {
		case first <- struct{}{}:
		default:
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if err := src.Start(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-first:
	case <-ctx.Done():
		t.Fatalf("no first frame\n%s", sway.Log())
	}
	sway.StopPortalBackend()
	select {
	case <-src.Done():
		if !errors.Is(src.Err(), ErrMonitorGone) {
			t.Fatalf("Source ended with %v, want ErrMonitorGone", src.Err())
		}
	case <-ctx.Done():
		t.Fatalf("Source still runs after the screencast ended (stats %+v)\n%s", src.Stats(), sway.Log())
	}
}

// TestPortalStockXdpwNeedsShimIntegration pins down why StartSway
// preloads a shim into xdg-desktop-portal-wlr: without it, on a desktop
// with no GPU, Start fails (response 2) and xdpw logs that screencopy gave
// it no valid format. When a fixed xdpw reaches Debian this test fails,
// and the shim can go.
func TestPortalStockXdpwNeedsShimIntegration(t *testing.T) {
	sway := testpeers.StartSway(t, testpeers.SwayOptions{StockPortal: true})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	mon, err := OpenPortalMonitor(ctx, PortalOptions{BusAddress: sway.BusAddress()})
	if err == nil {
		_ = mon.ClosePortal()
		t.Fatal("stock xdg-desktop-portal-wlr started a screencast without a GPU: the shim in StartSway is no longer needed")
	}
	if !errors.Is(err, ErrPortal) || !strings.Contains(err.Error(), "Start ended with response 2") {
		t.Fatalf("OpenPortalMonitor: %v, want Start to end with response 2\n%s", err, sway.Log())
	}
	if !strings.Contains(sway.Log(), "unable to receive a valid format from wlr_screencopy") {
		t.Fatalf("xdpw failed for another reason\n%s", sway.Log())
	}
}

func TestWaylandSession(t *testing.T) {
	for _, tc := range []struct {
		name, display, session string
		want                   bool
	}{
		{"wayland session", "wayland-0", "wayland", true},
		{"x11 session with a nested compositor", "wayland-0", "x11", false},
		{"session type without a compositor", "", "wayland", false},
		{"plain x11", "", "x11", false},
		{"nothing set", "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("WAYLAND_DISPLAY", tc.display)
			t.Setenv("XDG_SESSION_TYPE", tc.session)
			if got := WaylandSession(); got != tc.want {
				t.Errorf("WaylandSession() = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestPipeWireRowConversion: every layout the stream accepts becomes the
// BGRX rows the rest of the package reads, with the row padding dropped.
func TestPipeWireRowConversion(t *testing.T) {
	// One pixel of B=1 G=2 R=3 (alpha or padding 0x80) in each layout.
	for _, tc := range []struct {
		name   string
		format spaVideoFormat
		pixel  [4]byte
	}{
		{"BGRx", spaBGRx, [4]byte{1, 2, 3, 0x80}},
		{"BGRA", spaBGRA, [4]byte{1, 2, 3, 0x80}},
		{"RGBx", spaRGBx, [4]byte{3, 2, 1, 0x80}},
		{"RGBA", spaRGBA, [4]byte{3, 2, 1, 0x80}},
		{"xRGB", spaXRGB, [4]byte{0x80, 3, 2, 1}},
		{"ARGB", spaARGB, [4]byte{0x80, 3, 2, 1}},
		{"xBGR", spaXBGR, [4]byte{0x80, 1, 2, 3}},
		{"ABGR", spaABGR, [4]byte{0x80, 1, 2, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const w, h, stride = 3, 2, 16 // 4 bytes of padding a row
			src := make([]byte, stride*h)
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					copy(src[y*stride+x*4:], tc.pixel[:])
				}
				copy(src[y*stride+w*4:], []byte{9, 9, 9, 9})
			}
			dst := make([]byte, w*h*4)
			convertRows(dst, src, w, h, stride, tc.format)
			for i := 0; i < len(dst); i += 4 {
				if dst[i] != 1 || dst[i+1] != 2 || dst[i+2] != 3 {
					t.Fatalf("pixel %d = % x, want B=1 G=2 R=3", i/4, dst[i:i+4])
				}
			}
		})
	}
}
