package callengine

import (
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine/presence"
	"github.com/parlo-voip/parlo/internal/testpeers"
)

// waitPayload returns the first event named name at or after index from
// whose payload satisfies match, and its index.
func (r *recorder) waitPayload(t testing.TB, from int, name string, match func(EventPayload) bool, timeout time.Duration) (Event, int) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		r.mu.Lock()
		for i := from; i < len(r.events); i++ {
			if ev := r.events[i]; ev.Name == name && match(ev.Payload) {
				r.mu.Unlock()
				return ev, i
			}
		}
		r.mu.Unlock()
		if time.Until(deadline) <= 0 {
			t.Fatalf("no %s event matching within %s; got %v", name, timeout, r.payloads(name))
		}
		select {
		case <-r.cond:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (r *recorder) payloads(name string) []EventPayload {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []EventPayload
	for _, ev := range r.events {
		if ev.Name == name {
			out = append(out, ev.Payload)
		}
	}
	return out
}

func (r *recorder) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

// lamp matches a busy-lamp event of target in state.
func lamp(target string, state presence.LineState) func(EventPayload) bool {
	return func(p EventPayload) bool {
		b, ok := p.(BLFPayload)
		return ok && b.Target == target && b.State == state
	}
}

// presenceLab is Kamailio with its presence server and registered Parlos
// (extensions 1001, 1002, ...) asking for 2 s subscriptions, which the
// server raises to 4 s with 423 Min-Expires: the tests run through
// several refreshes.
type presenceLab struct {
	k      *testpeers.Kamailio
	phones map[string]*testPhone
}

func newPresenceLab(t *testing.T, exts ...string) *presenceLab {
	t.Helper()
	testpeers.Require(t, "kamailio")
	users := map[string]string{"vm": "pw-vm"}
	for _, e := range exts {
		users[e] = "pw-" + e
	}
	lab := &presenceLab{phones: map[string]*testPhone{}}
	lab.k = testpeers.StartKamailio(t, testpeers.KamailioOptions{Users: users, Presence: true, PresenceMinExpires: 4})
	ctx := ctxT(t, 20*time.Second)
	for i, e := range exts {
		acct := &Account{URI: "sip:" + e + "@" + lab.k.Domain(), Password: "pw-" + e, Registrar: "sip:" + lab.k.UDPAddr()}
		tp := newTestPhone(t, testPhoneOpts{toneHz: float64(440 + 220*i), account: acct, tune: func(o *Options) { o.SubscribeExpires = 2 * time.Second }})
		if err := tp.Register(ctx); err != nil {
			t.Fatalf("%s register: %v\n%s", e, err, lab.k.Log())
		}
		lab.phones[e] = tp
	}
	return lab
}

// failIfTerminated: with 4 s subscriptions, a missed refresh shows as the
// server ending the subscription (reason timeout) or a failure.
func (lab *presenceLab) failIfTerminated(t *testing.T) {
	t.Helper()
	for e, tp := range lab.phones {
		for _, p := range tp.rec.payloads(EventSubscriptionStateChanged) {
			if st := p.(SubscriptionStatePayload).State; st == "terminated" || st == "failed" {
				t.Errorf("%s: subscription event %v\n%s", e, p, lab.k.Log())
			}
		}
	}
}

// Two Parlos watch each other's lamps through a call: idle, ringing (the
// callee's lamp) and busy (the caller's, as soon as it dials), busy for
// both once answered, idle after the hang-up. Timings are from the action
// to the watcher's event.
func TestKamailioBLFIntegration(t *testing.T) {
	lab := newPresenceLab(t, "1001", "1002")
	a, b := lab.phones["1001"], lab.phones["1002"]
	ctx := ctxT(t, 60*time.Second)
	start := time.Now()
	if err := a.Watch(ctx, "1002", PackageDialog); err != nil {
		t.Fatal(err)
	}
	if err := b.Watch(ctx, "1001", PackageDialog); err != nil {
		t.Fatal(err)
	}
	_, ai := a.rec.waitPayload(t, 0, EventBLFStateChanged, lamp("1002", presence.LineIdle), 5*time.Second)
	_, bi := b.rec.waitPayload(t, 0, EventBLFStateChanged, lamp("1001", presence.LineIdle), 5*time.Second)
	t.Logf("first NOTIFY (idle) %v after Watch", time.Since(start).Round(time.Millisecond))
	// Past one lifetime (4 s) so the call runs on refreshed subscriptions.
	time.Sleep(5 * time.Second)

	t0 := time.Now()
	s, err := a.Call(ctx, "1002", CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b.rec.wait(t, EventCallIncoming, s.SipCallID, 5*time.Second)
	ev, ai := a.rec.waitPayload(t, ai, EventBLFStateChanged, lamp("1002", presence.LineRinging), 5*time.Second)
	ringing := time.Since(t0)
	if !ev.Payload.(BLFPayload).Pickup {
		t.Errorf("ringing lamp payload %v: no pickup information", ev.Payload)
	}
	_, bi = b.rec.waitPayload(t, bi, EventBLFStateChanged, lamp("1001", presence.LineBusy), 5*time.Second)
	calling := time.Since(t0)

	t1 := time.Now()
	if err := b.Accept(ctx, s.SipCallID); err != nil {
		t.Fatal(err)
	}
	_, ai = a.rec.waitPayload(t, ai, EventBLFStateChanged, lamp("1002", presence.LineBusy), 5*time.Second)
	answered := time.Since(t1)

	t2 := time.Now()
	if err := a.Hangup(ctx, s.SipCallID); err != nil {
		t.Fatal(err)
	}
	a.rec.waitPayload(t, ai, EventBLFStateChanged, lamp("1002", presence.LineIdle), 5*time.Second)
	idleA := time.Since(t2)
	b.rec.waitPayload(t, bi, EventBLFStateChanged, lamp("1001", presence.LineIdle), 5*time.Second)
	idleB := time.Since(t2)
	t.Logf("lamp timings: callee ringing %v, caller busy %v after dialling; callee busy %v after answer; idle %v / %v after hang-up",
		ringing.Round(time.Millisecond), calling.Round(time.Millisecond), answered.Round(time.Millisecond), idleA.Round(time.Millisecond), idleB.Round(time.Millisecond))
	lab.failIfTerminated(t)
	for _, tp := range []*testPhone{a, b} {
		for _, s := range tp.watches.byKey {
			if s.raised.Load() == 0 || s.refreshes.Load() == 0 {
				t.Errorf("%s: %d refreshes and %d Min-Expires raises, want both (2 s asked, 4 s the minimum)", s.target, s.refreshes.Load(), s.raised.Load())
			}
			t.Logf("subscription to %s: %d refreshes, %d Min-Expires raises", s.target, s.refreshes.Load(), s.raised.Load())
		}
	}
	st := a.Watches()
	if len(st) != 1 || !st[0].Active || st[0].Line != presence.LineIdle {
		t.Errorf("Watches() = %+v", st)
	}
	if err := a.Unwatch(ctx, "1002", PackageDialog); err != nil {
		t.Fatal(err)
	}
	if len(a.Watches()) != 0 {
		t.Errorf("Watches() after Unwatch = %+v", a.Watches())
	}
}

// A publishes its presence; B, watching it, sees available, on the phone
// while A is in a call (A's phone re-publishes by itself), and do not
// disturb.
func TestKamailioPresenceIntegration(t *testing.T) {
	lab := newPresenceLab(t, "1001", "1002")
	a, b := lab.phones["1001"], lab.phones["1002"]
	ctx := ctxT(t, 60*time.Second)
	t0 := time.Now()
	if err := a.PublishPresence(presence.StatusAvailable, ""); err != nil {
		t.Fatal(err)
	}
	if err := b.Watch(ctx, "1001", PackagePresence); err != nil {
		t.Fatal(err)
	}
	status := func(st presence.Status) func(EventPayload) bool {
		return func(p EventPayload) bool {
			pr, ok := p.(PresencePayload)
			return ok && pr.Target == "1001" && pr.Status == st
		}
	}
	_, i := b.rec.waitPayload(t, 0, EventPresenceChanged, status(presence.StatusAvailable), 5*time.Second)
	t.Logf("available seen %v after PUBLISH", time.Since(t0).Round(time.Millisecond))

	t1 := time.Now()
	s, err := a.Call(ctx, "1002", CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b.rec.wait(t, EventCallIncoming, s.SipCallID, 5*time.Second)
	if err := b.Accept(ctx, s.SipCallID); err != nil {
		t.Fatal(err)
	}
	_, i = b.rec.waitPayload(t, i, EventPresenceChanged, status(presence.StatusOnThePhone), 5*time.Second)
	t.Logf("on-the-phone seen %v after dialling", time.Since(t1).Round(time.Millisecond))
	if err := a.Hangup(ctx, s.SipCallID); err != nil {
		t.Fatal(err)
	}
	_, i = b.rec.waitPayload(t, i, EventPresenceChanged, status(presence.StatusAvailable), 5*time.Second)
	t2 := time.Now()
	a.SetDoNotDisturb(true)
	b.rec.waitPayload(t, i, EventPresenceChanged, status(presence.StatusDND), 5*time.Second)
	t.Logf("dnd seen %v after SetDoNotDisturb", time.Since(t2).Round(time.Millisecond))
	// B may see the NOTIFY before A's PUBLISH transaction has returned.
	for deadline := time.Now().Add(5 * time.Second); a.PublishedPresence() != presence.StatusDND; {
		if time.Now().After(deadline) {
			t.Fatalf("PublishedPresence() = %q, want dnd", a.PublishedPresence())
		}
		time.Sleep(20 * time.Millisecond)
	}
	lab.failIfTerminated(t)
}

// publishMWI is a voicemail server's PUBLISH of a message summary for user,
// authenticated as the "vm" user.
func publishMWI(t *testing.T, k *testpeers.Kamailio, user string, ms presence.MessageSummary) {
	t.Helper()
	k.PublishMWI(t, "vm", "pw-vm", user, ms.String())
}

// A voicemail server publishes a message summary for 1001 through
// Kamailio, which NOTIFYs 1001's message-summary subscription: the lamp
// lights with the counts, and goes out when the messages are read.
func TestKamailioMWIIntegration(t *testing.T) {
	lab := newPresenceLab(t, "1001")
	a := lab.phones["1001"]
	ctx := ctxT(t, 30*time.Second)
	if err := a.Watch(ctx, "", PackageMessageSummary); err != nil {
		t.Fatal(err)
	}
	a.rec.waitPayload(t, 0, EventSubscriptionStateChanged, func(p EventPayload) bool { return p.(SubscriptionStatePayload).State == "active" }, 5*time.Second)
	t0 := time.Now()
	publishMWI(t, lab.k, "1001", presence.MessageSummary{Waiting: true, Account: "sip:1001@" + lab.k.Domain(), Voice: presence.Counts{New: 3, Old: 5, UrgentNew: 1}})
	ev, i := a.rec.waitPayload(t, 0, EventVoicemailChanged, func(p EventPayload) bool { return p.(VoicemailPayload).Waiting }, 5*time.Second)
	t.Logf("MWI lamp lit %v after the PUBLISH", time.Since(t0).Round(time.Millisecond))
	if vm := ev.Payload.(VoicemailPayload); vm.New != 3 || vm.Old != 5 || vm.UrgentNew != 1 {
		t.Errorf("voicemail payload %v, want 3 new, 5 old, 1 urgent", ev.Payload)
	}
	publishMWI(t, lab.k, "1001", presence.MessageSummary{Waiting: false, Voice: presence.Counts{Old: 8}})
	a.rec.waitPayload(t, i, EventVoicemailChanged, func(p EventPayload) bool {
		vm := p.(VoicemailPayload)
		return !vm.Waiting && vm.Old == 8
	}, 5*time.Second)
	if w := a.Watches(); len(w) != 1 || w[0].Voicemail.Voice.Old != 8 {
		t.Errorf("Watches() = %+v", w)
	}

	// A stranger who learnt the subscription's Call-ID and both tags, but
	// sends straight to our socket (not through the registrar, without our
	// Contact's token), cannot light the lamp.
	sub := a.watches.byKey[watchKey(PackageMessageSummary, "")]
	sub.mu.Lock()
	forged := rawReq{method: "NOTIFY", callID: sub.callID, toTag: sub.localTag, fromTag: sub.remoteTag, cseq: 1000,
		ctype: "application/simple-message-summary", body: "Messages-Waiting: yes\r\nVoice-Message: 99/0\r\n",
		extra: []string{"Event: message-summary", "Subscription-State: active;expires=60"}}
	sub.mu.Unlock()
	h := newHostile(t, a)
	if res := h.probe(h.build(forged), forged.callID, 5*time.Second); status(res) != 403 {
		t.Errorf("forged NOTIFY from outside the registrar: %d, want 403", status(res))
	}
	if w := a.Watches(); w[0].Voicemail.Voice.New != 0 {
		t.Errorf("forged NOTIFY changed the summary: %+v", w[0].Voicemail)
	}
	lab.failIfTerminated(t)
}

// Directed pickup: 1001 calls 1002, whose phone rings; 1003, watching
// 1002's lamp, picks the call up. Its INVITE carries Replaces naming the
// early dialog from the dialog-info (RFC 3891): 1001's phone takes the new
// call and cancels the ringing one, and 1001 and 1003 hear each other.
func TestKamailioDirectedPickupIntegration(t *testing.T) {
	lab := newPresenceLab(t, "1001", "1002", "1003")
	a, b, c := lab.phones["1001"], lab.phones["1002"], lab.phones["1003"]
	ctx := ctxT(t, 60*time.Second)
	if err := c.Watch(ctx, "1002", PackageDialog); err != nil {
		t.Fatal(err)
	}
	_, ci := c.rec.waitPayload(t, 0, EventBLFStateChanged, lamp("1002", presence.LineIdle), 5*time.Second)
	s, err := a.Call(ctx, "1002", CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b.rec.wait(t, EventCallIncoming, s.SipCallID, 5*time.Second)
	c.rec.waitPayload(t, ci, EventBLFStateChanged, lamp("1002", presence.LineRinging), 5*time.Second)
	t0 := time.Now()
	picked, err := c.Pickup(ctx, "1002")
	if err != nil {
		t.Fatalf("Pickup: %v", err)
	}
	c.rec.wait(t, EventCallAccepted, picked.SipCallID, 10*time.Second)
	t.Logf("pickup answered %v after Pickup", time.Since(t0).Round(time.Millisecond))
	b.rec.wait(t, EventCallCanceled, s.SipCallID, 5*time.Second)
	a.rec.wait(t, EventCallEnded, s.SipCallID, 5*time.Second)
	a.rec.wait(t, EventCallAccepted, picked.SipCallID, 5*time.Second)
	c.waitTone(t, 440, 5*time.Second)
	a.waitTone(t, 880, 5*time.Second)
	if err := c.Hangup(ctx, picked.SipCallID); err != nil {
		t.Fatal(err)
	}
	a.rec.wait(t, EventCallEnded, picked.SipCallID, 5*time.Second)
	if _, err := c.Pickup(ctx, "1002"); err == nil {
		t.Error("Pickup of an idle extension succeeded")
	}
}
