package ui

import (
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/parlo-voip/parlo/callengine"
)

// The far end's transfer request shows a card with Accept and Decline; the
// answer goes to the engine and the card goes, also when the engine ends
// the request itself (timeout) or the call ends.
func TestTransferRequestPrompt(t *testing.T) {
	cases := []struct {
		name   string
		answer func(h *harness, f *fakeEngine, id string)
		want   string // fake engine log entry, "" for none
	}{
		{"accept", func(h *harness, _ *fakeEngine, id string) { test.Tap(h.w.xferRequests.cards[id].accept) }, "AcceptTransfer %s"},
		{"decline", func(h *harness, _ *fakeEngine, id string) { test.Tap(h.w.xferRequests.cards[id].decline) }, "DeclineTransfer %s"},
		{"engine times it out", func(_ *harness, f *fakeEngine, id string) {
			f.emit(callengine.EventTransferRequestEnded, id, callengine.TransferRequestEndedPayload{Reason: "the user did not answer the transfer request"})
		}, ""},
		{"call ends", func(_ *harness, f *fakeEngine, id string) { f.end(id) }, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeEngine()
			h := newHarness(t, f, harnessOpts{})
			id := f.incoming("Bob", "1002")
			h.waitFor("prompt", func() bool { return len(h.w.incoming.showing()) == 1 })
			test.Tap(h.w.incoming.cards[id].accept)
			f.establish(id)
			// A policy that decided by itself shows nothing.
			f.emit(callengine.EventTransferRequested, id, callengine.TransferRequestedPayload{Target: "sip:carol@parlo.test"})
			f.emit(callengine.EventTransferRequested, id, callengine.TransferRequestedPayload{Target: "sip:carol@parlo.test", ReferredBy: "<sip:bob@parlo.test>", Pending: true})
			h.waitFor("transfer request", func() bool { return slices.Equal(h.w.xferRequests.showing(), []string{id}) })
			if txt := h.w.xferRequests.cards[id].text.Text; !strings.Contains(txt, "Bob asks to transfer you to sip:carol@parlo.test") || !strings.Contains(txt, "sip:bob@parlo.test") {
				t.Errorf("card says %q", txt)
			}
			tc.answer(h, f, id)
			h.waitFor("card gone", func() bool { return len(h.w.xferRequests.showing()) == 0 })
			if tc.want != "" {
				want := strings.ReplaceAll(tc.want, "%s", id)
				h.waitFor(want, func() bool { return f.has(want) })
			}
		})
	}
}
