package callengine

import (
	"strconv"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/internal/testpeers"
)

// The registrar keep-alive: OPTIONS every 500 ms are answered; when the
// registrar's packets vanish the phone notices, re-registers and, failing,
// reports onUnRegistered; when they come back it registers again by
// itself, long before the registration's own refresh.
func TestKeepAliveIntegration(t *testing.T) {
	testpeers.Require(t, "kamailio")
	nftTable(t)
	k := testpeers.StartKamailio(t, testpeers.KamailioOptions{Users: map[string]string{"alice": "secret-a"}})
	a := newTestPhone(t, testPhoneOpts{toneHz: 440, tune: func(o *Options) { o.KeepAliveInterval = 500 * time.Millisecond },
		account: &Account{URI: "sip:alice@" + k.Domain(), Password: "secret-a", Registrar: "sip:" + k.UDPAddr(), Expires: 300 * time.Second}})
	if err := a.Register(ctxT(t, 10*time.Second)); err != nil {
		t.Fatalf("register: %v\n%s", err, k.Log())
	}
	deadline := time.Now().Add(5 * time.Second)
	for n, _ := a.KeepAlives(); n < 3; n, _ = a.KeepAlives() {
		if time.Now().After(deadline) {
			t.Fatalf("%d keep-alives answered in 5 s, want 3\n%s", n, k.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	_, kport, _ := splitPort(t, k.UDPAddr())
	table := nftTable(t)
	nftRun(t, "add", "rule", "inet", table, "in", "udp", "sport", kport, "drop")
	cut := time.Now()
	a.rec.wait(t, EventUnregistered, "", 20*time.Second)
	lostAfter := time.Since(cut)
	if _, lost := a.KeepAlives(); lost == 0 {
		t.Fatal("onUnRegistered without an unanswered keep-alive")
	}
	regs := a.rec.count(EventRegistered, "")
	nftRun(t, "delete", "table", "inet", table)
	back := time.Now()
	deadline = time.Now().Add(15 * time.Second)
	for a.rec.count(EventRegistered, "") == regs {
		if time.Now().After(deadline) {
			t.Fatalf("not registered again within 15 s of the registrar coming back; events %v", a.rec.names(""))
		}
		time.Sleep(50 * time.Millisecond)
	}
	figure(t, "keepalive.lost", "registrar loss reported (onUnRegistered) %.1f s after its packets vanished (keep-alive 0.5 s, REGISTER timeout 10 s)", lostAfter.Seconds())
	figure(t, "keepalive.back", "registered again %.1f s after the registrar came back (registration lifetime 300 s)", time.Since(back).Seconds())
}

func splitPort(t *testing.T, hostPort string) (string, string, int) {
	t.Helper()
	for i := len(hostPort) - 1; i >= 0; i-- {
		if hostPort[i] == ':' {
			n, err := strconv.Atoi(hostPort[i+1:])
			if err != nil {
				t.Fatal(err)
			}
			return hostPort[:i], hostPort[i+1:], n
		}
	}
	t.Fatalf("no port in %q", hostPort)
	return "", "", 0
}

// The machine sleeps for an hour (the wall clock jumps while the monotonic
// clock stands still; the jump is injected, a test cannot suspend the
// machine): the phone re-registers at once, refreshes its call with a
// live peer (which goes on) and ends, with a reason, its call with a peer
// that no longer answers.
func TestSleepResumeIntegration(t *testing.T) {
	testpeers.Require(t, "kamailio")
	nftTable(t)
	k := testpeers.StartKamailio(t, testpeers.KamailioOptions{Users: map[string]string{"alice": "secret-a", "bob": "secret-b", "carol": "secret-c"}})
	acct := func(user, pw string) *Account {
		return &Account{URI: "sip:" + user + "@" + k.Domain(), Password: pw, Registrar: "sip:" + k.UDPAddr()}
	}
	a := newTestPhone(t, testPhoneOpts{toneHz: 440, account: acct("alice", "secret-a")})
	b := newTestPhone(t, testPhoneOpts{toneHz: 660, auto: true, account: acct("bob", "secret-b")})
	c := newTestPhone(t, testPhoneOpts{toneHz: 880, auto: true, account: acct("carol", "secret-c")})
	ctx := ctxT(t, 60*time.Second)
	for _, p := range []*testPhone{a, b, c} {
		if err := p.Register(ctx); err != nil {
			t.Fatalf("register: %v\n%s", err, k.Log())
		}
	}
	var ids []string
	for _, to := range []string{"bob", "carol"} {
		s, err := a.Call(ctx, to, CallOptions{KeepOthers: true})
		if err != nil {
			t.Fatal(err)
		}
		a.rec.wait(t, EventMediaConnected, s.SipCallID, 10*time.Second)
		ids = append(ids, s.SipCallID)
	}
	live, dead := ids[0], ids[1]
	// carol hears no SIP any more; her media still flows.
	table := nftTable(t)
	nftRun(t, "add", "rule", "inet", table, "in", "udp", "dport", strconv.Itoa(c.Listeners()[0].Port), "drop")
	regs := a.rec.count(EventRegistered, "")
	before, _ := b.SessionTimer(live)
	wake := time.Now()
	a.clockSkew.Add(int64(time.Hour))
	ev := a.rec.wait(t, EventSystemResumed, "", 5*time.Second)
	if p, _ := ev.Payload.(SystemResumedPayload); p.SleptSeconds < 3590 {
		t.Fatalf("slept %+v, want about 3600 s", ev.Payload)
	}
	noticed := time.Since(wake)
	deadline := time.Now().Add(10 * time.Second)
	for a.rec.count(EventRegistered, "") == regs {
		if time.Now().After(deadline) {
			t.Fatalf("no re-REGISTER after the sleep; events %v", a.rec.names(""))
		}
		time.Sleep(50 * time.Millisecond)
	}
	reregistered := time.Since(wake)
	deadline = time.Now().Add(10 * time.Second)
	for {
		st, _ := b.SessionTimer(live)
		if st.Received > before.Received {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bob got no session refresh after alice woke up: %+v", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	refreshed := time.Since(wake)
	reason, took := waitFailed(t, a, dead, wake, EndResumeFailed)
	if s, err := a.call(live); err != nil || !s.snapshot().IsEstablished() {
		t.Fatalf("the call with the live peer did not survive the sleep: %v", err)
	}
	b.waitTone(t, 440, 5*time.Second)
	figure(t, "resume.noticed", "sleep noticed %.1f s after the wake-up (clock polled every 1 s)", noticed.Seconds())
	figure(t, "resume.reregistered", "re-registered %.1f s after the wake-up", reregistered.Seconds())
	figure(t, "resume.refreshed", "live call refreshed %.1f s after the wake-up", refreshed.Seconds())
	figure(t, "resume.deadcall", "call to a peer gone silent ended %.1f s after the wake-up (%s)", took.Seconds(), reason)
}
