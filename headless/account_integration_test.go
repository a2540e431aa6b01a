package headless_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine"
	"github.com/parlo-voip/parlo/internal/testpeers"
)

// TestHeadlessAccountSwitchIntegration drives a real `parlo headless`
// registered as alice at Kamailio to carol with the account command: it
// reports onUnRegistered then onRegistered, Kamailio answers a call to
// alice 404, and a call to carol rings it.
func TestHeadlessAccountSwitchIntegration(t *testing.T) {
	testpeers.Require(t, "kamailio")
	k := testpeers.StartKamailio(t, testpeers.KamailioOptions{Users: map[string]string{"alice": "pa", "bob": "pb", "carol": "pc"}})
	bin := buildParlo(t)
	tr := &transcript{start: time.Now()}
	defer func() {
		if t.Failed() {
			t.Logf("transcript:\n%s", tr)
		}
	}()
	registrar := "sip:" + k.UDPAddr()
	h := startDriverEnv(t, bin, "H", tr, []string{"PARLO_PASSWORD=pa"},
		"--account", "sip:alice@"+k.Domain(), "--registrar", registrar, "--listen", "udp:127.0.0.1:0")
	h.waitEvent(callengine.EventRegistered, "", 10*time.Second)

	bob, err := callengine.NewPhone(callengine.Options{
		Listen:  []string{"udp:127.0.0.1:0"},
		Account: &callengine.Account{URI: "sip:bob@" + k.Domain(), Password: "pb", Registrar: registrar},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	sub := bob.Subscribe()
	defer sub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := bob.Register(ctx); err != nil {
		t.Fatal(err)
	}

	pw := filepath.Join(t.TempDir(), "carol.pw")
	if err := os.WriteFile(pw, []byte("pc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	h.do(map[string]any{"cmd": "account", "account": "sip:carol@" + k.Domain(), "registrar": registrar, "passwordFile": pw})
	t.Logf("account command replied after %v", time.Since(start).Round(time.Millisecond))
	unreg, _ := h.waitFor("onUnRegistered", 0, 5*time.Second, func(o map[string]any) bool { return o["event"] == callengine.EventUnregistered })
	h.waitFor("a second onRegistered", unreg, 5*time.Second, func(o map[string]any) bool { return o["event"] == callengine.EventRegistered })

	// bob's call to alice: gone from the location table, 404.
	gone, err := bob.Call(ctx, "alice", callengine.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	for rejected := false; !rejected; {
		select {
		case ev := <-sub.C():
			if ev.Session != nil && ev.Session.SipCallID == gone.SipCallID && ev.Name == callengine.EventCallRejected {
				if st, _ := ev.Payload.(callengine.CallStatusPayload); st.Status != 404 {
					t.Fatalf("call to alice after the switch: %v, want 404", ev.Payload)
				}
				rejected = true
			}
		case <-deadline:
			t.Fatal("bob's call to alice after the switch was not rejected")
		}
	}
	// bob's call to carol rings the headless phone.
	ring, err := bob.Call(ctx, "carol", callengine.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h.waitEvent(callengine.EventCallIncoming, ring.SipCallID, 10*time.Second)
	h.do(map[string]any{"cmd": "reject", "call": ring.SipCallID})
	h.do(map[string]any{"cmd": "quit"})
	if err := h.waitExit(10 * time.Second); err != nil {
		t.Fatalf("headless exit: %v", err)
	}
}
