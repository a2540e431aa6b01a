package callengine

import (
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/callengine/media/classic"
	"github.com/parlo-voip/parlo/capture"
	"github.com/parlo-voip/parlo/internal/testpeers"
)

// sharePicture is a known picture: four colour quadrants and a white
// square, so a wrong crop, a mirrored or shifted picture all fail.
func sharePicture(w, h int, base color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := base
			if x >= w/2 {
				c = color.RGBA{R: 20, G: 160, B: 170, A: 255}
			}
			if y >= h/2 {
				c.R, c.B = c.B, c.R
			}
			if x > w/8 && x < w/4 && y > h/8 && y < h/4 {
				c = color.RGBA{R: 250, G: 250, B: 250, A: 255}
			}
			img.Set(x, y, c)
		}
	}
	return img
}

func writePNG(t *testing.T, img image.Image) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pic.png")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	return p
}

type shareRig struct {
	d          *testpeers.Display
	a, b       *testPhone
	aID, bID   string
	mon1       capture.Monitor
	pic0, pic1 *image.RGBA
}

// newShareRig: a two-monitor display with a known picture on each monitor,
// and an audio call from A (who will share) to B.
func newShareRig(t *testing.T, wrap ...func(media.Session) media.Session) *shareRig {
	t.Helper()
	return newShareRigOn(t, media.PathWebRTC, wrap...)
}

// newShareRigOn is newShareRig with both phones' calls on path: on the
// classic path A offers one transport per m-line (SDES), and wrap wraps
// the classic sessions.
func newShareRigOn(t *testing.T, path media.Path, wrap ...func(media.Session) media.Session) *shareRig {
	t.Helper()
	d := testpeers.StartDummyTwoMonitors(t)
	r := &shareRig{d: d}
	mons, err := capture.MonitorsOn(d.Name())
	if err != nil || len(mons) != 2 {
		t.Fatalf("monitors on %s: %v %v", d.Name(), mons, err)
	}
	r.mon1 = mons[1]
	r.pic0 = sharePicture(mons[0].Width, mons[0].Height, color.RGBA{R: 140, G: 40, B: 200, A: 255})
	r.pic1 = sharePicture(mons[1].Width, mons[1].Height, color.RGBA{R: 230, G: 120, B: 20, A: 255})
	d.ShowImage(t, mons[0].X, mons[0].Y, writePNG(t, r.pic0))
	d.ShowImage(t, mons[1].X, mons[1].Y, writePNG(t, r.pic1))
	var w func(media.Session) media.Session
	if len(wrap) > 0 {
		w = wrap[0]
	}
	o := testPhoneOpts{display: d.Name(), wrap: w}
	if path == media.PathClassic {
		o.wrap = nil
		o.tune = func(opts *Options) {
			opts.Media = string(media.PathClassic)
			opts.ClassicMediaFactory = func(mo media.Options, ev media.Events) (media.Session, error) {
				s, err := classic.New(mo, ev)
				if err != nil || w == nil {
					return s, err
				}
				return w(s), nil
			}
		}
	}
	o.toneHz = 440
	r.a = newTestPhone(t, o)
	o.toneHz = 660
	r.b = newTestPhone(t, o)
	r.aID, r.bID = connect(t, r.a, r.b)
	return r
}

// waitMonitor1Picture waits until the picture p (the rig's receiver)
// decodes is monitor 1's, at its size, and not monitor 0's.
func (r *shareRig) waitMonitor1Picture(t *testing.T, p *testPhone) {
	t.Helper()
	rv, ok := p.RemoteVideo(r.bID)
	if !ok {
		t.Fatal("no remote video at B")
	}
	var snap image.Image
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if snap, _ = rv.Latest(); snap != nil && testpeers.MeanDiff(snap, r.pic1) < 12 {
			break
		}
	}
	if snap == nil {
		t.Fatal("B decoded no picture in 10 s")
	}
	if snap.Bounds().Dx() != r.mon1.Width || snap.Bounds().Dy() != r.mon1.Height {
		t.Fatalf("decoded picture %v, monitor 1 is %dx%d", snap.Bounds(), r.mon1.Width, r.mon1.Height)
	}
	if d := testpeers.MeanDiff(snap, r.pic1); d >= 12 {
		t.Fatalf("decoded picture differs from monitor 1's by %.1f per channel", d)
	}
	if d := testpeers.MeanDiff(snap, r.pic0); d < 30 {
		t.Fatalf("decoded picture is too close to monitor 0's (%.1f)", d)
	}
}

