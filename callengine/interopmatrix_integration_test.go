package callengine_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine"
	"github.com/parlo-voip/parlo/internal/testpeers"
)

// matrixResult is one cell of the interop matrix, as printed.
type matrixResult struct {
	peer, variant, direction string
	setup                    time.Duration
	media                    string // path/srtp Parlo's stats report
	outcome                  string
}

// matrixCell places one call between Parlo on default settings and a peer,
// in one direction, checks a tone each way and returns the set-up time
// (dial to 200 OK / onCallAccepted on the dialling side) and Parlo's media.
type matrixCell struct {
	peer, variant string
	parloDials    bool
	require       string // executable the peer needs
	run           func(t *testing.T, parloDials bool) (time.Duration, string)
}

// TestInteropMatrixIntegration is the interop matrix: every peer and
// variant, both directions, default settings on both ends unless the row is
// about a setting (the peer's SRTP). Each cell: 660 Hz from Parlo heard by
// the peer, the peer's 440 Hz heard by Parlo, set-up time recorded; the
// table is logged at the end (README's verified-peers table matches it).
// Browser cells (SIP.js, Wazo SDK) and the Kamailio + rtpengine
// deployment are further rows of the same table.
func TestInteropMatrixIntegration(t *testing.T) {
	var (
		mu      sync.Mutex
		results []matrixResult
	)
	t.Cleanup(func() {
		var b strings.Builder
		b.WriteString("\n| peer | variant | direction | set-up | Parlo media | result |\n|---|---|---|---|---|---|\n")
		for _, r := range results {
			fmt.Fprintf(&b, "| %s | %s | %s | %v | %s | %s |\n", r.peer, r.variant, r.direction, r.setup.Round(time.Millisecond), r.media, r.outcome)
		}
		t.Log(b.String())
	})
	var cells []matrixCell
	for _, dials := range []bool{true, false} {
		cells = append(cells, matrixCell{"Parlo", "default", dials, "", matrixParlo})
		for _, v := range []struct{ name, enc, nat string }{
			{"plain RTP", "", ""},
			{"SDES", "srtp-mand", ""},
			{"DTLS+ICE", "dtls_srtp", "ice"},
		} {
			v := v
			cells = append(cells, matrixCell{"baresip 1.0", v.name, dials, "baresip", func(t *testing.T, d bool) (time.Duration, string) {
				return matrixBaresip(t, d, v.enc, v.nat)
			}})
		}
		for _, v := range []struct{ name, srtp string }{
			{"plain RTP (defaults)", "none"},
			{"SDES", "srtp"},
		} {
			v := v
			cells = append(cells, matrixCell{"Linphone 5.1", v.name, dials, "linphonec", func(t *testing.T, d bool) (time.Duration, string) {
				return matrixLinphone(t, d, v.srtp)
			}})
		}
		// A Kamailio PBX with rtpengine anchoring media: "Parlo → peer" is
		// the UDP account calling, "peer → Parlo" the other party calling it.
		cells = append(cells,
			matrixCell{"Kamailio+rtpengine", "Parlo UDP ↔ Parlo WS", dials, "rtpengine", func(t *testing.T, d bool) (time.Duration, string) {
				return rtpengineParlo(t, startPBX(t), !d)
			}},
			matrixCell{"Kamailio+rtpengine", "Parlo UDP ↔ baresip SDES", dials, "rtpengine", func(t *testing.T, d bool) (time.Duration, string) {
				return rtpengineBaresip(t, startPBX(t), d)
			}},
			// Hold and resume by re-INVITE through the relay: the side
			// that dials holds (Parlo on UDP in "Parlo → peer", Parlo on
			// WebSocket in "peer → Parlo").
			matrixCell{"Kamailio+rtpengine", "hold/resume Parlo UDP ↔ Parlo WS", dials, "rtpengine", func(t *testing.T, d bool) (time.Duration, string) {
				return rtpengineHoldParlo(t, startPBX(t), !d)
			}},
		)
		if !dials {
			// Late offer is the caller's choice: Linphone calls Parlo
			// with an offerless INVITE.
			cells = append(cells, matrixCell{"Kamailio+rtpengine", "late offer Linphone → Parlo UDP", dials, "linphonec", func(t *testing.T, _ bool) (time.Duration, string) {
				testpeers.Require(t, "rtpengine")
				return rtpengineLateOffer(t, startPBX(t))
			}})
		}
	}
	for _, c := range cells {
		dir := "Parlo → peer"
		if !c.parloDials {
			dir = "peer → Parlo"
		}
		name := strings.NewReplacer(" ", "_", "→", "to", "(", "", ")", "").Replace(c.peer + "/" + c.variant + "/" + dir)
		t.Run(name, func(t *testing.T) {
			if c.require != "" {
				testpeers.Require(t, c.require)
			}
			r := matrixResult{peer: c.peer, variant: c.variant, direction: dir, outcome: "FAIL"}
			defer func() {
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
			}()
			r.setup, r.media = c.run(t, c.parloDials)
			if r.outcome = "tones both ways"; strings.HasPrefix(r.media, "refused") {
				r.outcome, r.media = r.media, "—"
			}
		})
	}
}

