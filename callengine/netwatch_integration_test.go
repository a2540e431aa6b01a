package callengine

import (
	"os/exec"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/internal/testpeers"
)

// A new address appears on the machine mid-call (inside the test network
// namespace): the phone re-REGISTERs at once and restarts ICE on the call,
// which keeps its audio.
func TestNetworkChangeReRegistersAndRestartsICEIntegration(t *testing.T) {
	nftTable(t) // refuses to run outside the test namespace
	k := testpeers.StartKamailio(t, testpeers.KamailioOptions{Users: map[string]string{"alice": "pa", "bob": "pb"}})
	a := newTestPhone(t, testPhoneOpts{toneHz: 440, account: &Account{URI: "sip:alice@" + k.Domain(), Password: "pa", Registrar: "sip:" + k.UDPAddr(), Media: "webrtc"}})
	b := newTestPhone(t, testPhoneOpts{toneHz: 660, account: &Account{URI: "sip:bob@" + k.Domain(), Password: "pb", Registrar: "sip:" + k.UDPAddr(), Media: "webrtc"}})
	ctx := ctxT(t, 30*time.Second)
	for _, p := range []*testPhone{a, b} {
		if err := p.Register(ctx); err != nil {
			t.Fatal(err)
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
	b.waitTone(t, 440, 5*time.Second)

	if out, err := exec.Command("ip", "addr", "add", "10.77.0.42/24", "dev", "pv0").CombinedOutput(); err != nil {
		t.Fatalf("ip addr add: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "addr", "del", "10.77.0.42/24", "dev", "pv0").Run() })

	a.rec.waitCount(t, EventRegistered, "", 2, 10*time.Second)
	if errs := a.rec.errors(); len(errs) > 0 {
		t.Logf("errors: %v", errs)
	}
	a.rec.wait(t, EventIceReconnecting, s.SipCallID, 5*time.Second)
	a.rec.wait(t, EventIceReconnected, s.SipCallID, 15*time.Second)
	b.waitTone(t, 440, 5*time.Second)
	a.waitTone(t, 660, 5*time.Second)
}
