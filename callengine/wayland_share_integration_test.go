package callengine

import (
	"image"
	"image/color"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/internal/testpeers"
)

// solid is a w x h picture of one colour.
func solid(w, h int, c color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return img
}

// TestScreenShareWaylandIntegration shares a Wayland screen end to end:
// A runs in a Wayland session (headless sway, the ScreenCast portal with
// xdg-desktop-portal-wlr choosing the output with no person, PipeWire)
// with the default options, so it lists the system dialog's screen,
// shares it through the portal, and B decodes the output's picture and
// follows its changes, a laid-out picture included; hold and resume
// restore the share without asking again.
func TestScreenShareWaylandIntegration(t *testing.T) {
	const w, h = 640, 480
	sway := testpeers.StartSway(t, testpeers.SwayOptions{Width: w, Height: h, Background: "#ff0000"})
	// The phone reads the session from the environment, as in a real
	// Wayland session; no X display is named.
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", sway.WaylandDisplay())
	t.Setenv("XDG_SESSION_TYPE", "wayland")
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", sway.BusAddress())

	a := newTestPhone(t, testPhoneOpts{toneHz: 440})
	b := newTestPhone(t, testPhoneOpts{toneHz: 660})
	aID, bID := connect(t, a, b)
	ctx := ctxT(t, 60*time.Second)

	mons, err := a.Monitors()
	if err != nil || len(mons) != 1 || mons[0].Name != portalMonitorName {
		t.Fatalf("Monitors on Wayland = %+v, %v; want the system dialog's screen", mons, err)
	}
	if _, err := a.Thumbnail(0, 160, 90); err == nil {
		t.Fatal("a thumbnail of the screen before the system dialog")
	}
	start := time.Now()
	if err := a.StartScreenSharing(ctx, aID, mons[0].Index); err != nil {
		t.Fatalf("StartScreenSharing: %v\n%s", err, sway.Log())
	}
	started := a.rec.wait(t, EventScreenShareStarted, aID, time.Second)
	if p, ok := started.Payload.(ScreenSharePayload); !ok || p.Width != w || p.Height != h {
		t.Fatalf("onScreenShareStarted payload %+v, want %dx%d", started.Payload, w, h)
	}
	waitFrames(t, b, bID, 1, 10*time.Second)
	t.Logf("share → first frame decoded at the peer (portal dialog included): %s", time.Since(start))

	rv, ok := b.RemoteVideo(bID)
	if !ok {
		t.Fatal("no remote video at B")
	}
	red := solid(w, h, color.RGBA{R: 255, A: 255})
	blue := solid(w, h, color.RGBA{B: 255, A: 255})
	// waitPicture waits until B shows want; repaint, when set, runs each
	// second meanwhile (see the resume below).
	waitPicture := func(want, not *image.RGBA, what string, repaint ...func()) {
		t.Helper()
		var snap image.Image
		last := time.Now()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if snap, _ = rv.Latest(); snap != nil && testpeers.MeanDiff(snap, want) < 12 {
				break
			}
			if len(repaint) > 0 && time.Since(last) >= time.Second {
				repaint[0]()
				last = time.Now()
			}
		}
		if snap == nil {
			t.Fatalf("B decoded no picture")
		}
		if snap.Bounds().Dx() != w || snap.Bounds().Dy() != h {
			t.Fatalf("decoded picture %v, want %dx%d", snap.Bounds(), w, h)
		}
		if d := testpeers.MeanDiff(snap, want); d >= 12 {
			t.Fatalf("decoded picture differs from the %s output by %.1f per channel\n%s", what, d, sway.Log())
		}
		if d := testpeers.MeanDiff(snap, not); d < 30 {
			t.Fatalf("decoded picture is too close to the other colour (%.1f)", d)
		}
	}
	waitPicture(red, blue, "red")
	if err := sway.SetBackground(ctx, "#0000ff"); err != nil {
		t.Fatal(err)
	}
	waitPicture(blue, red, "blue")
	// A picture with a layout (quadrants, a white square off centre): a
	// flipped, mirrored or cropped stream fails here where a plain
	// colour passes.
	pic := sharePicture(w, h, color.RGBA{R: 230, G: 120, B: 20, A: 255})
	if err := sway.ShowImage(ctx, writePNG(t, pic)); err != nil {
		t.Fatal(err)
	}
	waitPicture(pic, blue, "pattern")

	// Hold stops the share; resume restores it from the same portal
	// target (restore token, no dialog), starting from the last picture,
	// and the stream's next repaint follows.
	st, err := b.Stats(bID)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Hold(ctx, aID); err != nil {
		t.Fatalf("Hold while sharing: %v", err)
	}
	a.rec.waitCount(t, EventScreenShareEnded, aID, 1, time.Second)
	if err := a.Resume(ctx, aID); err != nil {
		t.Fatalf("Resume: %v\n%s", err, sway.Log())
	}
	a.rec.waitCount(t, EventScreenShareStarted, aID, 2, 5*time.Second)
	waitFrames(t, b, bID, st.Video.Received.FramesDecoded+1, 10*time.Second)
	// xdpw keeps damage per screencopy client, for all its sessions: the
	// first repaint can go to a copy the held share's session still had
	// pending, so the output is repainted each second until B shows it.
	paintRed := func() {
		if err := sway.SetBackground(ctx, "#ff0000"); err != nil {
			t.Fatal(err)
		}
	}
	paintRed()
	waitPicture(red, pic, "red again", paintRed)

	if err := a.StopScreenSharing(ctx, aID); err != nil {
		t.Fatalf("StopScreenSharing: %v", err)
	}
	a.rec.wait(t, EventScreenShareEnded, aID, time.Second)
	assertNoCapture(t, a, "stop")
}
