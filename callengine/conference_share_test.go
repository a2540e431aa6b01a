package callengine

import (
	"image"
	"image/color"
	"slices"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/callengine/media/rtpmedia"
	"github.com/parlo-voip/parlo/capture"
	"github.com/parlo-voip/parlo/capture/videocodec"
	"github.com/parlo-voip/parlo/internal/testpeers"
)

// confShareRig is A in a merged conference with B and C over a
// two-monitor X server whose monitor 1 shows pic; cWrap, if not nil, wraps
// C's media sessions.
type confShareRig struct {
	d              *testpeers.Display
	mon            capture.Monitor
	pic            *image.RGBA
	a, b, c        *testPhone
	ab, ba, ac, ca string
}

func startConfShareRig(t *testing.T, base color.RGBA, cWrap func(media.Session) media.Session) *confShareRig {
	t.Helper()
	r := &confShareRig{d: testpeers.StartDummyTwoMonitors(t)}
	mons, err := capture.MonitorsOn(r.d.Name())
	if err != nil || len(mons) < 2 {
		t.Fatal(mons, err)
	}
	r.mon = mons[1]
	r.pic = sharePicture(r.mon.Width, r.mon.Height, base)
	r.d.ShowImage(t, r.mon.X, r.mon.Y, writePNG(t, r.pic))
	r.a = newTestPhone(t, testPhoneOpts{toneHz: 440, display: r.d.Name()})
	r.b = newTestPhone(t, testPhoneOpts{toneHz: 660, display: r.d.Name()})
	r.c = newTestPhone(t, testPhoneOpts{toneHz: 880, display: r.d.Name(), wrap: cWrap})
	r.ab, r.ba = connect(t, r.a, r.b)
	r.ac, r.ca = connect(t, r.a, r.c)
	if err := r.a.Merge(ctxT(t, 30*time.Second), r.ab, r.ac); err != nil {
		t.Fatalf("Merge: %v", err)
	}
	return r
}

