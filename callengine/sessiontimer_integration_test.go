package callengine

import (
	"strconv"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/internal/testpeers"
)

// shortTimers makes RFC 4028 timers testable in seconds: a 4 s session
// interval (refresh every 2 s) and a Min-SE far under the RFC's 90 s.
func shortTimers(se, minSE time.Duration) func(*Options) {
	return func(o *Options) { o.SessionExpires, o.MinSE = se, minSE }
}

// waitRefreshes polls until call id on tp counted n session refreshes,
// sent (refresher) or received.
func waitRefreshes(t *testing.T, tp *testPhone, id string, sent bool, n int64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st, err := tp.SessionTimer(id)
		if err != nil {
			t.Fatalf("SessionTimer: %v", err)
		}
		if !st.Active {
			t.Fatal("no session timer on the call")
		}
		got := st.Received
		if sent {
			got = st.Sent
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d session refreshes within %s, want %d", got, timeout, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Through Kamailio, Parlo ↔ Parlo: the caller asks for a 4 s session
// (Supported: timer, Session-Expires, Min-SE), the callee makes it the
// refresher, and it refreshes by UPDATE (the callee allows it) every 2 s.
// When the callee stops hearing the refreshes (its SIP port dropped), it
// ends the call itself with BYE before the interval runs out (§10).
// A callee whose Min-SE is over the asked interval answers 422 and the
// caller retries with that Min-SE (§7.4).
func TestSessionTimerKamailioIntegration(t *testing.T) {
	testpeers.Require(t, "kamailio")
	nftTable(t) // inside the test namespace only
	k := testpeers.StartKamailio(t, testpeers.KamailioOptions{Users: map[string]string{"alice": "secret-a", "bob": "secret-b"}})
	a := newTestPhone(t, testPhoneOpts{toneHz: 440, tune: shortTimers(4*time.Second, time.Second),
		account: &Account{URI: "sip:alice@" + k.Domain(), Password: "secret-a", Registrar: "sip:" + k.UDPAddr()}})
	b := newTestPhone(t, testPhoneOpts{toneHz: 660, auto: true, tune: shortTimers(4*time.Second, time.Second),
		account: &Account{URI: "sip:bob@" + k.Domain(), Password: "secret-b", Registrar: "sip:" + k.UDPAddr()}})
	ctx := ctxT(t, 60*time.Second)
	for _, p := range []*testPhone{a, b} {
		if err := p.Register(ctx); err != nil {
			t.Fatalf("register: %v\n%s", err, k.Log())
		}
	}
	s, err := a.Call(ctx, "bob", CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	id := s.SipCallID
	a.rec.wait(t, EventCallAccepted, id, 10*time.Second)
	b.rec.wait(t, EventCallAccepted, id, 10*time.Second)
	start := time.Now()
	waitRefreshes(t, b, id, false, 3, 10*time.Second)
	figure(t, "sessiontimer.kamailio.refreshes", "3 UPDATE refreshes of a 4 s session in %.1f s", time.Since(start).Seconds())
	if st, _ := a.SessionTimer(id); st.Sent < 3 || !st.Refresher || st.Interval != 4*time.Second {
		t.Fatalf("caller's timer %+v, want the 4 s refresher with 3 refreshes sent", st)
	}
	if st, _ := b.SessionTimer(id); st.Refresher || st.Sent != 0 {
		t.Fatalf("callee's timer %+v, want it to wait for refreshes, not send them", st)
	}
	b.waitTone(t, 440, 5*time.Second)

	// The callee hears nothing from Kamailio any more; media still flows
	// (it goes direct), so only the session timer can end the call.
	table := nftTable(t)
	nftRun(t, "add", "rule", "inet", table, "in", "udp", "dport", strconv.Itoa(b.Listeners()[0].Port), "drop")
	cut := time.Now()
	ev := b.rec.wait(t, EventCallFailed, id, 10*time.Second)
	if p, _ := ev.Payload.(CallStatusPayload); p.Reason != string(EndSessionExpired) {
		t.Fatalf("callee ended with %+v, want reason %s", ev.Payload, EndSessionExpired)
	}
	took := time.Since(cut)
	if took > 4*time.Second {
		t.Fatalf("callee ended %s after the last refresh could arrive, the session is 4 s", took)
	}
	a.rec.wait(t, EventCallEnded, id, 10*time.Second)
	figure(t, "sessiontimer.kamailio.expiry", "callee BYE %.1f s after refreshes stopped (4 s session)", took.Seconds())

	// 422: a callee that wants at least 6 s (direct, no registrar).
	d := newTestPhone(t, testPhoneOpts{toneHz: 440, tune: shortTimers(4*time.Second, time.Second)})
	c := newTestPhone(t, testPhoneOpts{toneHz: 660, auto: true, tune: shortTimers(6*time.Second, 6*time.Second)})
	s2, err := d.Call(ctx, c.uri(), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d.rec.wait(t, EventCallAccepted, s2.SipCallID, 10*time.Second)
	if st, _ := d.SessionTimer(s2.SipCallID); !st.Active || st.Interval != 6*time.Second {
		t.Fatalf("caller's timer after the 422 retry: %+v, want a 6 s session", st)
	}
	if n := c.rec.count(EventCallIncoming, ""); n != 1 {
		t.Fatalf("the callee rang %d times, want once (the 422 is not a call)", n)
	}
}

// baresip 1.0 has no session timers: calling Parlo, it sends no
// Supported: timer, so Parlo, the UAS, makes itself the refresher
// (RFC 4028 §9) and refreshes by re-INVITE, which baresip answers; the
// call and its audio go on. Calling baresip, its 200 has no
// Session-Expires, so there is no timer (§7.2).
func TestSessionTimerBaresipIntegration(t *testing.T) {
	a := newTestPhone(t, testPhoneOpts{toneHz: 660, auto: true, tune: shortTimers(4*time.Second, time.Second)})
	bs := testpeers.StartBaresip(t, testpeers.BaresipOptions{
		MediaEnc: "dtls_srtp", MediaNAT: "ice", ToneHz: 440, AutoAnswer: true,
		ExtraConfig: []string{"rtcp_mux yes"},
	})
	ctx := ctxT(t, 40*time.Second)
	if _, err := bs.DialAndWaitEstablished(ctx, a.uri()); err != nil {
		t.Fatalf("baresip dial: %v\n%s", err, bs.Log())
	}
	in := a.rec.wait(t, EventCallIncoming, "", 5*time.Second)
	id := in.Session.SipCallID
	a.rec.wait(t, EventCallAccepted, id, 5*time.Second)
	start := time.Now()
	waitRefreshes(t, a, id, true, 2, 10*time.Second)
	figure(t, "sessiontimer.baresip.refreshes", "2 re-INVITE refreshes of a 4 s session in %.1f s", time.Since(start).Seconds())
	a.waitTone(t, 440, 5*time.Second)
	if s := a.Calls(); len(s) != 1 || !s[0].IsEstablished() {
		t.Fatalf("call after refreshes: %+v", s)
	}
	if err := a.Hangup(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := bs.WaitEvent(ctx, "CALL_CLOSED"); err != nil {
		t.Fatal(err)
	}

	s, err := a.Call(ctx, bs.URI(), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a.rec.wait(t, EventCallAccepted, s.SipCallID, 10*time.Second)
	if st, _ := a.SessionTimer(s.SipCallID); st.Active {
		t.Fatal("a session timer runs although baresip's 200 had no Session-Expires (RFC 4028 §7.2)")
	}
}
