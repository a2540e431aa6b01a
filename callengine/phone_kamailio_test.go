package callengine

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/internal/testpeers"
)

func TestKamailioRegisterIntegration(t *testing.T) {
	testpeers.Require(t, "kamailio")
	k := testpeers.StartKamailio(t, testpeers.KamailioOptions{Users: map[string]string{"alice": "secret-a", "bob": "secret-b"}})
	cases := []struct {
		name      string
		registrar string
	}{
		{"udp", "sip:" + k.UDPAddr()},
		{"tcp", "sip:" + k.TCPAddr() + ";transport=tcp"},
		{"ws", k.WSURL()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			acct := &Account{URI: "sip:alice@" + k.Domain(), Password: "secret-a", Registrar: tc.registrar, Expires: 60 * time.Second}
			a := newTestPhone(t, testPhoneOpts{toneHz: 440, account: acct})
			ctx := ctxT(t, 10*time.Second)
			if err := a.Register(ctx); err != nil {
				t.Fatalf("Register over %s: %v\nkamailio log:\n%s", tc.name, err, k.Log())
			}
			reg := a.rec.wait(t, EventRegistered, "", 2*time.Second)
			if payloadOf[RegisteredPayload](reg).Expires <= 0 {
				t.Fatalf("registered with expires %v", reg.Payload)
			}
			// Close un-registers: onUnRegistered is the last registration event.
			a.Close()
			a.rec.wait(t, EventUnregistered, "", 5*time.Second)
		})
	}
}

func TestKamailioWrongPasswordIntegration(t *testing.T) {
	testpeers.Require(t, "kamailio")
	k := testpeers.StartKamailio(t, testpeers.KamailioOptions{Users: map[string]string{"alice": "secret-a"}})
	for _, reg := range []string{"sip:" + k.UDPAddr(), k.WSURL()} {
		acct := &Account{URI: "sip:alice@" + k.Domain(), Password: "wrong", Registrar: reg}
		a := newTestPhone(t, testPhoneOpts{account: acct})
		err := a.Register(ctxT(t, 10*time.Second))
		var re *RegistrationError
		if !errors.As(err, &re) || (re.StatusCode != 401 && re.StatusCode != 403) {
			t.Fatalf("Register with a wrong password via %s: %v, want a 401/403 RegistrationError", reg, err)
		}
		if !errors.Is(err, ErrRegistration) {
			t.Fatalf("error does not wrap ErrRegistration: %v", err)
		}
		ev := a.rec.wait(t, EventRegistrationFailed, "", 2*time.Second)
		if st := payloadOf[RegistrationFailedPayload](ev).Status; st != re.StatusCode {
			t.Fatalf("failure event status %v, want %d", st, re.StatusCode)
		}
		if n := a.rec.count(EventRegistered, ""); n != 0 {
			t.Fatalf("got %d onRegistered with a wrong password", n)
		}
	}
}

