package callengine

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/callengine/media/classic"
	"github.com/parlo-voip/parlo/internal/testpeers"
)

// impairRig routes a classic-path call's media through user-space
// impairment relays (testpeers.ImpairRelay), one per m-line: each phone's
// SDP is rewritten so its peer sends to the relay's side, which forwards to
// the port the phone really listens on. This stands in for tc-netem, which
// this kernel lacks: the SDP connection address is the one thing a SIP
// peer uses to decide where media goes, so nothing else changes.
type impairRig struct {
	t   *testing.T
	mu  sync.Mutex
	imp testpeers.Impairment
	rel []*testpeers.ImpairRelay // by m-line index
}

// relay returns the relay of m-line i, starting it on first use.
func (r *impairRig) relay(i int) *testpeers.ImpairRelay {
	r.mu.Lock()
	defer r.mu.Unlock()
	for len(r.rel) <= i {
		r.rel = append(r.rel, testpeers.StartImpairRelay(r.t, r.imp))
	}
	return r.rel[i]
}

// set changes every relay's impairment, and that of relays to come.
func (r *impairRig) set(imp testpeers.Impairment) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.imp = imp
	for _, x := range r.rel {
		x.Set(imp)
	}
}

var (
	mLine    = regexp.MustCompile(`^m=(\w+) (\d+) `)
	rtcpLine = regexp.MustCompile(`^a=rtcp:(\d+)`)
)

// rewrite points the SDP a phone wrote (side A or B of the relays) at the
// relays: its m-line ports become the relay side its peer sends to, and the
// relay learns where the phone really is. The rig needs rtcp-mux (RTCP on
// the RTP port), which both classic Parlos negotiate.
func (r *impairRig) rewrite(sdp []byte, sideA bool) []byte {
	lines := bytes.Split(sdp, []byte("\r\n"))
	idx := -1
	var newPort int
	for n, l := range lines {
		if m := mLine.FindSubmatch(l); m != nil {
			idx++
			port, _ := strconv.Atoi(string(m[2]))
			if port == 0 {
				newPort = 0
				continue
			}
			rel := r.relay(idx)
			at := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
			if sideA {
				rel.SetEndpoints(at, nil)
				newPort = rel.SideB().Port
			} else {
				rel.SetEndpoints(nil, at)
				newPort = rel.SideA().Port
			}
			lines[n] = []byte(fmt.Sprintf("m=%s %d %s", m[1], newPort, l[len(m[0]):]))
			continue
		}
		if m := rtcpLine.FindSubmatch(l); m != nil && newPort != 0 {
			lines[n] = []byte(fmt.Sprintf("a=rtcp:%d%s", newPort, l[len(m[0]):]))
		}
	}
	return bytes.Join(lines, []byte("\r\n"))
}

// impairedSession rewrites the SDP of one phone's classic session.
type impairedSession struct {
	media.Session
	rig   *impairRig
	sideA bool
}

func (s *impairedSession) CreateOffer(ctx context.Context, dir media.Direction) ([]byte, error) {
	sdp, err := s.Session.CreateOffer(ctx, dir)
	if err != nil {
		return nil, err
	}
	return s.rig.rewrite(sdp, s.sideA), nil
}

func (s *impairedSession) CreateAnswer(ctx context.Context, offer []byte, local media.Direction) ([]byte, error) {
	sdp, err := s.Session.CreateAnswer(ctx, offer, local)
	if err != nil {
		return nil, err
	}
	return s.rig.rewrite(sdp, s.sideA), nil
}

// through makes a phone's classic sessions go through the rig's relays.
func (r *impairRig) through(sideA bool) func(*Options) {
	return func(o *Options) {
		classicPath(o)
		o.ClassicMediaFactory = func(mo media.Options, ev media.Events) (media.Session, error) {
			s, err := classic.New(mo, ev)
			if err != nil {
				return nil, err
			}
			return &impairedSession{Session: s, rig: r, sideA: sideA}, nil
		}
	}
}

// waitPlayoutDelay polls until ok accepts the playout delay of a call.
func waitPlayoutDelay(t *testing.T, p *testPhone, id string, timeout time.Duration, ok func(ms float64) bool) float64 {
	t.Helper()
	var st media.Stats
	for end := time.Now().Add(timeout); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		if st, _ = p.Stats(id); ok(st.Audio.PlayoutDelayMs) {
			return st.Audio.PlayoutDelayMs
		}
	}
	return st.Audio.PlayoutDelayMs
}

