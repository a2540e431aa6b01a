package callengine

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/parlo-voip/parlo/callengine/presence"
)

// injectSubscription puts a subscription of pkg into p's registry as if a
// SUBSCRIBE had been sent (no goroutine, no network): what NOTIFYs reach
// it is then up to the guard and the handler alone.
func injectSubscription(t testing.TB, p *testPhone, pkg EventPackage, target string) *eventSubscription {
	t.Helper()
	s := newEventSubscription(p.Phone, pkg, target, sip.Uri{Scheme: "sip", User: target, Host: "127.0.0.1"})
	close(s.done)
	w := &p.watches
	w.mu.Lock()
	if w.byKey == nil {
		w.byKey = map[string]*eventSubscription{}
		w.byCallID = map[string]*eventSubscription{}
	}
	w.byKey[watchKey(pkg, target)] = s
	w.byCallID[s.callID] = s
	w.mu.Unlock()
	t.Cleanup(func() {
		// No un-SUBSCRIBE to a notifier that never was.
		s.mu.Lock()
		s.remoteTag = ""
		s.mu.Unlock()
	})
	return s
}

const dialogInfoBusy = `<?xml version="1.0"?><dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="%d" state="full" entity="sip:1002@x"><dialog id="a" call-id="a" local-tag="l" remote-tag="r" direction="recipient"><state>%s</state></dialog></dialog-info>`

func dialogInfo(version int, state string) string {
	return strings.Replace(strings.Replace(dialogInfoBusy, "%d", strconv.Itoa(version), 1), "%s", state, 1)
}

// NOTIFYs of a subscription go through the request guard and the
// subscription's dialog rules: only its Call-ID with our tag matches (else
// 481), the notifier's tag is fixed by the first NOTIFY, the package must
// be ours (489), Subscription-State is required (400), CSeq may not go
// back (500), and a body that does not parse changes no lamp.
func TestSubscriptionNotifyRules(t *testing.T) {
	p := newTestPhone(t, testPhoneOpts{})
	s := injectSubscription(t, p, PackageDialog, "1002")
	h := newHostile(t, p)
	notify := func(r rawReq) rawReq {
		r.method = "NOTIFY"
		if r.callID == "" {
			r.callID = s.callID
		}
		if r.toTag == "" {
			r.toTag = s.localTag
		}
		if r.fromTag == "" {
			r.fromTag = "notifier"
		}
		if r.ctype == "" && r.body != "" {
			r.ctype = "application/dialog-info+xml"
		}
		return r
	}
	active := "Subscription-State: active;expires=60"
	tests := []struct {
		name string
		req  rawReq
		want int
		lamp presence.LineState // "" = unchanged
	}{
		{"first notify sets the dialog", notify(rawReq{cseq: 1, extra: []string{"Event: dialog", active}, body: dialogInfo(1, "early")}), 200, presence.LineRinging},
		{"wrong to tag", notify(rawReq{cseq: 2, toTag: "guess", extra: []string{"Event: dialog", active}, body: dialogInfo(2, "confirmed")}), 481, ""},
		{"unknown call-id", notify(rawReq{cseq: 2, callID: "nobody", extra: []string{"Event: dialog", active}, body: dialogInfo(2, "confirmed")}), 481, ""},
		{"another notifier tag", notify(rawReq{cseq: 2, fromTag: "other", extra: []string{"Event: dialog", active}, body: dialogInfo(2, "confirmed")}), 481, ""},
		{"other package", notify(rawReq{cseq: 2, extra: []string{"Event: presence", active}, body: dialogInfo(2, "confirmed")}), 489, ""},
		{"no subscription-state", notify(rawReq{cseq: 2, extra: []string{"Event: dialog"}, body: dialogInfo(2, "confirmed")}), 400, ""},
		{"garbage body", notify(rawReq{cseq: 3, extra: []string{"Event: dialog", active}, body: "<dialog-info><dialog"}), 200, ""},
		{"older version ignored", notify(rawReq{cseq: 4, extra: []string{"Event: dialog", active}, body: dialogInfo(1, "confirmed")}), 200, ""},
		{"cseq going back", notify(rawReq{cseq: 2, extra: []string{"Event: dialog", active}, body: dialogInfo(5, "confirmed")}), 500, ""},
		{"confirmed", notify(rawReq{cseq: 5, extra: []string{"Event: dialog", active}, body: dialogInfo(5, "confirmed")}), 200, presence.LineBusy},
		{"terminated by the server", notify(rawReq{cseq: 6, extra: []string{"Event: dialog", "Subscription-State: terminated;reason=noresource"}}), 200, presence.LineUnregistered},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := p.rec.len()
			res := h.with(t).probe(h.build(tt.req), tt.req.callID, 5*time.Second)
			if got := status(res); got != tt.want {
				t.Fatalf("status %d, want %d", got, tt.want)
			}
			if tt.lamp != "" {
				p.rec.waitPayload(t, before, EventBLFStateChanged, lamp("1002", tt.lamp), 2*time.Second)
			}
		})
	}
	if n := len(p.rec.payloads(EventBLFStateChanged)); n != 3 {
		t.Errorf("%d lamp events, want 3 (ringing, busy, unregistered): %v", n, p.rec.payloads(EventBLFStateChanged))
	}
	if p.guard.panics.Load() != 0 {
		t.Fatal("handler panicked")
	}
}

