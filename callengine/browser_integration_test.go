package callengine

import (
	"math"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/capture"
	"github.com/parlo-voip/parlo/internal/testpeers"
)

// One Chromium serves every browser test of the package (start-up costs a
// few seconds of CPU); each test opens its own pages.
var (
	browserOnce sync.Once
	browserInst *testpeers.Browser
	browserErr  error
	browserDir  string
)

// TestMain stops the shared browser (and so every process it started) after
// the package's tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if browserInst != nil {
		browserInst.Close()
	}
	if browserDir != "" {
		_ = os.RemoveAll(browserDir)
	}
	os.Exit(code)
}

func sharedBrowser(t *testing.T) *testpeers.Browser {
	t.Helper()
	testpeers.SkipIfShort(t, "node, chromium")
	browserOnce.Do(func() {
		browserDir, browserErr = os.MkdirTemp("", "parlo-browser-")
		if browserErr != nil {
			return
		}
		browserInst, browserErr = testpeers.NewBrowser(browserDir)
	})
	if browserErr != nil {
		t.Fatalf("browser: %v", browserErr)
	}
	return browserInst
}

// browserRig is Kamailio (UDP, WS, WSS), Parlo registered over UDP with
// default settings (a normal user), and one browser page registered over
// WS (SIP.js) or WSS (the Wazo SDK).
type browserRig struct {
	k      *testpeers.Kamailio
	parlo  *testPhone
	peer   *testpeers.BrowserPeer
	d      *testpeers.Display
	mon    capture.Monitor
	flavor testpeers.BrowserFlavour
}

const (
	parloToneHz   = 440
	browserToneHz = 880
)

func newBrowserRig(t *testing.T, flavour testpeers.BrowserFlavour, videoCodec string, withDisplay bool) *browserRig {
	t.Helper()
	return newBrowserRigAnswer(t, flavour, videoCodec, withDisplay, false)
}

// newBrowserRigAnswer is newBrowserRig with the page answering calls at once.
func newBrowserRigAnswer(t *testing.T, flavour testpeers.BrowserFlavour, videoCodec string, withDisplay, autoAnswer bool) *browserRig {
	t.Helper()
	testpeers.Require(t, "kamailio", "node", "chromium")
	b := sharedBrowser(t)
	// The Wazo SDK registers as user@HOST:PORT of its WSS server, so its
	// realm is the proxy's address.
	realm := ""
	if flavour == testpeers.FlavourWazo {
		realm = "127.0.0.1"
	}
	k := testpeers.StartKamailio(t, testpeers.KamailioOptions{Realm: realm, TLS: true,
		Users: map[string]string{"alice": "secret-a", "bob": "secret-b"}})
	r := &browserRig{k: k, flavor: flavour}
	display := ""
	if withDisplay {
		r.d = testpeers.StartDummyTwoMonitors(t)
		mons, err := capture.MonitorsOn(r.d.Name())
		if err != nil || len(mons) < 2 {
			t.Fatalf("monitors: %v %v", mons, err)
		}
		r.mon = mons[1]
		r.d.ShowTestPattern(t, r.mon.X, r.mon.Y, r.mon.Width, r.mon.Height)
		display = r.d.Name()
	}
	r.parlo = newTestPhone(t, testPhoneOpts{toneHz: parloToneHz, display: display,
		account: &Account{URI: "sip:alice@" + k.Domain(), Password: "secret-a", Registrar: "sip:" + k.UDPAddr()}})
	ctx := ctxT(t, 30*time.Second)
	if err := r.parlo.Register(ctx); err != nil {
		t.Fatalf("Parlo register: %v\n%s", err, k.Log())
	}
	r.peer = b.NewPeer(t, flavour)
	reg := testpeers.BrowserRegistration{User: "bob", Password: "secret-b", ToneHz: browserToneHz, VideoCodec: videoCodec, AutoAnswer: autoAnswer}
	switch flavour {
	case testpeers.FlavourSIPJS:
		reg.Server = k.WSURL()
		reg.URI = "sip:bob@" + k.Domain()
	case testpeers.FlavourWazo:
		reg.Server = trimScheme(k.WSSURL())
	}
	if err := r.peer.Register(ctx, reg); err != nil {
		t.Fatalf("browser register: %v\n%s\n%s", err, b.Log(), k.Log())
	}
	return r
}

func trimScheme(u string) string {
	for _, p := range []string{"wss://", "ws://"} {
		if len(u) > len(p) && u[:len(p)] == p {
			u = u[len(p):]
		}
	}
	if n := len(u); n > 0 && u[n-1] == '/' {
		u = u[:n-1]
	}
	return u
}