// The audio jitter buffer follows the path: a classic Parlo ↔ Parlo call
// through a relay that adds 50 ms ± 20 ms, then none. The playout delay
// grows under the jitter, the tone plays on, and the delay comes back down
// once the jitter is gone.
func TestJitterBufferAdaptsIntegration(t *testing.T) {
	rig := &impairRig{t: t}
	a := newTestPhone(t, testPhoneOpts{toneHz: 440, tune: rig.through(true)})
	b := newTestPhone(t, testPhoneOpts{toneHz: 660, tune: rig.through(false)})
	_, bID := connect(t, a, b)
	b.waitTone(t, 440, 5*time.Second)
	clean := waitPlayoutDelay(t, b, bID, 5*time.Second, func(ms float64) bool { return ms > 0 && ms <= 60 })

	rig.set(testpeers.Impairment{Delay: 50 * time.Millisecond, Jitter: 20 * time.Millisecond})
	start := time.Now()
	grown := waitPlayoutDelay(t, b, bID, 10*time.Second, func(ms float64) bool { return ms > clean })
	growIn := time.Since(start)
	b.waitTone(t, 440, 5*time.Second)
	st, _ := b.Stats(bID)

	rig.set(testpeers.Impairment{})
	start = time.Now()
	back := waitPlayoutDelay(t, b, bID, 15*time.Second, func(ms float64) bool { return ms <= clean })
	backIn := time.Since(start)
	t.Logf("FIGURE jitter.adapt: playout delay %.0f ms on a clean path, %.0f ms %.1f s into 50 ms ± 20 ms (jitter %.1f ms measured), back to %.0f ms %.1f s after the jitter ended",
		clean, grown, growIn.Seconds(), st.Audio.JitterMs, back, backIn.Seconds())
	if clean <= 0 || clean > 60 {
		t.Fatalf("playout delay on a clean path %.0f ms, want (0, 60]", clean)
	}
	if grown <= clean {
		t.Fatalf("playout delay under 50 ms ± 20 ms jitter stayed %.0f ms (clean %.0f ms)", grown, clean)
	}
	if back > clean {
		t.Fatalf("playout delay 15 s after the jitter ended %.0f ms, want back to %.0f ms", back, clean)
	}
}

// The impaired path: 5 % loss plus 50 ms ± 20 ms jitter on every
// media packet of a classic Parlo ↔ Parlo call with a moving screen share.
// The tone is still detected, the share is decoded at ≥ 20 fps, and the
// NACK and PLI counts are reported.
func TestShareUnderLossAndJitterIntegration(t *testing.T) {
	rig := &impairRig{t: t}
	m := startClassicMovingShareVia(t, rig)
	rig.set(testpeers.Impairment{Delay: 50 * time.Millisecond, Jitter: 20 * time.Millisecond, LossPercent: 5})
	w0 := m.measure(0)
	// Let the jitter buffer and the NACK repair settle, then measure.
	time.Sleep(2 * time.Second)
	w := m.measure(5 * time.Second)
	m.b.waitTone(t, 440, 5*time.Second)
	m.a.waitTone(t, 660, 5*time.Second)
	rx, tx := w.receiver, w.sender
	nacks := rx.Video.Received.NACKsSent - w0.receiver.Video.Received.NACKsSent
	nacked := tx.Video.Sent.NACKsReceived - w0.sender.Video.Sent.NACKsReceived
	plis := rx.Video.Received.PLIsSent - w0.receiver.Video.Received.PLIsSent
	var relayed, dropped uint64
	for _, r := range rig.rel {
		s := r.Stats()
		relayed, dropped = relayed+s.Forwarded, dropped+s.Dropped
	}
	t.Logf("FIGURE impair.share: 5 %% loss + 50 ms ± 20 ms: %.1f fps sent, %.1f fps decoded; %d NACKs sent (%d reached the sender), %d PLIs, %d keyframes asked in 5 s; audio: playout delay %.0f ms, %d FEC-rebuilt frames, tone heard; relay dropped %d of %d datagrams",
		w.sentFPS, w.decodedFPS, nacks, nacked, plis, w.keyframeRequests, rx.Audio.PlayoutDelayMs, rx.Audio.FECDecoded, dropped, relayed+dropped)
	if w.decodedFPS < 20 {
		t.Errorf("B decodes %.1f fps under 5 %% loss + 50 ms ± 20 ms, want ≥ 20", w.decodedFPS)
	}
	if nacks == 0 || nacked == 0 {
		t.Errorf("no NACK under 5 %% loss: receiver sent %d, sender got %d", nacks, nacked)
	}
	if dropped == 0 {
		t.Errorf("the relay dropped nothing: the impairment was not in the path")
	}
}

// startClassicMovingShareVia is startClassicMovingShare with the media
// through rig's relays (no impairment until the test sets one).
func startClassicMovingShareVia(t *testing.T, rig *impairRig) *movingShare {
	t.Helper()
	d := testpeers.StartDummyTwoMonitors(t)
	return startClassicMovingShareOn(t, d, rig.through(true), rig.through(false))
}
