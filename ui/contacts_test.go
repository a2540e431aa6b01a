package ui

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/parlo-voip/parlo/callengine"
	"github.com/parlo-voip/parlo/callengine/presence"
)

// fakeLampEngine is the fake engine with lamps: it records what the
// contacts panel asks.
type fakeLampEngine struct {
	*fakeEngine
	mu        sync.Mutex
	watched   []string
	published presence.Status
}

func (f *fakeLampEngine) Watch(_ context.Context, target string, pkg callengine.EventPackage) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.watched = append(f.watched, string(pkg)+" "+target)
	return nil
}

func (f *fakeLampEngine) Unwatch(_ context.Context, target string, pkg callengine.EventPackage) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.watched = slices.DeleteFunc(f.watched, func(s string) bool { return s == string(pkg)+" "+target })
	return nil
}

func (f *fakeLampEngine) Watches() []callengine.WatchState { return nil }

func (f *fakeLampEngine) PublishPresence(st presence.Status, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.published = st
	return nil
}

func (f *fakeLampEngine) Pickup(_ context.Context, target string) (*callengine.CallSession, error) {
	f.record("Pickup %s", target)
	return &callengine.CallSession{SipCallID: "picked"}, nil
}

func (f *fakeLampEngine) subscriptions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Sorted(slices.Values(f.watched))
}

func lampPrefs(p fyne.Preferences) {
	p.SetString(prefWatched, "1002, 1003")
	p.SetString(prefVoicemail, "*97")
}

// The contacts panel subscribes once registered, lights each lamp from the
// engine's events, and its buttons call, transfer and pick up.
func TestContactsPanelLamps(t *testing.T) {
	f := &fakeLampEngine{fakeEngine: newFakeEngine()}
	h := newHarness(t, f, harnessOpts{accountURI: "sip:1001@parlo.test", prefs: lampPrefs})
	c := h.w.contacts
	if got := f.subscriptions(); len(got) != 0 {
		t.Fatalf("subscribed before registering: %v", got)
	}
	f.emit(callengine.EventRegistered, "", callengine.RegisteredPayload{Expires: 60})
	want := []string{"dialog 1002", "dialog 1003", "message-summary ", "presence 1002", "presence 1003"}
	h.waitFor("subscriptions", func() bool { return slices.Equal(f.subscriptions(), want) })
	if f.published != presence.StatusAvailable {
		t.Errorf("published %q, want available", f.published)
	}

	f.emit(callengine.EventBLFStateChanged, "", callengine.BLFPayload{Target: "1002", State: presence.LineRinging, Pickup: true})
	f.emit(callengine.EventBLFStateChanged, "", callengine.BLFPayload{Target: "1003", State: presence.LineBusy})
	f.emit(callengine.EventPresenceChanged, "", callengine.PresencePayload{Target: "1003", Status: presence.StatusDND})
	f.emit(callengine.EventVoicemailChanged, "", callengine.VoicemailPayload{Waiting: true, New: 3, Old: 5})
	h.waitFor("lamps", func() bool {
		return strings.Contains(c.rows["1002"].btn.Text, "ringing") && strings.Contains(c.rows["1003"].btn.Text, "on the phone (do not disturb)") &&
			c.vm.Text == "Voicemail 3"
	})
	if items := c.trayItems(); len(items) != 1 || items[0].Label != "Voicemail: 3 new" {
		t.Errorf("tray voicemail items %v", items)
	}
	if !c.rows["1002"].pickup.Visible() || c.rows["1003"].pickup.Visible() {
		t.Error("Pick up should show on the ringing lamp only")
	}
	if !c.rows["1003"].xfer.Disabled() {
		t.Error("Transfer enabled without a call")
	}

	test.Tap(c.rows["1002"].pickup)
	h.waitFor("pickup", func() bool { return slices.Contains(f.logged(), "Pickup 1002") })
	test.Tap(c.vm)
	h.waitFor("voicemail call", func() bool { return slices.Contains(f.logged(), "Call *97") })

	a := f.incoming("Alice", "sip:alice@192.0.2.20")
	f.establish(a)
	h.waitFor("answered", func() bool { return h.w.find(a) != nil && stateOf(h.w.find(a).s) == stateActive })
	h.w.setActive(a)
	h.waitFor("transfer enabled", func() bool { return !c.rows["1003"].xfer.Disabled() })
	test.Tap(c.rows["1003"].xfer)
	h.waitFor("transfer", func() bool { return slices.Contains(f.logged(), "Transfer "+a+" 1003") })
	test.Tap(c.rows["1002"].btn)
	h.waitFor("call", func() bool { return slices.Contains(f.logged(), "Call 1002") })

	// Settings change the list: 1003 is unwatched, 1004 watched.
	s, _ := LoadSettings(h.app.Preferences(), nil)
	s.WatchedExtensions = []string{"1002", "1004"}
	h.w.saveSettings(s)
	want = []string{"dialog 1002", "dialog 1004", "message-summary ", "presence 1002", "presence 1004"}
	h.waitFor("resubscribed", func() bool { return slices.Equal(f.subscriptions(), want) })
	if len(c.list.Objects) != 2 {
		t.Errorf("%d rows, want 2", len(c.list.Objects))
	}
}

func TestParseExtensions(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"1002, 1003", []string{"1002", "1003"}},
		{" 1002;1002\n bob ,", []string{"1002", "bob"}},
	}
	for _, tt := range tests {
		if got := parseExtensions(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("parseExtensions(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