// A and B register (A over UDP, B over WebSocket) and A calls B by its
// address-of-record through Kamailio, which challenges the INVITE (407).
func TestKamailioCallByAORIntegration(t *testing.T) {
	testpeers.Require(t, "kamailio")
	k := testpeers.StartKamailio(t, testpeers.KamailioOptions{Users: map[string]string{"alice": "secret-a", "bob": "secret-b"}})
	a := newTestPhone(t, testPhoneOpts{toneHz: 440, account: &Account{URI: "sip:alice@" + k.Domain(), Password: "secret-a", Registrar: "sip:" + k.UDPAddr()}})
	b := newTestPhone(t, testPhoneOpts{toneHz: 660, account: &Account{URI: "sip:bob@" + k.Domain(), Password: "secret-b", Registrar: k.WSURL()}})
	ctx := ctxT(t, 20*time.Second)
	if err := a.Register(ctx); err != nil {
		t.Fatalf("A register: %v\n%s", err, k.Log())
	}
	if err := b.Register(ctx); err != nil {
		t.Fatalf("B register: %v\n%s", err, k.Log())
	}
	s, err := a.Call(ctx, "bob", CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	in := b.rec.wait(t, EventCallIncoming, s.SipCallID, 5*time.Second)
	if in.Session.Number != "alice" {
		t.Fatalf("B sees caller %q, want alice", in.Session.Number)
	}
	if err := b.Accept(ctx, s.SipCallID); err != nil {
		t.Fatalf("Accept: %v", err)
	}
	a.rec.wait(t, EventMediaConnected, s.SipCallID, 5*time.Second)
	b.waitTone(t, 440, 5*time.Second)
	a.waitTone(t, 660, 5*time.Second)
	// Hold through the proxy (in-dialog re-INVITE follows the route set).
	if err := a.Hold(ctx, s.SipCallID); err != nil {
		t.Fatalf("Hold via Kamailio: %v", err)
	}
	b.waitSilence(t, 3*time.Second)
	if err := a.Resume(ctx, s.SipCallID); err != nil {
		t.Fatalf("Resume via Kamailio: %v", err)
	}
	b.waitTone(t, 440, 5*time.Second)
	if err := a.Hangup(ctx, s.SipCallID); err != nil {
		t.Fatalf("Hangup: %v", err)
	}
	b.rec.wait(t, EventCallEnded, s.SipCallID, 5*time.Second)
}

// A blind transfer through the proxy: alice calls bob, bob transfers her to
// carol's address-of-record; the REFER, NOTIFYs and the new INVITE all go
// through Kamailio.
func TestKamailioBlindTransferIntegration(t *testing.T) {
	testpeers.Require(t, "kamailio")
	k := testpeers.StartKamailio(t, testpeers.KamailioOptions{Users: map[string]string{"alice": "pa", "bob": "pb", "carol": "pc"}})
	acct := func(user, pass string) *Account {
		return &Account{URI: "sip:" + user + "@" + k.Domain(), Password: pass, Registrar: "sip:" + k.UDPAddr()}
	}
	a := newTestPhone(t, testPhoneOpts{toneHz: 440, account: acct("alice", "pa")})
	b := newTestPhone(t, testPhoneOpts{toneHz: 660, account: acct("bob", "pb")})
	c := newTestPhone(t, testPhoneOpts{toneHz: 880, account: acct("carol", "pc"), auto: true})
	ctx := ctxT(t, 30*time.Second)
	for _, p := range []*testPhone{a, b, c} {
		if err := p.Register(ctx); err != nil {
			t.Fatalf("register: %v\n%s", err, k.Log())
		}
	}
	s, err := a.Call(ctx, "bob", CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b.rec.wait(t, EventCallIncoming, s.SipCallID, 5*time.Second)
	if err := b.Accept(ctx, s.SipCallID); err != nil {
		t.Fatal(err)
	}
	a.rec.wait(t, EventMediaConnected, s.SipCallID, 5*time.Second)
	a.consentTo(t, s.SipCallID, true)
	if err := b.Transfer(ctx, s.SipCallID, "carol"); err != nil {
		t.Fatalf("Transfer via Kamailio: %v\n%s", err, k.Log())
	}
	in := c.rec.wait(t, EventCallIncoming, "", 5*time.Second)
	if in.Session.Number != "alice" {
		t.Fatalf("carol sees %q calling, want alice", in.Session.Number)
	}
	a.rec.wait(t, EventCallEnded, s.SipCallID, 5*time.Second)
	c.waitTone(t, 440, 5*time.Second)
	a.waitTone(t, 880, 5*time.Second)
}

// SIP over TLS and over secure WebSocket, with the registrar's certificate
// verified against a CA file: alice registers over TLS, bob over WSS, and
// they talk; without the CA the certificate is refused.
func TestKamailioTLSAndWSSIntegration(t *testing.T) {
	testpeers.Require(t, "kamailio")
	k := testpeers.StartKamailio(t, testpeers.KamailioOptions{TLS: true, Users: map[string]string{"alice": "pa", "bob": "pb"}})
	ca := k.CA().CAFile
	a := newTestPhone(t, testPhoneOpts{toneHz: 440, account: &Account{URI: "sip:alice@" + k.Domain(), Password: "pa", Registrar: "sip:" + k.TLSAddr() + ";transport=tls", CAFile: ca}})
	b := newTestPhone(t, testPhoneOpts{toneHz: 660, account: &Account{URI: "sip:bob@" + k.Domain(), Password: "pb", Registrar: k.WSSURL(), CAFile: ca}})
	ctx := ctxT(t, 20*time.Second)
	if err := a.Register(ctx); err != nil {
		t.Fatalf("register over TLS: %v\n%s", err, k.Log())
	}
	if err := b.Register(ctx); err != nil {
		t.Fatalf("register over WSS: %v\n%s", err, k.Log())
	}
	s, err := a.Call(ctx, "bob", CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b.rec.wait(t, EventCallIncoming, s.SipCallID, 5*time.Second)
	if err := b.Accept(ctx, s.SipCallID); err != nil {
		t.Fatal(err)
	}
	b.waitTone(t, 440, 5*time.Second)
	a.waitTone(t, 660, 5*time.Second)
	_ = a.Hangup(ctx, s.SipCallID)
	b.rec.wait(t, EventCallEnded, s.SipCallID, 5*time.Second)

	// No CA file: the self-made certificate is not trusted.
	c := newTestPhone(t, testPhoneOpts{account: &Account{URI: "sip:alice@" + k.Domain(), Password: "pa", Registrar: "sip:" + k.TLSAddr() + ";transport=tls"}})
	err = c.Register(ctxT(t, 10*time.Second))
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("register over TLS without the CA: %v, want a certificate error", err)
	}
}

// A registration asked for 3 s is asked for 30 s (MinExpires: a shorter
// one would have the phone re-register in a loop), and refreshed before it
// runs out: 32 s later the registrar still routes calls to it.
func TestKamailioRegistrationRefreshIntegration(t *testing.T) {
	testpeers.Require(t, "kamailio")
	k := testpeers.StartKamailio(t, testpeers.KamailioOptions{Users: map[string]string{"alice": "pa", "bob": "pb"}})
	a := newTestPhone(t, testPhoneOpts{toneHz: 440, account: &Account{URI: "sip:alice@" + k.Domain(), Password: "pa", Registrar: "sip:" + k.UDPAddr(), Expires: 3 * time.Second}})
	b := newTestPhone(t, testPhoneOpts{toneHz: 660, account: &Account{URI: "sip:bob@" + k.Domain(), Password: "pb", Registrar: "sip:" + k.UDPAddr()}})
	ctx := ctxT(t, 50*time.Second)
	if err := a.Register(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Register(ctx); err != nil {
		t.Fatal(err)
	}
	ev := a.rec.wait(t, EventRegistered, "", time.Second)
	if got := payloadOf[RegisteredPayload](ev).Expires; got != int(MinExpires/time.Second) {
		t.Fatalf("registrar granted %v s, want %d", got, int(MinExpires/time.Second))
	}
	time.Sleep(MinExpires + 2*time.Second) // the scenario: outlive the first registration
	s, err := b.Call(ctx, "alice", CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a.rec.wait(t, EventCallIncoming, s.SipCallID, 5*time.Second)
	if n := a.rec.count(EventRegistrationFailed, ""); n != 0 {
		t.Fatalf("%d refresh failures", n)
	}
}