// matrixPhone is Parlo on default settings (direct mode), sending 660 Hz.
func matrixPhone(t *testing.T, auto bool) *classicPhone {
	t.Helper()
	return newEventPhone(t, 660, callengine.Options{Listen: []string{"udp:127.0.0.1:0"}, AutoAnswer: auto})
}

// sendFor waits until Parlo sent n audio packets on call id (so the peer
// has heard enough of it).
func sendFor(t *testing.T, p *classicPhone, id string, n uint64) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if st, _ := p.Stats(id); st.Audio.PacketsSent >= n {
			return
		}
	}
	t.Fatalf("Parlo sent fewer than %d packets", n)
}

func mediaOf(p *classicPhone, id string) string {
	st, err := p.Stats(id)
	if err != nil {
		return "?"
	}
	return st.Path + "/" + st.SRTP
}

func matrixParlo(t *testing.T, _ bool) (time.Duration, string) {
	t.Helper()
	a := matrixPhone(t, false)
	b := newEventPhone(t, 440, callengine.Options{Listen: []string{"udp:127.0.0.1:0"}, AutoAnswer: true})
	ctx := ctxFor(t, 20*time.Second)
	start := time.Now()
	s, err := a.Call(ctx, b.uri(), callengine.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a.waitFor(t, callengine.EventCallAccepted, s.SipCallID, 10*time.Second)
	setup := time.Since(start)
	a.waitTone(t, 440, 5*time.Second)
	b.waitTone(t, 660, 5*time.Second)
	m := mediaOf(a, s.SipCallID)
	if err := a.Hangup(ctx, s.SipCallID); err != nil {
		t.Fatal(err)
	}
	return setup, m
}

func matrixBaresip(t *testing.T, parloDials bool, enc, nat string) (time.Duration, string) {
	t.Helper()
	opts := testpeers.BaresipOptions{MediaEnc: enc, MediaNAT: nat, ToneHz: 440, AutoAnswer: parloDials}
	bs := testpeers.StartBaresip(t, opts)
	p := matrixPhone(t, !parloDials)
	ctx := ctxFor(t, 30*time.Second)
	var (
		setup time.Duration
		id    string
	)
	// baresip without mediaenc has no SRTP at all: Parlo's default policy
	// (preferred) tries WebRTC and SDES, gets 488 for both, then offers
	// plain RTP; baresip's plain offer is answered plainly.
	if parloDials {
		start := time.Now()
		s, err := p.Call(ctx, bs.URI(), callengine.CallOptions{})
		if err != nil {
			t.Fatal(err)
		}
		id = s.SipCallID
		p.waitFor(t, callengine.EventCallAccepted, id, 10*time.Second)
		setup = time.Since(start)
	} else {
		var err error
		setup, err = bs.DialAndWaitEstablished(ctx, p.uri())
		if err != nil {
			t.Fatalf("baresip dial: %v\n%s", err, bs.Log())
		}
		id = p.wait(t, callengine.EventCallAccepted, 5*time.Second)
	}
	p.waitTone(t, 440, 5*time.Second)
	sendFor(t, p, id, 100)
	m := mediaOf(p, id)
	if err := p.Hangup(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := bs.WaitEvent(ctx, "CALL_CLOSED"); err != nil {
		t.Fatal(err)
	}
	if hz := baresipHeard(t, bs); math.Abs(hz-660) > 10 {
		t.Fatalf("baresip heard %.1f Hz, want 660", hz)
	}
	return setup, m
}

func matrixLinphone(t *testing.T, parloDials bool, srtp string) (time.Duration, string) {
	t.Helper()
	// TCP: Linphone listens on TCP by default, and the WebRTC offer is too
	// big for UDP.
	lin := testpeers.StartLinphone(t, testpeers.LinphoneOptions{SRTP: srtp, TCP: true, AutoAnswer: parloDials, ToneHz: 440})
	p := matrixPhone(t, !parloDials)
	ctx := ctxFor(t, 30*time.Second)
	var (
		setup     time.Duration
		id, linID string
	)
	if parloDials {
		start := time.Now()
		s, err := p.Call(ctx, lin.URI(), callengine.CallOptions{})
		if err != nil {
			t.Fatal(err)
		}
		id = s.SipCallID
		p.waitFor(t, callengine.EventCallAccepted, id, 15*time.Second)
		setup = time.Since(start)
		linID = lastLinphoneCall(t, lin)
	} else {
		var err error
		setup, linID, err = lin.Dial(ctx, p.uri())
		if err != nil {
			t.Fatalf("linphone dial: %v\n%s", err, lin.SIPTrace())
		}
		id = p.wait(t, callengine.EventCallAccepted, 5*time.Second)
	}
	p.waitTone(t, 440, 5*time.Second)
	sendFor(t, p, id, 100)
	m := mediaOf(p, id)
	if err := p.Hangup(ctx, id); err != nil {
		t.Fatal(err)
	}
	ectx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := lin.WaitEnded(ectx, linID); err != nil {
		t.Fatalf("linphone did not end the call: %v", err)
	}
	if hz := linphoneHeard(t, lin); math.Abs(hz-660) > 10 {
		t.Fatalf("linphone heard %.1f Hz, want 660", hz)
	}
	return setup, m
}
