package ui

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/parlo-voip/parlo/callengine"
)

func TestStatusShowsDirectModeAddress(t *testing.T) {
	h := newHarness(t, newFakeEngine(), harnessOpts{})
	if got := h.w.status.Text; !strings.Contains(got, "Direct mode") || !strings.Contains(got, "sip:parlo@192.0.2.10:5060") {
		t.Fatalf("status = %q, want direct mode with the contact URI", got)
	}
}

func TestStatusFollowsRegistrationEvents(t *testing.T) {
	f := newFakeEngine()
	h := newHarness(t, f, harnessOpts{accountURI: "sip:alice@parlo.test"})
	h.waitFor("Register called", func() bool { return f.has("Register") })
	if got := h.w.status.Text; !strings.Contains(got, "Registering") {
		t.Errorf("status before any event = %q, want Registering", got)
	}
	f.emit(callengine.EventRegistrationFailed, "", callengine.RegistrationFailedPayload{Error: "401 Unauthorized"})
	h.waitFor("failure shown", func() bool { return strings.Contains(h.w.status.Text, "failed: 401 Unauthorized") })
	f.emit(callengine.EventRegistered, "", callengine.RegisteredPayload{Expires: 300})
	h.waitFor("registered shown", func() bool { return strings.HasPrefix(h.w.status.Text, "Registered as sip:alice@parlo.test") })
}

func TestDialAndCallListTracksStateAndDuration(t *testing.T) {
	f := newFakeEngine()
	clock := &fakeClock{t: time.Now()}
	h := newHarness(t, f, harnessOpts{clock: clock})

	test.Type(h.w.dial, "sip:bob@127.0.0.1:5090")
	test.Tap(h.w.callBtn)
	h.waitFor("call placed and listed", func() bool {
		return f.has("Call sip:bob@127.0.0.1:5090") && len(h.w.calls) == 1 && h.w.activeID != ""
	})
	id := h.w.calls[0].id()
	rows := h.w.list.rowTexts()
	if want := []string{"sip:bob@127.0.0.1:5090", "Outgoing", "calling", "0:00"}; !slices.Equal(rows[0], want) {
		t.Fatalf("row = %q, want %q", rows[0], want)
	}

	f.establish(id)
	h.waitFor("active", func() bool { return h.w.list.rowTexts()[0][2] == "active" })
	clock.t = time.Now().Add(75 * time.Second)
	h.w.tick()
	if got := h.w.list.rowTexts()[0][3]; got != "1:15" {
		t.Errorf("duration after 75 s = %q, want 1:15", got)
	}
	if !strings.Contains(h.w.view.detail.Text, "active · 1:15") {
		t.Errorf("call view detail = %q", h.w.view.detail.Text)
	}

	test.Tap(h.w.view.hold)
	h.waitFor("on hold", func() bool { return h.w.list.rowTexts()[0][2] == "on hold" })
	if h.w.view.hold.Text != "Resume" {
		t.Errorf("hold button says %q while held", h.w.view.hold.Text)
	}
	test.Tap(h.w.view.hold)
	h.waitFor("resumed", func() bool { return f.has("Resume "+id) && h.w.list.rowTexts()[0][2] == "active" })

	test.Tap(h.w.view.mute)
	h.waitFor("muted", func() bool { return f.has("Mute "+id) && h.w.view.mute.Text == "Unmute" })

	test.Tap(h.w.view.hangup)
	h.waitFor("ended", func() bool { return f.has("Hangup "+id) && h.w.list.rowTexts()[0][2] == "ended" })
	if !h.w.view.hangup.Disabled() {
		t.Error("hang up stays enabled on an ended call")
	}
}

func TestCallErrorShownInActionBar(t *testing.T) {
	f := newFakeEngine()
	f.callErr = errors.New("callengine: bad SIP URI")
	h := newHarness(t, f, harnessOpts{})
	test.Type(h.w.dial, "not a uri")
	h.w.placeCall()
	h.waitFor("error shown", func() bool { return strings.Contains(h.w.action.text(), "bad SIP URI") })
	if !strings.HasPrefix(h.w.action.text(), "Calling not a uri") {
		t.Errorf("action bar = %q, want it to name the action", h.w.action.text())
	}
}

func TestSelectingACallMakesItActive(t *testing.T) {
	f := newFakeEngine()
	h := newHarness(t, f, harnessOpts{})
	a := f.incoming("Alice", "1001")
	f.establish(a)
	b := f.incoming("Bob", "1002")
	f.establish(b)
	h.waitFor("two active calls", func() bool { return len(h.w.calls) == 2 && stateOf(h.w.calls[1].s) == stateActive })
	if h.w.activeID != a {
		t.Fatalf("active = %q, want the first call %q", h.w.activeID, a)
	}
	h.w.list.list.Select(0) // newest on top: Bob
	if h.w.activeID != b || h.w.view.name.Text != "Bob" {
		t.Fatalf("after selecting row 0: active %q, view %q", h.w.activeID, h.w.view.name.Text)
	}
}
