package callengine

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine/audio"
	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/callengine/media/webrtcmedia"
)

// recorder keeps every event of one phone for assertions.
type recorder struct {
	mu     sync.Mutex
	events []Event
	cond   chan struct{}
	sub    *Subscription
	done   chan struct{}
}

func newRecorder(p *Phone) *recorder {
	r := &recorder{cond: make(chan struct{}, 1), sub: p.Subscribe(), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for ev := range r.sub.C() {
			r.mu.Lock()
			r.events = append(r.events, ev)
			r.mu.Unlock()
			select {
			case r.cond <- struct{}{}:
			default:
			}
		}
	}()
	return r
}

// wait returns the first event named name (for callID, if not empty) at or
// after index from, failing the test after timeout.
func (r *recorder) wait(t testing.TB, name, callID string, timeout time.Duration) Event {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		r.mu.Lock()
		for _, ev := range r.events {
			if ev.Name == name && (callID == "" || (ev.Session != nil && ev.Session.SipCallID == callID)) {
				r.mu.Unlock()
				return ev
			}
		}
		r.mu.Unlock()
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("no %s event within %s; got %v", name, timeout, r.names(callID))
		}
		select {
		case <-r.cond:
		case <-time.After(min(left, 50*time.Millisecond)):
		}
	}
}

// count returns how many name events were seen for callID.
func (r *recorder) count(name, callID string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, ev := range r.events {
		if ev.Name == name && (callID == "" || (ev.Session != nil && ev.Session.SipCallID == callID)) {
			n++
		}
	}
	return n
}

// names lists the event names seen for callID, in order.
func (r *recorder) names(callID string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, ev := range r.events {
		if callID == "" || (ev.Session != nil && ev.Session.SipCallID == callID) {
			out = append(out, ev.Name)
		}
	}
	return out
}

// testPhone is a Phone on loopback that sends a tone and records what it hears.
type testPhone struct {
	*Phone
	rec *recorder

	mu  sync.Mutex
	ear []*audio.ToneDetector // one per call, in call order
}

type testPhoneOpts struct {
	toneHz       float64
	listen       string
	account      *Account
	auto         bool
	display      string
	turn         []media.TURNServer
	relayOnlyOff bool // with turn: gather every candidate, not relay only
	iceTimeout   time.Duration
	xferPolicy   TransferPolicy
	srtp         media.SRTPPolicy // "" = the default (preferred)
	xferWait     time.Duration
	// wrap, when set, wraps each call's media session (test hooks).
	wrap func(media.Session) media.Session
	// audioIn, when set, replaces the tone as what calls send.
	audioIn func() (audio.Source, error)
	// earHistory is how much received audio each call keeps (default 3 s).
	earHistory time.Duration
	// tune, when set, changes the Options before NewPhone.
	tune func(*Options)
}

func newTestPhone(t testing.TB, o testPhoneOpts) *testPhone {
	t.Helper()
	if o.listen == "" {
		o.listen = "udp:127.0.0.1:0"
	}
	tp := &testPhone{}
	if o.audioIn == nil {
		o.audioIn = func() (audio.Source, error) { return audio.NewTone(o.toneHz, 0.3), nil }
	}
	opts := Options{
		Listen:                 []string{o.listen},
		Account:                o.account,
		AutoAnswer:             o.auto,
		TransferPolicy:         o.xferPolicy,
		SRTP:                   o.srtp,
		TransferConsentTimeout: o.xferWait,
		Display:                o.display,
		TURNServers:            o.turn,
		RelayOnly:              len(o.turn) > 0 && !o.relayOnlyOff,
		ICEDisconnectedTimeout: o.iceTimeout,
		ICEFailedTimeout:       3 * o.iceTimeout,
		MediaFactory: func(mo media.Options, ev media.Events) (media.Session, error) {
			s, err := webrtcmedia.New(mo, ev)
			if err != nil || o.wrap == nil {
				return s, err
			}
			return o.wrap(s), nil
		},
		NewAudioIn: o.audioIn,
		NewAudioOut: func() (audio.Sink, error) {
			d := audio.NewToneDetector(max(o.earHistory, 3*time.Second))
			tp.mu.Lock()
			tp.ear = append(tp.ear, d)
			tp.mu.Unlock()
			return d, nil
		},
	}
	if o.tune != nil {
		o.tune(&opts)
	}
	p, err := NewPhone(opts)
	if err != nil {
		t.Fatalf("NewPhone: %v", err)
	}
	tp.Phone = p
	tp.rec = newRecorder(p)
	t.Cleanup(func() { p.Close() })
	return tp
}

