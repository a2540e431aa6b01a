package ui

import (
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/parlo-voip/parlo/capture"
)

// TestPickerWaylandSystemDialog: on Wayland the engine lists one screen
// that the system's dialog will choose (no size, no thumbnail). Its card
// says so, and the share it starts may wait for the person in that
// dialog far longer than a click.
func TestPickerWaylandSystemDialog(t *testing.T) {
	h, f, id := activeFakeCall(t)
	f.mu.Lock()
	f.monitors = []capture.Monitor{{Index: 0, Name: "Screen chosen in the system dialog", Primary: true}}
	f.mu.Unlock()
	test.Tap(h.w.view.share)
	if h.w.picker == nil {
		t.Fatal("tapping Share did not open the picker")
	}
	p := h.w.picker
	h.waitFor("one card", func() bool { return len(p.cards) == 1 })
	if got := p.cards[0].info.Text; got != "the system asks which screen" {
		t.Errorf("card info = %q, want the system dialog's note instead of a size", got)
	}
	p.shareSelected()
	h.waitFor("StartScreenSharing", func() bool { return f.has("StartScreenSharing " + id + " 0") })
	f.mu.Lock()
	got := f.shareTimeout
	f.mu.Unlock()
	if got < time.Minute {
		t.Errorf("share through the system dialog given %v, want the dialog's minutes", got)
	}
}