// A shares its screen with a conference: A calls B and C, merges, and
// shares monitor 1 from B's call. B and C both decode the monitor's picture
// from one capture; a change on the monitor reaches both; C hanging up
// leaves B's share running; stopping ends it on B and stops the capture.
// A moving picture in between shows the monitor is grabbed once for both.
// Then a share started before a merge reaches the leg that joins.
func TestConferenceShareReachesEveryLegIntegration(t *testing.T) {
	r := startConfShareRig(t, color.RGBA{R: 200, G: 40, B: 40, A: 255}, nil)
	d, mon, pic, a, b, c := r.d, r.mon, r.pic, r.a, r.b, r.c
	ab, ba, ac, ca := r.ab, r.ba, r.ac, r.ca
	ctx := ctxT(t, 60*time.Second)

	start := time.Now()
	if err := a.StartScreenSharing(ctx, ab, mon.Index); err != nil {
		t.Fatalf("StartScreenSharing in the conference: %v", err)
	}
	for _, id := range []string{ab, ac} {
		ev := a.rec.wait(t, EventScreenShareStarted, id, 10*time.Second)
		if !ev.Session.Screensharing || !ev.Session.Conference {
			t.Fatalf("%s: onScreenShareStarted with screensharing=%v conference=%v", id, ev.Session.Screensharing, ev.Session.Conference)
		}
	}
	waitPicture(t, "B", b, ba, pic)
	waitPicture(t, "C", c, ca, pic)
	t.Logf("conference share → both legs show the monitor: %s", time.Since(start).Round(time.Millisecond))
	if got := a.ScreenSharing(); got[ab] != mon.Name || got[ac] != mon.Name {
		t.Fatalf("ScreenSharing = %v, want both calls on %s", got, mon.Name)
	}
	// One capture for both legs: over a moving picture the grab rate is one
	// monitor's (up to 30 a second), not two.
	d.ShowTestPattern(t, mon.X, mon.Y, mon.Width, mon.Height)
	waitFrames(t, c, ca, waitFrames(t, c, ca, 0, time.Second)+10, 10*time.Second)
	c0, t0 := a.CapturedFrames(), time.Now()
	time.Sleep(2 * time.Second)
	rate := float64(a.CapturedFrames()-c0) / time.Since(t0).Seconds()
	t.Logf("captures while sharing with two legs: %.1f frames/s", rate)
	if rate < 5 || rate > 31 {
		t.Fatalf("%.1f captures a second for two legs: the monitor is grabbed more than once", rate)
	}

	// Two legs on VP8 share one encoder: its output is fanned out.
	if got := shareEncoders(t, a, ab); !slices.Equal(got, []videocodec.Name{videocodec.VP8}) {
		t.Fatalf("encoders for two VP8 legs: %v, want one VP8", got)
	}
	// C asks for keyframes (PLI, RFC 4585 §6.3.1): A's shared encoder gets
	// the request, and B keeps decoding the moving picture meanwhile.
	keyReqs := func() uint64 { st, _ := a.Stats(ac); return st.Video.Sent.KeyframeRequests }
	k0, nb, nc := keyReqs(), waitFrames(t, b, ba, 0, time.Second), waitFrames(t, c, ca, 0, time.Second)
	cc, err := c.call(ca)
	if err != nil {
		t.Fatal(err)
	}
	pliStart := time.Now()
	for keyReqs() < k0+3 {
		if time.Since(pliStart) > 10*time.Second {
			t.Fatalf("A saw %d keyframe requests from C in 10 s, want 3", keyReqs()-k0)
		}
		cc.mediaSession().RequestKeyframe() // throttled to one per MinPLIInterval
		time.Sleep(rtpmedia.MinPLIInterval)
	}
	nb2 := waitFrames(t, b, ba, nb+15, 10*time.Second)
	nc2 := waitFrames(t, c, ca, nc+15, 10*time.Second)
	t.Logf("while C asked for %d keyframes (%s): B decoded %d frames, C %d", keyReqs()-k0, time.Since(pliStart).Round(time.Millisecond), nb2-nb, nc2-nc)

	// A change on the monitor reaches both.
	pic2 := sharePicture(mon.Width, mon.Height, color.RGBA{R: 30, G: 200, B: 60, A: 255})
	d.ShowImage(t, mon.X, mon.Y, writePNG(t, pic2))
	waitPicture(t, "B after the change", b, ba, pic2)
	waitPicture(t, "C after the change", c, ca, pic2)

	// C leaves: B keeps the share.
	if err := c.Hangup(ctx, ca); err != nil {
		t.Fatalf("C hangs up: %v", err)
	}
	a.rec.wait(t, EventCallEnded, ac, 10*time.Second)
	n := waitFrames(t, b, ba, 0, time.Second)
	d.ShowImage(t, mon.X, mon.Y, writePNG(t, pic))
	waitFrames(t, b, ba, n+1, 10*time.Second)
	waitPicture(t, "B after C left", b, ba, pic)
	if got := a.ScreenSharing(); got[ab] != mon.Name || len(got) != 1 {
		t.Fatalf("after C left, ScreenSharing = %v, want only %s", got, ab)
	}

	// Stop: the share ends on B and the capture stops.
	if err := a.StopScreenSharing(ctx, ab); err != nil {
		t.Fatalf("StopScreenSharing: %v", err)
	}
	a.rec.wait(t, EventScreenShareEnded, ab, 5*time.Second)
	assertNoCapture(t, a, "stop")
	if got := a.ScreenSharing(); len(got) != 0 {
		t.Fatalf("after stop, ScreenSharing = %v", got)
	}

	// A share running before a merge reaches the call that joins.
	ad, _ := connect(t, a, newTestPhone(t, testPhoneOpts{toneHz: 550, display: d.Name()}))
	a.rec.wait(t, EventCallHeld, ab, 5*time.Second)
	if err := a.Resume(ctx, ab); err != nil {
		t.Fatal(err)
	}
	if err := a.StartScreenSharing(ctx, ab, mon.Index); err != nil {
		t.Fatalf("share before the merge: %v", err)
	}
	if err := a.Merge(ctx, ab, ad); err != nil {
		t.Fatalf("Merge while sharing: %v", err)
	}
	a.rec.waitCount(t, EventScreenShareStarted, ad, 1, 10*time.Second)
	if got := a.ScreenSharing(); got[ab] != mon.Name || got[ad] != mon.Name {
		t.Fatalf("after the merge, ScreenSharing = %v, want both calls", got)
	}
	// Splitting D off takes it out of the share; B keeps it.
	if err := a.Unmerge(ctx, ad, false); err != nil {
		t.Fatalf("Unmerge: %v", err)
	}
	a.rec.wait(t, EventScreenShareEnded, ad, 10*time.Second)
	if got := a.ScreenSharing(); got[ab] != mon.Name || len(got) != 1 {
		t.Fatalf("after the split, ScreenSharing = %v, want only B's call", got)
	}
}

