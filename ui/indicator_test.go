package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/parlo-voip/parlo/callengine"
)

// activeFakeCall returns a harness with one established call.
func activeFakeCall(t *testing.T) (*harness, *fakeEngine, string) {
	t.Helper()
	f := newFakeEngine()
	h := newHarness(t, f, harnessOpts{})
	id := f.incoming("Bob", "sip:bob@127.0.0.1")
	f.establish(id)
	h.waitFor("active call", func() bool { e := h.w.active(); return e != nil && stateOf(e.s) == stateActive })
	return h, f, id
}

func sharingShown(h *harness) (banner, badge, title bool) {
	banner = h.w.view.banner.visible()
	for _, r := range h.w.list.rowTexts() {
		if r[len(r)-1] == "SHARING" {
			badge = true
		}
	}
	title = strings.HasPrefix(h.w.win.Title(), "● Sharing")
	return
}

func TestShareOpensPickerAndChoosingStartsSharing(t *testing.T) {
	h, f, id := activeFakeCall(t)
	test.Tap(h.w.view.share)
	if h.w.picker == nil {
		t.Fatal("tapping Share did not open the picker")
	}
	p := h.w.picker
	h.waitFor("two monitor cards with thumbnails", func() bool {
		return len(p.cards) == 2 && p.cards[0].thumb.Image != nil && p.cards[1].thumb.Image != nil
	})
	if p.selected != 0 {
		t.Errorf("preselected %d, want the primary monitor 0", p.selected)
	}
	if got := p.cards[0].info.Text; got != "1920 × 1080 · ★ primary" {
		t.Errorf("card 0 info = %q", got)
	}
	if got := p.cards[1].info.Text; got != "1280 × 720" {
		t.Errorf("card 1 info = %q", got)
	}
	// Thumbnails keep refreshing while the picker is open.
	n := f.thumbnailCalls()
	h.waitFor("a second thumbnail round", func() bool { return f.thumbnailCalls() >= n+2 })

	c := h.w.win.Canvas()
	c.OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyRight})
	if p.selected != 1 {
		t.Fatalf("Right arrow: selected %d, want 1", p.selected)
	}
	c.OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyReturn})
	h.waitFor("StartScreenSharing", func() bool { return f.has("StartScreenSharing " + id + " 1") })
	if h.w.picker != nil {
		t.Error("picker still open after Enter")
	}
	// Asking is not sharing: nothing shows until the engine says so.
	h.settle()
	if b, g, ti := sharingShown(h); b || g || ti {
		t.Fatalf("indicator before onScreenShareStarted: banner %v badge %v title %v", b, g, ti)
	}
	f.change(id, callengine.EventScreenShareStarted, func(s *callengine.CallSession) { s.Screensharing = true })
	h.waitFor("banner", func() bool { return h.w.view.banner.visible() })
	if b, g, ti := sharingShown(h); !b || !g || !ti {
		t.Fatalf("after onScreenShareStarted: banner %v badge %v title %v (%q)", b, g, ti, h.w.win.Title())
	}
	if got := h.w.view.banner.text.Text; !strings.HasPrefix(got, "Sharing DUMMY1 — ") {
		t.Errorf("banner = %q, want it to name DUMMY1", got)
	}
	if h.w.view.share.Text != "Stop sharing" {
		t.Errorf("share button = %q while sharing", h.w.view.share.Text)
	}
	// Stop from the banner asks the engine; the banner stays until it says ended.
	test.Tap(h.w.view.banner.stop)
	h.waitFor("StopScreenSharing", func() bool { return f.has("StopScreenSharing " + id) })
	h.settle()
	if !h.w.view.banner.visible() {
		t.Fatal("banner hidden by the button press, before onScreenShareEnded")
	}
	f.change(id, callengine.EventScreenShareEnded, func(s *callengine.CallSession) { s.Screensharing = false })
	h.waitFor("banner gone", func() bool { return !h.w.view.banner.visible() })
	if b, g, ti := sharingShown(h); b || g || ti {
		t.Fatalf("after onScreenShareEnded: banner %v badge %v title %v", b, g, ti)
	}
}

func TestIndicatorFollowsEngineEvents(t *testing.T) {
	tests := []struct {
		name   string
		events []string
		want   bool
	}{
		{"started", []string{callengine.EventScreenShareStarted}, true},
		{"started then ended", []string{callengine.EventScreenShareStarted, callengine.EventScreenShareEnded}, false},
		{"started then ending (monitor gone)", []string{callengine.EventScreenShareStarted, callengine.EventScreenShareEnding}, false},
		{"resumed after hold restarts", []string{callengine.EventScreenShareStarted, callengine.EventScreenShareEnded, callengine.EventScreenShareStarted}, true},
		{"call ended while sharing", []string{callengine.EventScreenShareStarted, callengine.EventCallEnded}, false},
		{"other events do not start it", []string{callengine.EventCallHeld, callengine.EventCallResumed, callengine.EventVideoStream}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, f, id := activeFakeCall(t)
			base := h.w.handled
			for _, ev := range tt.events {
				if ev == callengine.EventCallEnded {
					f.end(id)
					continue
				}
				f.emit(ev, id, callengine.ScreenSharePayload{Monitor: "HDMI-1"})
			}
			h.waitFor("events applied", func() bool { return h.w.handled >= base+len(tt.events) })
			b, g, ti := sharingShown(h)
			if b != tt.want || g != tt.want || ti != tt.want {
				t.Fatalf("banner %v badge %v title %v, want all %v", b, g, ti, tt.want)
			}
			if tt.want && !strings.Contains(h.w.win.Title(), "HDMI-1") {
				t.Errorf("title %q does not name the monitor from the event", h.w.win.Title())
			}
		})
	}
}

func TestPickerEscapeCancels(t *testing.T) {
	h, f, _ := activeFakeCall(t)
	h.shortcut(actShare)
	p := h.w.picker
	if p == nil {
		t.Fatal("share shortcut did not open the picker")
	}
	h.waitFor("cards", func() bool { return len(p.cards) == 2 })
	h.w.win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if h.w.picker != nil {
		t.Fatal("Escape left the picker open")
	}
	h.settle()
	for _, l := range f.logged() {
		if strings.HasPrefix(l, "StartScreenSharing") {
			t.Fatalf("Escape started a share: %v", f.logged())
		}
	}
}

// onlyEngine hides the fake's Sharer and RemoteVideo methods.
type onlyEngine struct{ Engine }

func TestShareDisabledWithoutSharer(t *testing.T) {
	f := newFakeEngine()
	h := newHarness(t, onlyEngine{f}, harnessOpts{})
	id := f.incoming("Bob", "1002")
	f.establish(id)
	h.waitFor("active", func() bool { e := h.w.active(); return e != nil && stateOf(e.s) == stateActive })
	if !h.w.view.share.Disabled() {
		t.Fatal("Share enabled with an engine that cannot share")
	}
	if got := h.w.view.share.Tip(); got != "screen sharing not available" {
		t.Errorf("tooltip = %q", got)
	}
	h.shortcut(actShare)
	if h.w.picker != nil {
		t.Error("share shortcut opened a picker without a Sharer")
	}
}