// FuzzSubscriptionNotify sends NOTIFYs aimed at live subscriptions of the
// three packages (placeholders take their Call-IDs and our tags) to a
// running phone: afterwards it still answers OPTIONS and no handler
// panicked. `go test -fuzz FuzzSubscriptionNotify ./callengine` explores.
func FuzzSubscriptionNotify(f *testing.F) {
	seeds := []struct{ event, ctype, body string }{
		{"dialog", "application/dialog-info+xml", dialogInfo(1, "early")},
		{"presence", "application/pidf+xml", string(presence.BuildPIDF("sip:1002@x", presence.StatusOnThePhone, "in a call"))},
		{"message-summary", "application/simple-message-summary", "Messages-Waiting: yes\r\nVoice-Message: 2/8 (0/2)\r\n"},
	}
	for i, sd := range seeds {
		for _, state := range []string{"active;expires=60", "pending", "terminated;reason=timeout", "terminated;reason=probation;retry-after=1", "bogus"} {
			f.Add(seedHostile.build(rawReq{method: "NOTIFY", callID: "{callid" + strconv.Itoa(i) + "}", toTag: "{localtag" + strconv.Itoa(i) + "}", fromTag: "n", cseq: 10,
				ctype: sd.ctype, body: sd.body, extra: []string{"Event: " + sd.event, "Subscription-State: " + state}}))
		}
	}
	p := newTestPhone(f, testPhoneOpts{tune: func(o *Options) { o.SourceRate = -1 }})
	subs := []*eventSubscription{
		injectSubscription(f, p, PackageDialog, "1002"),
		injectSubscription(f, p, PackagePresence, "1002"),
		injectSubscription(f, p, PackageMessageSummary, ""),
	}
	stranger := newHostile(f, p)
	monitor := newHostile(f, p)
	n := 0
	f.Fuzz(func(t *testing.T, msg string) {
		n++
		r := []string{}
		for i, s := range subs {
			r = append(r, "{callid"+strconv.Itoa(i)+"}", s.callID, "{localtag"+strconv.Itoa(i)+"}", s.localTag)
		}
		msg = strings.NewReplacer(r...).Replace(msg)
		stranger.with(t).send(msg)
		mon := monitor.with(t)
		id := "probe-" + strconv.Itoa(n)
		if res := mon.probe(mon.build(rawReq{method: "OPTIONS", callID: id}), id, 5*time.Second); status(res) != 200 {
			t.Fatalf("phone stopped answering OPTIONS (got %d) after %q", status(res), msg)
		}
		if p.guard.panics.Load() != 0 {
			t.Fatalf("handler panicked after %q", msg)
		}
	})
}