// waitPicture waits until what p decodes on call id is pic.
func waitPicture(t *testing.T, who string, p *testPhone, id string, pic *image.RGBA) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var diff float64 = -1
	for time.Now().Before(deadline) {
		if rv, ok := p.RemoteVideo(id); ok {
			if img, _ := rv.Latest(); img != nil {
				if img.Bounds().Dx() == pic.Bounds().Dx() && img.Bounds().Dy() == pic.Bounds().Dy() {
					if diff = testpeers.MeanDiff(img, pic); diff < 12 {
						return
					}
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s does not show the shared picture (mean difference %.1f)", who, diff)
}

// A conference whose legs negotiated different codecs (B VP8, C H.264
// only) gets one capture and one encoder per codec: both show the monitor.
func TestConferenceShareMixedCodecsIntegration(t *testing.T) {
	r := startConfShareRig(t, color.RGBA{R: 40, G: 40, B: 200, A: 255},
		func(s media.Session) media.Session { return &h264OnlySession{Session: s} })
	mon, pic, a, b, c := r.mon, r.pic, r.a, r.b, r.c
	ab, ba, ac, ca := r.ab, r.ba, r.ac, r.ca
	ctx := ctxT(t, 60*time.Second)
	if err := a.StartScreenSharing(ctx, ac, mon.Index); err != nil {
		t.Fatalf("StartScreenSharing: %v", err)
	}
	waitPicture(t, "B", b, ba, pic)
	waitPicture(t, "C", c, ca, pic)
	sb, _ := b.Stats(ba)
	sc, _ := c.Stats(ca)
	t.Logf("B decodes %s, C decodes %s", sb.Video.Received.Codec, sc.Video.Received.Codec)
	if sb.Video.Received.Codec != "VP8" || sc.Video.Received.Codec != "H264" {
		t.Fatalf("B decodes %q, C decodes %q; want VP8 and H264", sb.Video.Received.Codec, sc.Video.Received.Codec)
	}
	if got := shareEncoders(t, a, ab); !slices.Equal(got, []videocodec.Name{videocodec.H264, videocodec.VP8}) {
		t.Fatalf("encoders for a VP8 and an H.264 leg: %v, want one of each", got)
	}
	if err := a.StopScreenSharing(ctx, ab); err != nil {
		t.Fatalf("StopScreenSharing from the other leg: %v", err)
	}
	a.rec.wait(t, EventScreenShareEnded, ab, 5*time.Second)
	a.rec.wait(t, EventScreenShareEnded, ac, 5*time.Second)
	assertNoCapture(t, a, "stop")
	// Both parties see the share end: their pictures stop.
	sb0, _ := b.Stats(ba)
	sc0, _ := c.Stats(ca)
	time.Sleep(700 * time.Millisecond)
	sb1, _ := b.Stats(ba)
	sc1, _ := c.Stats(ca)
	if sb1.Video.Received.FramesDecoded != sb0.Video.Received.FramesDecoded || sc1.Video.Received.FramesDecoded != sc0.Video.Received.FramesDecoded {
		t.Fatalf("after stop B decoded %d more frames, C %d more; want none",
			sb1.Video.Received.FramesDecoded-sb0.Video.Received.FramesDecoded, sc1.Video.Received.FramesDecoded-sc0.Video.Received.FramesDecoded)
	}
}

// shareEncoders lists the codecs A's share of call id runs an encoder for.
func shareEncoders(t *testing.T, a *testPhone, id string) []videocodec.Name {
	t.Helper()
	c, err := a.call(id)
	if err != nil {
		t.Fatal(err)
	}
	s := c.shareSender()
	if s == nil {
		t.Fatalf("call %s does not share", id)
	}
	return s.Encoders()
}