func (tp *testPhone) lastEar(t testing.TB) *audio.ToneDetector {
	t.Helper()
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if len(tp.ear) == 0 {
		t.Fatal("no call audio output was opened")
	}
	return tp.ear[len(tp.ear)-1]
}

// waitTone polls until the last call hears hz (±10 Hz) at a real level.
func (tp *testPhone) waitTone(t testing.TB, hz float64, timeout time.Duration) {
	t.Helper()
	waitToneOn(t, tp.lastEar(t), hz, timeout)
}

// ear returns the audio output of the i-th call this phone opened media for.
func (tp *testPhone) earAt(t testing.TB, i int) *audio.ToneDetector {
	t.Helper()
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if i >= len(tp.ear) {
		t.Fatalf("only %d call audio outputs", len(tp.ear))
	}
	return tp.ear[i]
}

// waitToneOn polls until ear hears hz (±10 Hz) at a real level.
func waitToneOn(t testing.TB, ear *audio.ToneDetector, hz float64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var got, rms float64
	for time.Now().Before(deadline) {
		got, rms = ear.Frequency(300 * time.Millisecond)
		if math.Abs(got-hz) <= 10 && rms > 0.15 { // a 0.3-amplitude sine has rms 0.21: most of the window is tone
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("expected %.0f Hz tone, last heard %.1f Hz at rms %.4f", hz, got, rms)
}

// waitSilence polls until the last call hears (almost) nothing.
func (tp *testPhone) waitSilence(t testing.TB, timeout time.Duration) {
	t.Helper()
	ear := tp.lastEar(t)
	deadline := time.Now().Add(timeout)
	var rms float64
	for time.Now().Before(deadline) {
		_, rms = ear.Frequency(300 * time.Millisecond)
		if rms < 0.005 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("expected silence, rms still %.4f", rms)
}

func (tp *testPhone) uri() string {
	l := tp.Listeners()[0]
	return fmt.Sprintf("sip:parlo@%s:%d", l.Host, l.Port)
}

func ctxT(t testing.TB, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// waitCount polls until n events named name (for callID) were seen; events
// arrive through the subscription asynchronously.
func (r *recorder) waitCount(t testing.TB, name, callID string, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for r.count(name, callID) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d %s events within %s, want %d; events: %v; errors: %v", r.count(name, callID), name, timeout, n, r.names(callID), r.errors())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := r.count(name, callID); got != n {
		t.Fatalf("%d %s events, want exactly %d", got, name, n)
	}
}

// errors lists the errors of onCallError events, for failure messages.
func (r *recorder) errors() []any {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []any
	for _, ev := range r.events {
		if ev.Name == EventCallError {
			out = append(out, payloadOf[CallStatusPayload](ev).Error)
		}
	}
	return out
}

// consentTo answers the next transfer request on call id (AcceptTransfer
// or DeclineTransfer) from a goroutine, as a user would, and hands the
// onTransferRequested event to the test.
func (tp *testPhone) consentTo(t testing.TB, id string, accept bool) <-chan Event {
	t.Helper()
	out := make(chan Event, 1)
	done := make(chan struct{})
	seen := tp.rec.count(EventTransferRequested, id) // answer the next one only
	t.Cleanup(func() { <-done })
	go func() {
		defer close(done)
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			tp.rec.mu.Lock()
			var ev *Event
			n := 0
			for i := range tp.rec.events {
				e := tp.rec.events[i]
				if e.Name == EventTransferRequested && e.Session != nil && e.Session.SipCallID == id {
					if n == seen {
						ev = &e
						break
					}
					n++
				}
			}
			tp.rec.mu.Unlock()
			if ev != nil {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				var err error
				if accept {
					err = tp.AcceptTransfer(ctx, id)
				} else {
					err = tp.DeclineTransfer(ctx, id)
				}
				cancel()
				if err != nil {
					t.Errorf("answering the transfer request: %v", err)
				}
				out <- *ev
				return
			}
			time.Sleep(20 * time.Millisecond) // polling; rec.cond belongs to wait
		}
		t.Errorf("no onTransferRequested on %s", id)
		close(out)
	}()
	return out
}

// payloadOf is the event's payload as T (the zero T when it is another).
func payloadOf[T EventPayload](ev Event) T {
	p, _ := ev.Payload.(T)
	return p
}
