package webrtcmedia

import (
	"context"
	"errors"
	"math"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine/audio"
	"github.com/parlo-voip/parlo/callengine/media"
)

const (
	toneWindow    = 200 * time.Millisecond
	toneTolerance = 10.0 // Hz
	minToneRMS    = 0.25 // fraction of full scale: a 0.5-peak sine is 0.354 rms over a full window
	silentRMS     = 0.005
)

// peer is one Session of a test call with its tone source and detector.
type peer struct {
	name      string
	s         *Session
	det       *audio.ToneDetector
	connected chan time.Time
	failed    chan error

	mu     sync.Mutex
	tracks []media.TrackInfo
}

func newPeer(t *testing.T, name string, hz float64) *peer {
	t.Helper()
	p := &peer{
		name:      name,
		det:       audio.NewToneDetector(2 * time.Second),
		connected: make(chan time.Time, 1),
		failed:    make(chan error, 1),
	}
	var once sync.Once
	s, err := newSession(media.Options{
		AudioIn:      audio.NewTone(hz, 0.5),
		AudioOut:     p.det,
		LoopbackOnly: true,
	}, media.Events{
		OnConnected: func() {
			fired := false
			once.Do(func() { fired = true; p.connected <- time.Now() })
			if !fired {
				t.Errorf("%s: OnConnected fired twice", name)
			}
		},
		OnFailed: func(err error) { p.failed <- err },
		OnTrack: func(ti media.TrackInfo) {
			p.mu.Lock()
			p.tracks = append(p.tracks, ti)
			p.mu.Unlock()
		},
	})
	if err != nil {
		t.Fatalf("%s: new session: %v", name, err)
	}
	p.s = s
	t.Cleanup(func() { _ = s.Close() })
	return p
}

func (p *peer) trackInfos() []media.TrackInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]media.TrackInfo(nil), p.tracks...)
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// waitConnected waits for OnConnected and returns when it fired.
func (p *peer) waitConnected(t *testing.T) time.Time {
	t.Helper()
	select {
	case at := <-p.connected:
		return at
	case err := <-p.failed:
		t.Fatalf("%s: failed: %v", p.name, err)
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: not connected after 5 s", p.name)
	}
	return time.Time{}
}

// negotiate runs one offer/answer from offerer to answerer and returns
// the answer and the offer as sent.
func negotiate(t *testing.T, offerer, answerer *peer, offerDir, answerLocal media.Direction,
	editOffer func(string) string,
) (offer, answer string) {
	t.Helper()
	ctx := testCtx(t)
	o, err := offerer.s.CreateOffer(ctx, offerDir)
	if err != nil {
		t.Fatalf("%s: create offer: %v", offerer.name, err)
	}
	offer = string(o)
	if editOffer != nil {
		offer = editOffer(offer)
	}
	a, err := answerer.s.CreateAnswer(ctx, []byte(offer), answerLocal)
	if err != nil {
		t.Fatalf("%s: create answer: %v\noffer:\n%s", answerer.name, err, offer)
	}
	if err := offerer.s.ApplyAnswer(ctx, a); err != nil {
		t.Fatalf("%s: apply answer: %v\nanswer:\n%s", offerer.name, err, a)
	}
	return offer, string(a)
}