// waitBrowserAudio polls until the page has received and sent audio packets
// and hears hz (±25 Hz, the analyser's bins are 5.9 Hz at 48 kHz) at a real level.
func waitBrowserAudio(t *testing.T, p *testpeers.BrowserPeer, hz float64, timeout time.Duration) testpeers.BrowserStats {
	t.Helper()
	ctx := ctxT(t, timeout+5*time.Second)
	deadline := time.Now().Add(timeout)
	var st testpeers.BrowserStats
	var lvl testpeers.AudioLevel
	for time.Now().Before(deadline) {
		st, _ = p.Stats(ctx)
		lvl, _ = p.AudioLevel(ctx)
		if st.Audio.PacketsReceived > 50 && st.Audio.PacketsSent > 50 && math.Abs(lvl.Hz-hz) <= 25 && lvl.RMS > 0.05 {
			return st
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("browser audio: %d packets in (%s, decoder level %.3f, %d samples, %d concealed), %d out, hears %.1f Hz at rms %.3f, want %.0f Hz",
		st.Audio.PacketsReceived, st.Audio.Codec, st.Audio.AudioLevel, st.Audio.TotalSamplesReceived, st.Audio.ConcealedSamples,
		st.Audio.PacketsSent, lvl.Hz, lvl.RMS, hz)
	return st
}

// checkShareInBrowser starts Parlo's share of the moving test pattern and
// checks the browser decodes it: size, frames, fps; it logs the loss and
// repair counters used to explain the frame rate.
func checkShareInBrowser(t *testing.T, r *browserRig, id, codec string) {
	t.Helper()
	ctx := ctxT(t, 60*time.Second)
	start := time.Now()
	if err := r.parlo.StartScreenSharing(ctx, id, r.mon.Index); err != nil {
		t.Fatalf("StartScreenSharing: %v", err)
	}
	var st testpeers.BrowserStats
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		st, _ = r.peer.Stats(ctx)
		if st.Video.FramesDecoded > 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st.Video.FramesDecoded == 0 {
		t.Fatalf("browser decoded no frame of the share in 15 s: %+v\n%s", st.Video, sharedBrowser(t).Log())
	}
	t.Logf("share → first frame decoded in the browser: %s", time.Since(start).Round(time.Millisecond))
	// Let the encoder and the browser's jitter buffer settle, then measure.
	time.Sleep(2 * time.Second)
	stats := func() (testpeers.BrowserStats, media.Stats) {
		t.Helper()
		b, err := r.peer.Stats(ctx)
		if err != nil {
			t.Fatalf("browser stats: %v", err)
		}
		p, err := r.parlo.Stats(id)
		if err != nil {
			t.Fatalf("Parlo stats: %v; events %v; errors %v", err, r.parlo.rec.names(id), r.parlo.rec.errors())
		}
		return b, p
	}
	first, sentFirst := stats()
	t0 := time.Now()
	time.Sleep(4 * time.Second)
	last, sent := stats()
	dt := time.Since(t0).Seconds()
	fps := float64(last.Video.FramesDecoded-first.Video.FramesDecoded) / dt
	recvFPS := float64(last.Video.FramesReceived-first.Video.FramesReceived) / dt
	kbps := float64(last.Video.BytesReceived-first.Video.BytesReceived) * 8 / 1000 / dt
	t.Logf("browser %s: %dx%d decoded %.1f fps (received %.1f fps, dropped %d, %d kbit/s, lost %d, NACK %d, PLI %d, FIR %d, keyframes %d, decode %.1f ms/frame, jitter buffer %.0f ms, freezes %d, decoder %s); Parlo sent %.1f fps at %d kbit/s target (frames %d → %d)",
		last.Video.Codec, last.Video.FrameWidth, last.Video.FrameHeight, fps, recvFPS,
		last.Video.FramesDropped-first.Video.FramesDropped, int(kbps), last.Video.PacketsLost,
		last.Video.NackCount, last.Video.PliCount, last.Video.FirCount, last.Video.KeyFramesDecoded,
		1000*(last.Video.TotalDecodeTime-first.Video.TotalDecodeTime)/math.Max(1, float64(last.Video.FramesDecoded-first.Video.FramesDecoded)),
		1000*last.Video.JitterBufferDelay/math.Max(1, float64(last.Video.JitterBufferEmitted)),
		last.Video.FreezeCount, last.Video.DecoderImplementation,
		sent.Video.Sent.FPS, sent.Video.Sent.BitrateKbps, sentFirst.Video.Sent.Frames, sent.Video.Sent.Frames)
	if want := "video/" + codec; last.Video.Codec != want {
		t.Fatalf("browser decodes %q, want %q", last.Video.Codec, want)
	}
	if last.Video.FrameWidth != r.mon.Width || last.Video.FrameHeight != r.mon.Height {
		t.Fatalf("browser frame %dx%d, monitor is %dx%d", last.Video.FrameWidth, last.Video.FrameHeight, r.mon.Width, r.mon.Height)
	}
	// The browser must decode what Parlo sends, every frame: Parlo's own
	// send rate under load is TestScreenShareFrameRateIntegration's business,
	// and a starved browser decodes late, not never, so this waits (with a
	// deadline) until the frames Parlo had sent by now are decoded.
	target := sent.Video.Sent.Frames
	for sent.Video.Sent.Frames < 10 && time.Now().Before(deadline.Add(20*time.Second)) {
		time.Sleep(200 * time.Millisecond)
		_, sent = stats()
		target = sent.Video.Sent.Frames
	}
	need := int64(float64(target)*0.9) - 1 // frames before the first keyframe reached the browser
	until := time.Now().Add(15 * time.Second)
	for last.Video.FramesDecoded < need && time.Now().Before(until) {
		time.Sleep(200 * time.Millisecond)
		last, _ = stats()
	}
	if target < 10 || last.Video.FramesDecoded < need {
		t.Fatalf("browser decoded %d frames, Parlo had sent %d (want ≥ 10 sent, ≥ %d decoded)", last.Video.FramesDecoded, target, need)
	}
}

// browserCase is one browser far end of the interop tests.
type browserCase struct {
	name    string
	flavour testpeers.BrowserFlavour
	codec   string // the video codec decoded
}

// browserCases are SIP.js over WS in both video codecs and the Wazo SDK over
// WSS.
var browserCases = []browserCase{
	{"sipjs-ws-vp8", testpeers.FlavourSIPJS, "VP8"},
	{"sipjs-ws-h264", testpeers.FlavourSIPJS, "H264"},
	{"wazo-wss", testpeers.FlavourWazo, "VP8"},
}

// forcedCodec is the codec the browser rig makes SIP.js prefer; "" for the
// Wazo SDK, which keeps its own order (VP8 first).
func (c browserCase) forcedCodec() string {
	if c.flavour == testpeers.FlavourSIPJS {
		return c.codec
	}
	return ""
}

func TestBrowserCallsParloIntegration(t *testing.T) {
	for _, tc := range browserCases {
		t.Run(tc.name, func(t *testing.T) {
			r := newBrowserRig(t, tc.flavour, tc.forcedCodec(), true)
			ctx := ctxT(t, 60*time.Second)
			target := "sip:alice@" + r.k.Domain()
			if tc.flavour == testpeers.FlavourWazo {
				target = "alice"
			}
			start := time.Now()
			if err := r.peer.Call(ctx, target); err != nil {
				t.Fatalf("browser call: %v", err)
			}
			in := r.parlo.rec.wait(t, EventCallIncoming, "", 10*time.Second)
			id := in.Session.SipCallID
			if err := r.parlo.Accept(ctx, id); err != nil {
				t.Fatalf("Accept: %v", err)
			}
			r.parlo.rec.wait(t, EventMediaConnected, id, 10*time.Second)
			t.Logf("set-up browser → Parlo (INVITE to media connected, incl. Parlo's accept): %s", time.Since(start).Round(time.Millisecond))
			r.parlo.waitTone(t, browserToneHz, 10*time.Second)
			st := waitBrowserAudio(t, r.peer, parloToneHz, 10*time.Second)
			t.Logf("browser audio packets: %d received, %d sent", st.Audio.PacketsReceived, st.Audio.PacketsSent)
			checkShareInBrowser(t, r, id, tc.codec)
			if tc.flavour == testpeers.FlavourWazo {
				logWazoEvents(t, r.peer)
			}
			if err := r.parlo.Hangup(ctx, id); err != nil {
				t.Fatalf("Hangup: %v", err)
			}
		})
	}
}

func logWazoEvents(t *testing.T, p *testpeers.BrowserPeer) {
	t.Helper()
	var names []string
	for _, ev := range p.Events() {
		if ev.Event == "wazo" {
			names = append(names, ev.Name)
		}
	}
	t.Logf("Wazo.Phone events: %v", names)
	if len(names) == 0 {
		t.Fatal("the Wazo SDK reported no phone event")
	}
}