// waitFrames polls B's decoded frame count until it passes n.
func waitFrames(t *testing.T, p *testPhone, id string, n uint64, timeout time.Duration) uint64 {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var got uint64
	for time.Now().Before(deadline) {
		st, err := p.Stats(id)
		if err != nil {
			t.Fatal(err)
		}
		if got = st.Video.Received.FramesDecoded; got >= n {
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("decoded %d frames, want %d", got, n)
	return got
}

// assertNoCapture checks the privacy invariant: within 100 ms of a stop no
// frame is captured any more.
func assertNoCapture(t *testing.T, p *testPhone, what string) {
	t.Helper()
	time.Sleep(100 * time.Millisecond)
	before := p.CapturedFrames()
	time.Sleep(500 * time.Millisecond)
	if after := p.CapturedFrames(); after != before {
		t.Fatalf("after %s, %d frames were still captured", what, after-before)
	}
}

func TestScreenShareParloToParloIntegration(t *testing.T) {
	r := newShareRig(t)
	a, b := r.a, r.b
	ctx := ctxT(t, 60*time.Second)

	start := time.Now()
	if err := a.StartScreenSharing(ctx, r.aID, r.mon1.Index); err != nil {
		t.Fatalf("StartScreenSharing: %v", err)
	}
	started := a.rec.wait(t, EventScreenShareStarted, r.aID, time.Second)
	if !started.Session.Screensharing {
		t.Fatal("onScreenShareStarted without screensharing=true")
	}
	// Only the sharer hears of it; the far end gets reinvite/onTrack/onVideoStream.
	if n := b.rec.count(EventScreenShareStarted, ""); n != 0 {
		t.Fatalf("the receiver got onScreenShareStarted %d times", n)
	}
	b.rec.wait(t, EventVideoStream, r.bID, 5*time.Second)
	waitFrames(t, b, r.bID, 1, 10*time.Second)
	t.Logf("share → first frame decoded at the peer: %s", time.Since(start))

	// B's picture is monitor 1's, at its size, and not monitor 0's.
	r.waitMonitor1Picture(t, b)
	st, _ := a.Stats(r.aID)
	if st.Video.Sent.Codec != "VP8" || st.Video.Sent.Width != r.mon1.Width || st.Video.Sent.Frames == 0 {
		t.Fatalf("sender stats: %+v", st.Video.Sent)
	}
	// Every frame goes in at least one RTP packet, and the counters say so.
	if st.Video.Sent.Packets < st.Video.Sent.Frames {
		t.Fatalf("sender stats: %d packets for %d frames", st.Video.Sent.Packets, st.Video.Sent.Frames)
	}

	// Stop: A gets onScreenShareEnded, capture stops, B's video stops, audio goes on.
	if err := a.StopScreenSharing(ctx, r.aID); err != nil {
		t.Fatalf("StopScreenSharing: %v", err)
	}
	ended := a.rec.wait(t, EventScreenShareEnded, r.aID, time.Second)
	if ended.Session.Screensharing {
		t.Fatal("onScreenShareEnded with screensharing=true")
	}
	assertNoCapture(t, a, "stop")
	before, _ := b.Stats(r.bID)
	time.Sleep(700 * time.Millisecond)
	after, _ := b.Stats(r.bID)
	if after.Video.Received.FramesDecoded != before.Video.Received.FramesDecoded {
		t.Fatalf("B still decodes after stop: %d → %d", before.Video.Received.FramesDecoded, after.Video.Received.FramesDecoded)
	}
	b.waitTone(t, 440, 5*time.Second)

	// Share again, then hold: the share stops; resume restores it.
	if err := a.StartScreenSharing(ctx, r.aID, r.mon1.Index); err != nil {
		t.Fatalf("second StartScreenSharing: %v", err)
	}
	n := waitFrames(t, b, r.bID, after.Video.Received.FramesDecoded+5, 10*time.Second)
	if err := a.Hold(ctx, r.aID); err != nil {
		t.Fatalf("Hold while sharing: %v", err)
	}
	a.rec.waitCount(t, EventScreenShareEnded, r.aID, 2, time.Second)
	assertNoCapture(t, a, "hold")
	if err := a.Resume(ctx, r.aID); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	// start, restart, and the restore on resume.
	a.rec.waitCount(t, EventScreenShareStarted, r.aID, 3, time.Second)
	waitFrames(t, b, r.bID, n+5, 10*time.Second)

	// Hang up while sharing: capture stops with the call.
	if err := a.Hangup(ctx, r.aID); err != nil {
		t.Fatal(err)
	}
	assertNoCapture(t, a, "hangup")
	a.rec.wait(t, EventCallEnded, r.aID, time.Second)
	names := filter(a.rec.names(r.aID), []string{EventScreenShareEnded, EventCallEnded, EventCallEnding})
	if names[len(names)-1] != EventCallEnded || names[len(names)-2] != EventScreenShareEnded {
		t.Fatalf("hangup while sharing: last events %v", names[len(names)-3:])
	}
}

func TestScreenShareFrameRateIntegration(t *testing.T) {
	m := startMovingShare(t, nil)
	w := m.measure(3 * time.Second)
	t.Logf("moving %dx%d picture: B decoded %.1f fps (sender %.1f fps, %d kbit/s target)",
		m.mon.Width, m.mon.Height, w.decodedFPS, w.sender.Video.Sent.FPS, w.sender.Video.Sent.BitrateKbps)
	if w.decodedFPS < 20 {
		t.Fatalf("B decoded %.1f fps of a changing picture, want ≥ 20", w.decodedFPS)
	}
}

func TestScreenShareMonitorUnpluggedIntegration(t *testing.T) {
	r := newShareRig(t)
	ctx := ctxT(t, 30*time.Second)
	if err := r.a.StartScreenSharing(ctx, r.aID, r.mon1.Index); err != nil {
		t.Fatal(err)
	}
	waitFrames(t, r.b, r.bID, 1, 10*time.Second)
	if err := r.d.Unplug(r.mon1.Name); err != nil {
		t.Fatal(err)
	}
	r.a.rec.wait(t, EventScreenShareEnding, r.aID, 5*time.Second)
	r.a.rec.wait(t, EventScreenShareEnded, r.aID, 5*time.Second)
	assertNoCapture(t, r.a, "unplug")
	// The call itself goes on.
	r.b.waitTone(t, 440, 5*time.Second)
}

// barrierSession holds back the first re-offer of each side until both
// sides have built theirs, so that the two re-INVITEs leave together and
// cross: the glare of RFC 3261 §14.2, every time rather than by luck.
type barrierSession struct {
	media.Session
	armed   *atomic.Bool
	barrier *sync.WaitGroup
	once    sync.Once
}

func (b *barrierSession) CreateOffer(ctx context.Context, dir media.Direction) ([]byte, error) {
	offer, err := b.Session.CreateOffer(ctx, dir)
	if b.armed.Load() {
		b.once.Do(func() {
			b.barrier.Done()
			b.barrier.Wait()
		})
	}
	return offer, err
}

func (b *barrierSession) CancelOffer() error {
	if oc, ok := b.Session.(media.OfferCanceler); ok {
		return oc.CancelOffer()
	}
	return nil
}

// Glare: both ends start sharing at the same moment. The re-INVITEs cross,
// 491 answers them (RFC 3261 §14.2), the refused side backs off (§14.1),
// answers the other's offer meanwhile and retries; both shares start and
// each side decodes the other's screen.
func TestScreenShareGlareIntegration(t *testing.T) {
	var armed atomic.Bool
	var barrier sync.WaitGroup
	barrier.Add(2)
	r := newShareRig(t, func(s media.Session) media.Session {
		return &barrierSession{Session: s, armed: &armed, barrier: &barrier}
	})
	armed.Store(true)
	ctx := ctxT(t, 60*time.Second)
	errs := make(chan error, 2)
	go func() { errs <- r.a.StartScreenSharing(ctx, r.aID, r.mon1.Index) }()
	go func() { errs <- r.b.StartScreenSharing(ctx, r.bID, 0) }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("StartScreenSharing under glare: %v", err)
		}
	}
	ca, _ := r.a.call(r.aID)
	cb, _ := r.b.call(r.bID)
	// Whichever INVITE reaches a side while its own transaction is open
	// gets 491; on loopback one side's 491 often comes back before the
	// other INVITE arrives, so one or both sides see it.
	if ca.glares.Load()+cb.glares.Load() == 0 {
		t.Fatalf("491 answers: A got %d, B got %d; the re-INVITEs did not cross", ca.glares.Load(), cb.glares.Load())
	}
	t.Logf("491 answers: A got %d, B got %d", ca.glares.Load(), cb.glares.Load())
	r.a.rec.wait(t, EventScreenShareStarted, r.aID, time.Second)
	r.b.rec.wait(t, EventScreenShareStarted, r.bID, time.Second)
	waitFrames(t, r.b, r.bID, 1, 10*time.Second)
	waitFrames(t, r.a, r.aID, 1, 10*time.Second)
	sa, _ := r.a.Stats(r.aID)
	sb, _ := r.b.Stats(r.bID)
	if sa.Video.Received.Width != 1920 || sb.Video.Received.Width != r.mon1.Width {
		t.Fatalf("A receives %dx%d (want monitor 0), B receives %dx%d (want monitor 1)",
			sa.Video.Received.Width, sa.Video.Received.Height, sb.Video.Received.Width, sb.Video.Received.Height)
	}
}