// connect makes the initial call a → b and returns the time from
// ApplyAnswer to OnConnected at both ends.
func connect(t *testing.T, a, b *peer) (offer, answer string, took time.Duration) {
	t.Helper()
	ctx := testCtx(t)
	o, err := a.s.CreateOffer(ctx, media.SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	ans, err := b.s.CreateAnswer(ctx, o, media.SendRecv)
	if err != nil {
		t.Fatalf("create answer: %v\n%s", err, o)
	}
	start := time.Now()
	if err := a.s.ApplyAnswer(ctx, ans); err != nil {
		t.Fatalf("apply answer: %v\n%s", err, ans)
	}
	atA, atB := a.waitConnected(t), b.waitConnected(t)
	last := atA
	if atB.After(last) {
		last = atB
	}
	return string(o), string(ans), last.Sub(start)
}

// waitTone polls the detector until it hears hz, or fails at the deadline.
func waitTone(t *testing.T, p *peer, hz float64, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	var f, rms float64
	for time.Now().Before(deadline) {
		f, rms = p.det.Frequency(toneWindow)
		if math.Abs(f-hz) <= toneTolerance && rms >= minToneRMS {
			t.Logf("%s hears %.1f Hz at rms %.3f", p.name, f, rms)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: want %.0f±%.0f Hz rms>=%.2f, last heard %.1f Hz rms %.4f (stats %+v)",
		p.name, hz, toneTolerance, minToneRMS, f, rms, p.s.Stats())
}

// waitSilence polls until the last window is (near) silent.
func waitSilence(t *testing.T, p *peer, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(within)
	var rms float64
	for time.Now().Before(deadline) {
		_, rms = p.det.Frequency(toneWindow)
		if rms < silentRMS {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: still hears rms %.4f after %v", p.name, rms, within)
	return 0
}

var (
	reUfrag = regexp.MustCompile(`a=ice-ufrag:(\S+)`)
	reFP    = regexp.MustCompile(`a=fingerprint:(.+)\r\n`)
)

func TestCallCarriesTonesBothWays(t *testing.T) {
	a, b := newPeer(t, "A", 440), newPeer(t, "B", 660)
	offer, answer, took := connect(t, a, b)
	t.Logf("ApplyAnswer → OnConnected (both): %v; offer %d bytes, answer %d bytes", took, len(offer), len(answer))
	t.Logf("offer:\n%s", offer)

	if len(offer) >= 1300 || len(answer) >= 1300 {
		t.Errorf("SDP too big for SIP over UDP: offer %d, answer %d bytes", len(offer), len(answer))
	}
	for _, want := range []string{"c=IN IP4 127.0.0.1", "a=rtcp-mux", "a=group:BUNDLE", "a=sendrecv",
		"opus/48000/2", "minptime=10;useinbandfec=1", "PCMU/8000", "PCMA/8000", "telephone-event/8000", "telephone-event/48000"} {
		if !strings.Contains(offer, want) {
			t.Errorf("offer lacks %q", want)
		}
	}
	if strings.Contains(offer, "0.0.0.0") || strings.Contains(offer, "m=audio 9 ") {
		t.Errorf("offer still has the JSEP placeholder address/port")
	}
	if !regexp.MustCompile(`m=audio (\d+) [\s\S]*a=rtcp:(\d+) IN IP4 127\.0\.0\.1`).MatchString(offer) {
		t.Errorf("offer lacks a=rtcp with the m= port")
	}

	waitTone(t, b, 440, 3*time.Second)
	waitTone(t, a, 660, 3*time.Second)

	for _, p := range []*peer{a, b} {
		tr := p.trackInfos()
		if len(tr) != 1 || tr[0].Kind != "audio" || tr[0].Codec != "opus" {
			t.Errorf("%s: OnTrack got %+v, want one opus audio track", p.name, tr)
		}
		st := p.s.Stats()
		if st.Path != "webrtc" || st.SRTP != "dtls" || st.Audio.Codec != "opus" ||
			st.Audio.PacketsSent == 0 || st.Audio.BytesSent == 0 ||
			st.Audio.PacketsReceived == 0 || st.Audio.BytesReceived == 0 {
			t.Errorf("%s: stats %+v", p.name, st)
		}
		if p.s.Direction() != media.SendRecv {
			t.Errorf("%s: direction %v", p.name, p.s.Direction())
		}
	}
}

func TestHoldAndResume(t *testing.T) {
	tests := []struct {
		name      string
		holdDir   media.Direction // what the holder (A) offers
		wantB     media.Direction // B's negotiated direction
		answerHas string
	}{
		{"sendonly hold", media.SendOnly, media.RecvOnly, "a=recvonly"},
		{"inactive hold", media.Inactive, media.Inactive, "a=inactive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := newPeer(t, "A", 440), newPeer(t, "B", 660)
			first, _, _ := connect(t, a, b)
			waitTone(t, b, 440, 3*time.Second)
			waitTone(t, a, 660, 3*time.Second)

			// Hold: a re-INVITE from A.
			reoffer, answer := negotiate(t, a, b, tt.holdDir, media.SendRecv, nil)
			if !strings.Contains(reoffer, "a="+tt.holdDir.String()) || !strings.Contains(answer, tt.answerHas) {
				t.Fatalf("re-offer/answer directions wrong:\n%s\n%s", reoffer, answer)
			}
			// RFC 8839 §4.4.1.1.1: a re-offer without ICE restart keeps the
			// credentials; the DTLS association is kept too.
			if reUfrag.FindString(reoffer) != reUfrag.FindString(first) || reFP.FindString(reoffer) != reFP.FindString(first) {
				t.Fatalf("re-offer changed ICE credentials or fingerprint")
			}
			if a.s.Direction() != tt.holdDir || b.s.Direction() != tt.wantB {
				t.Fatalf("directions A=%v B=%v, want %v/%v", a.s.Direction(), b.s.Direction(), tt.holdDir, tt.wantB)
			}
			t.Logf("A silent %v after hold", waitSilence(t, a, time.Second))
			// We mute on hold like the Wazo SDK: B hears nothing either.
			t.Logf("B silent %v after hold", waitSilence(t, b, time.Second))
			sentA := a.s.Stats().Audio.PacketsSent
			sentB := b.s.Stats().Audio.PacketsSent
			time.Sleep(200 * time.Millisecond) // a measurement interval, not an assertion wait
			if d := a.s.Stats().Audio.PacketsSent - sentA; d != 0 {
				t.Errorf("A sent %d packets while holding", d)
			}
			if d := b.s.Stats().Audio.PacketsSent - sentB; d != 0 {
				t.Errorf("B sent %d packets while held", d)
			}

			// Resume.
			_, answer = negotiate(t, a, b, media.SendRecv, media.SendRecv, nil)
			if !strings.Contains(answer, "a=sendrecv") {
				t.Fatalf("resume answer:\n%s", answer)
			}
			if a.s.Direction() != media.SendRecv || b.s.Direction() != media.SendRecv {
				t.Fatalf("after resume A=%v B=%v", a.s.Direction(), b.s.Direction())
			}
			waitTone(t, b, 440, 3*time.Second)
			waitTone(t, a, 660, 3*time.Second)
			// The re-INVITEs reuse the transceiver: no second remote track.
			if len(a.trackInfos()) != 1 || len(b.trackInfos()) != 1 {
				t.Fatalf("tracks after resume: A %+v, B %+v", a.trackInfos(), b.trackInfos())
			}
		})
	}
}

func TestHeldByPeer(t *testing.T) {
	// B holds A: B's re-INVITE is sendonly, A (answerer) answers recvonly.
	a, b := newPeer(t, "A", 440), newPeer(t, "B", 660)
	connect(t, a, b)
	waitTone(t, a, 660, 3*time.Second)
	_, answer := negotiate(t, b, a, media.SendOnly, media.SendRecv, nil)
	if !strings.Contains(answer, "a=recvonly") || a.s.Direction() != media.RecvOnly {
		t.Fatalf("A direction %v, answer:\n%s", a.s.Direction(), answer)
	}
	waitSilence(t, b, time.Second)
	waitSilence(t, a, time.Second)
	_, answer = negotiate(t, b, a, media.SendRecv, media.SendRecv, nil)
	if !strings.Contains(answer, "a=sendrecv") {
		t.Fatalf("resume answer:\n%s", answer)
	}
	waitTone(t, a, 660, 3*time.Second)
	waitTone(t, b, 440, 3*time.Second)
}

func TestResendPendingOfferAfter491(t *testing.T) {
	a, b := newPeer(t, "A", 440), newPeer(t, "B", 660)
	connect(t, a, b)
	ctx := testCtx(t)
	o1, err := a.s.CreateOffer(ctx, media.SendOnly)
	if err != nil {
		t.Fatal(err)
	}
	// 491 Request Pending: signalling retries with the same direction.
	o2, err := a.s.CreateOffer(ctx, media.SendOnly)
	if err != nil {
		t.Fatal(err)
	}
	if string(o1) != string(o2) {
		t.Fatalf("resent offer differs:\n%s\n---\n%s", o1, o2)
	}
	ans, err := b.s.CreateAnswer(ctx, o2, media.SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.s.ApplyAnswer(ctx, ans); err != nil {
		t.Fatal(err)
	}
	if a.s.Direction() != media.SendOnly {
		t.Fatalf("direction %v", a.s.Direction())
	}
	if err := a.s.ApplyAnswer(ctx, ans); !errors.Is(err, ErrNoPendingOffer) {
		t.Fatalf("second ApplyAnswer: %v, want ErrNoPendingOffer", err)
	}
}

// onlyPCMU edits an offer down to PCMU, as a G.711-only phone would offer.
func onlyPCMU(offer string) string {
	var out []string
	for _, l := range strings.Split(offer, "\r\n") {
		switch {
		case strings.HasPrefix(l, "m=audio "):
			f := strings.Fields(l)
			l = strings.Join(append(f[:3], "0"), " ")
		case strings.HasPrefix(l, "a=rtpmap:") && !strings.HasPrefix(l, "a=rtpmap:0 "),
			strings.HasPrefix(l, "a=fmtp:"), strings.HasPrefix(l, "a=rtcp-fb:"):
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\r\n")
}

func TestCodecChoicePCMU(t *testing.T) {
	a, b := newPeer(t, "A", 440), newPeer(t, "B", 660)
	offer, answer := negotiate(t, a, b, media.SendRecv, media.SendRecv, onlyPCMU)
	if strings.Contains(offer, "opus") {
		t.Fatalf("offer edit failed:\n%s", offer)
	}
	if !strings.Contains(answer, "PCMU/8000") || strings.Contains(answer, "opus") || strings.Contains(answer, "PCMA") {
		t.Fatalf("answer does not pick PCMU only:\n%s", answer)
	}
	a.waitConnected(t)
	b.waitConnected(t)
	waitTone(t, b, 440, 3*time.Second)
	waitTone(t, a, 660, 3*time.Second)
	for _, p := range []*peer{a, b} {
		if st := p.s.Stats(); st.Audio.Codec != "PCMU" {
			t.Errorf("%s sends %q", p.name, st.Audio.Codec)
		}
		if tr := p.trackInfos(); len(tr) != 1 || tr[0].Codec != "PCMU" {
			t.Errorf("%s: tracks %+v", p.name, tr)
		}
	}
}

// TestBaresipStyleAnswer strips a=mid and the BUNDLE group from the answer,
// as baresip 1.0 answers: the call must still connect and carry audio
// (without the MID shim pion never fires OnTrack).
func TestBaresipStyleAnswer(t *testing.T) {
	a, b := newPeer(t, "A", 440), newPeer(t, "B", 660)
	ctx := testCtx(t)
	o, err := a.s.CreateOffer(ctx, media.SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	ans, err := b.s.CreateAnswer(ctx, o, media.SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, l := range strings.Split(string(ans), "\r\n") {
		if !strings.HasPrefix(l, "a=mid:") && !strings.HasPrefix(l, "a=group:BUNDLE") {
			kept = append(kept, l)
		}
	}
	stripped := strings.Join(kept, "\r\n")
	if err := a.s.ApplyAnswer(ctx, []byte(stripped)); err != nil {
		t.Fatalf("apply baresip-style answer: %v\n%s", err, stripped)
	}
	a.waitConnected(t)
	waitTone(t, a, 660, 3*time.Second)
	waitTone(t, b, 440, 3*time.Second)
	if len(a.trackInfos()) != 1 {
		t.Fatalf("A tracks %+v", a.trackInfos())
	}
}

func TestCreateAnswerRejectsBadSDP(t *testing.T) {
	src := newPeer(t, "src", 440)
	good, err := src.s.CreateOffer(testCtx(t), media.SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	g := string(good)
	drop := func(prefix string) string {
		var out []string
		for _, l := range strings.Split(g, "\r\n") {
			if !strings.HasPrefix(l, prefix) {
				out = append(out, l)
			}
		}
		return strings.Join(out, "\r\n")
	}
	tests := []struct {
		name  string
		offer string
		want  error
	}{
		{"garbage", "hello world", media.ErrBadSDP},
		{"empty", "", media.ErrBadSDP},
		{"truncated", g[:len(g)/3], media.ErrBadSDP},
		{"no fingerprint", drop("a=fingerprint:"), media.ErrBadSDP},
		{"no ice-ufrag", drop("a=ice-ufrag:"), media.ErrBadSDP},
		{"no ice-pwd", drop("a=ice-pwd:"), media.ErrBadSDP},
		{"plain RTP/AVP", strings.Replace(g, "UDP/TLS/RTP/SAVPF", "RTP/AVP", 1), media.ErrBadSDP},
		{"video only", strings.Replace(g, "m=audio", "m=video", 1), media.ErrBadSDP},
		{"bad fingerprint hash", strings.Replace(g, "a=fingerprint:sha-256", "a=fingerprint:md9", 1), media.ErrBadSDP},
		{"bad fingerprint bytes", regexp.MustCompile(`(a=fingerprint:sha-256 )\S+`).ReplaceAllString(g, "${1}AA:ZZ"), media.ErrBadSDP},
		{"G.729 only", strings.NewReplacer("/SAVPF 0\r\n", "/SAVPF 18\r\n", "a=rtpmap:0 PCMU/8000/1", "a=rtpmap:18 G729/8000").Replace(onlyPCMU(g)), media.ErrNoCommonCodec},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPeer(t, "B", 660)
			_, err := p.s.CreateAnswer(testCtx(t), []byte(tt.offer), media.SendRecv)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v; offer:\n%s", err, tt.want, tt.offer)
			}
			t.Logf("%v", err)
		})
	}
}

func TestCloseIdempotentAndStopsGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		a, b := newPeer(t, "A", 440), newPeer(t, "B", 660)
		connect(t, a, b)
		waitTone(t, b, 440, 3*time.Second)
		for _, p := range []*peer{a, b} {
			for i := 0; i < 3; i++ {
				if err := p.s.Close(); err != nil && i > 0 {
					t.Fatalf("close #%d: %v", i+1, err)
				}
			}
			if _, err := p.s.CreateOffer(testCtx(t), media.SendRecv); !errors.Is(err, media.ErrClosed) {
				t.Fatalf("CreateOffer after Close: %v", err)
			}
			if _, err := p.s.CreateAnswer(testCtx(t), nil, media.SendRecv); !errors.Is(err, media.ErrClosed) {
				t.Fatalf("CreateAnswer after Close: %v", err)
			}
		}
	}()
	// pion winds down a few of its own goroutines just after Close returns.
	deadline := time.Now().Add(5 * time.Second)
	n := runtime.NumGoroutine()
	for n > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	if n > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines %d > %d before the call\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

func TestCloseBeforeNegotiation(t *testing.T) {
	before := runtime.NumGoroutine()
	s, err := New(media.Options{AudioIn: audio.Silence(), AudioOut: audio.Null()}, media.Events{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("goroutines %d > %d", n, before)
	}
	if _, err := New(media.Options{}, media.Events{}); err == nil {
		t.Fatal("New without AudioIn/AudioOut succeeded")
	}
}

func FuzzCreateAnswer(f *testing.F) {
	f.Add([]byte(baresipAnswer))
	f.Add([]byte("v=0\r\n"))
	f.Add([]byte("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\n"))
	f.Add([]byte(strings.Replace(baresipAnswer, "a=sendrecv", "a=inactive", 1)))
	f.Add([]byte(strings.Replace(baresipAnswer, "m=audio 40000", "m=audio 40000/2", 1)))
	f.Fuzz(func(t *testing.T, offer []byte) {
		s, err := newSession(media.Options{AudioIn: audio.Silence(), AudioOut: audio.Null(), LoopbackOnly: true}, media.Events{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		ans, err := s.CreateAnswer(ctx, offer, media.SendRecv)
		if err != nil {
			if !errors.Is(err, media.ErrBadSDP) && !errors.Is(err, media.ErrNoCommonCodec) {
				t.Fatalf("error not ErrBadSDP/ErrNoCommonCodec: %v", err)
			}
			return
		}
		if _, err := parseSDP(ans); err != nil {
			t.Fatalf("our answer does not parse: %v", err)
		}
	})
}
