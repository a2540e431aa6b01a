package ui

import (
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
)

func TestIncomingPromptAcceptAndReject(t *testing.T) {
	f := newFakeEngine()
	h := newHarness(t, f, harnessOpts{})
	id := f.incoming("Alice", "sip:alice@127.0.0.1")
	h.waitFor("prompt", func() bool { return slices.Equal(h.w.incoming.showing(), []string{id}) })
	card := h.w.incoming.cards[id]
	if card.name.Text != "Incoming call: Alice" || !strings.HasPrefix(card.detail.Text, "sip:alice@127.0.0.1 · ringing") {
		t.Errorf("prompt says %q / %q", card.name.Text, card.detail.Text)
	}
	test.Tap(card.accept)
	h.waitFor("accepted", func() bool { return f.has("Accept "+id) && len(h.w.incoming.showing()) == 0 })
	if h.w.activeID != id {
		t.Errorf("answered call is not active")
	}

	// Call waiting: a second call rings during the first.
	id2 := f.incoming("Bob", "1002")
	h.waitFor("second prompt", func() bool { return slices.Equal(h.w.incoming.showing(), []string{id2}) })
	if d := h.w.incoming.cards[id2].detail.Text; !strings.Contains(d, "answering holds Alice") {
		t.Errorf("call-waiting prompt = %q, want it to say the active call is held", d)
	}
	if h.w.activeID != id {
		t.Errorf("a ringing call took the active view")
	}
	test.Tap(h.w.incoming.cards[id2].reject)
	h.waitFor("rejected", func() bool { return f.has("Reject "+id2+" 486") && len(h.w.incoming.showing()) == 0 })
}

func TestIncomingPromptGoesWhenCallerCancels(t *testing.T) {
	f := newFakeEngine()
	h := newHarness(t, f, harnessOpts{})
	id := f.incoming("Alice", "1001")
	h.waitFor("prompt", func() bool { return len(h.w.incoming.showing()) == 1 })
	f.end(id)
	h.waitFor("prompt gone", func() bool { return len(h.w.incoming.showing()) == 0 })
	if got := h.w.list.rowTexts()[0][2]; got != "ended" {
		t.Errorf("state = %q", got)
	}
}
