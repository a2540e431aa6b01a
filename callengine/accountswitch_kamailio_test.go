package callengine

import (
	"errors"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/internal/testpeers"
)

// TestSetAccountKamailioIntegration switches a running phone from alice to
// carol while a call on alice is up: the registrar forgets alice (a call to
// her gets 404 from Kamailio's lookup), carol receives calls, and the call
// in progress goes on and ends normally.
func TestSetAccountKamailioIntegration(t *testing.T) {
	testpeers.Require(t, "kamailio")
	k := testpeers.StartKamailio(t, testpeers.KamailioOptions{Users: map[string]string{"alice": "pa", "bob": "pb", "carol": "pc"}})
	acct := func(user, pass string) *Account {
		return &Account{URI: "sip:" + user + "@" + k.Domain(), Password: pass, Registrar: "sip:" + k.UDPAddr()}
	}
	p := newTestPhone(t, testPhoneOpts{toneHz: 440, account: acct("alice", "pa")})
	bob := newTestPhone(t, testPhoneOpts{toneHz: 660, account: acct("bob", "pb")})
	ctx := ctxT(t, 40*time.Second)
	for _, ph := range []*testPhone{p, bob} {
		if err := ph.Register(ctx); err != nil {
			t.Fatalf("register: %v\n%s", err, k.Log())
		}
	}

	// A call on alice, up while the account changes.
	first, err := bob.Call(ctx, "alice", CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.rec.wait(t, EventCallIncoming, first.SipCallID, 5*time.Second)
	if err := p.Accept(ctx, first.SipCallID); err != nil {
		t.Fatal(err)
	}
	p.waitTone(t, 660, 5*time.Second)

	// A bad account is refused before the working line is dropped.
	if err := p.SetAccount(ctx, &Account{URI: "carol@nowhere"}); !errors.Is(err, ErrBadAccount) {
		t.Fatalf("SetAccount(bad) = %v, want ErrBadAccount", err)
	}
	if n := p.rec.count(EventUnregistered, ""); n != 0 {
		t.Fatalf("a refused account un-registered the old one (%d events)", n)
	}

	start := time.Now()
	if err := p.SetAccount(ctx, acct("carol", "pc")); err != nil {
		t.Fatalf("SetAccount(carol): %v\n%s", err, k.Log())
	}
	took := time.Since(start)
	p.rec.wait(t, EventUnregistered, "", time.Second)
	p.rec.waitCount(t, EventRegistered, "", 2, time.Second)
	if got := p.Account(); got == nil || got.URI != "sip:carol@"+k.Domain() {
		t.Fatalf("Account() = %+v after the switch", got)
	}
	t.Logf("un-REGISTER alice + REGISTER carol took %v", took.Round(time.Millisecond))

	// The call that was up goes on: alice's audio still flows both ways.
	p.waitTone(t, 660, 3*time.Second)
	bob.waitTone(t, 440, 3*time.Second)

	// alice is gone from the registrar's location table.
	gone, err := bob.Call(ctx, "alice", CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rej := bob.rec.wait(t, EventCallRejected, gone.SipCallID, 5*time.Second)
	if st := payloadOf[CallStatusPayload](rej).Status; st != 404 {
		t.Fatalf("a call to alice after the switch ended with %v, want 404 from the registrar", rej.Payload)
	}
	if n := p.rec.count(EventCallIncoming, gone.SipCallID); n != 0 {
		t.Fatal("the phone rang for alice after switching to carol")
	}

	// carol receives calls.
	second, err := bob.Call(ctx, "carol", CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	in := p.rec.wait(t, EventCallIncoming, second.SipCallID, 5*time.Second)
	if in.Session.Number != "bob" {
		t.Fatalf("carol sees caller %q, want bob", in.Session.Number)
	}
	if err := p.Reject(ctx, second.SipCallID, 486); err != nil {
		t.Fatal(err)
	}
	bob.rec.wait(t, EventCallRejected, second.SipCallID, 5*time.Second)

	// The old call ends normally through the route set it was set up with.
	if err := p.Hangup(ctx, first.SipCallID); err != nil {
		t.Fatalf("Hangup of the call placed before the switch: %v", err)
	}
	bob.rec.wait(t, EventCallEnded, first.SipCallID, 5*time.Second)

	// Back to direct mode: carol is un-registered too.
	if err := p.SetAccount(ctx, nil); err != nil {
		t.Fatal(err)
	}
	p.rec.waitCount(t, EventUnregistered, "", 2, 2*time.Second)
	third, err := bob.Call(ctx, "carol", CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rej := bob.rec.wait(t, EventCallRejected, third.SipCallID, 5*time.Second); payloadOf[CallStatusPayload](rej).Status != 404 {
		t.Fatalf("a call to carol in direct mode ended with %v, want 404", rej.Payload)
	}
}
