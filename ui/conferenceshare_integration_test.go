package ui

import (
	"context"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/parlo-voip/parlo/callengine"
	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/internal/testpeers"
)

// The Share button in a conference shares with every party: the GUI's
// real phone A calls B and C, Merge joins them, Share screen and Enter in
// the picker share a moving monitor from the active call; B and C both
// decode it at the monitor's size with frames rising; the button then
// stops it on both calls, and neither party decodes any more.
func TestShareButtonInConferenceIntegration(t *testing.T) {
	d := testpeers.StartDummyTwoMonitors(t)
	a, b, c := newDisplayPhone(t, d, false), newDisplayPhone(t, d, true), newDisplayPhone(t, d, true)
	h := newHarness(t, PhoneEngine(a), harnessOpts{})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var ids []string
	for _, peer := range []*callengine.Phone{b, c} {
		s, err := a.Call(ctx, peer.ContactURI(), callengine.CallOptions{})
		if err != nil {
			t.Fatal(err)
		}
		id := s.SipCallID
		h.waitFor("call established", func() bool { e := h.w.find(id); return e != nil && e.s.IsEstablished() })
		ids = append(ids, id)
	}
	bID, cID := ids[0], ids[1]
	h.w.setActive(cID)
	h.waitFor("Merge enabled", func() bool { return !h.w.view.conf.merge.Disabled() })
	test.Tap(h.w.view.conf.merge)
	h.waitFor("both calls in the conference", func() bool {
		eb, ec := h.w.find(bID), h.w.find(cID)
		return eb != nil && ec != nil && eb.s.Conference && ec.s.Conference
	})

	mons, err := a.Monitors()
	if err != nil || len(mons) == 0 {
		t.Fatalf("monitors: %v %v", mons, err)
	}
	mon := mons[0]
	d.ShowTestPattern(t, mon.X, mon.Y, mon.Width, mon.Height)
	h.w.setActive(cID)
	test.Tap(h.w.view.share)
	h.waitFor("the picker", func() bool { return h.w.picker != nil && len(h.w.picker.cards) > 0 })
	h.w.win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyReturn})
	waitUntil(t, "A shares with both calls", 30*time.Second, h, func() bool {
		got := a.ScreenSharing()
		return got[bID] == mon.Name && got[cID] == mon.Name
	})

	decoded := func(p *callengine.Phone, id string) media.Stats {
		st, err := p.Stats(id)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	first := map[string]uint64{}
	for _, party := range []struct {
		name string
		p    *callengine.Phone
		id   string
	}{{"B", b, bID}, {"C", c, cID}} {
		waitUntil(t, party.name+" decodes the monitor", 20*time.Second, h, func() bool {
			v := decoded(party.p, party.id).Video.Received
			return v.Width == mon.Width && v.Height == mon.Height && v.FramesDecoded >= 5
		})
		first[party.name] = decoded(party.p, party.id).Video.Received.FramesDecoded
	}
	waitUntil(t, "B's and C's frames rise", 20*time.Second, h, func() bool {
		return decoded(b, bID).Video.Received.FramesDecoded >= first["B"]+15 && decoded(c, cID).Video.Received.FramesDecoded >= first["C"]+15
	})
	t.Logf("from the Share button: B decoded %d frames, C %d, at %dx%d",
		decoded(b, bID).Video.Received.FramesDecoded, decoded(c, cID).Video.Received.FramesDecoded, mon.Width, mon.Height)

	// The button now stops the share, on every call.
	h.waitFor("Stop sharing offered", func() bool { e := h.w.active(); return e != nil && e.sharing })
	test.Tap(h.w.view.share)
	waitUntil(t, "the share ends on both calls", 20*time.Second, h, func() bool { return len(a.ScreenSharing()) == 0 })
	h.waitFor("the GUI shows no share", func() bool {
		eb, ec := h.w.find(bID), h.w.find(cID)
		return !eb.s.Screensharing && !ec.s.Screensharing
	})
	time.Sleep(200 * time.Millisecond) // frames already in flight
	nb, nc := decoded(b, bID).Video.Received.FramesDecoded, decoded(c, cID).Video.Received.FramesDecoded
	time.Sleep(700 * time.Millisecond)
	if mb, mc := decoded(b, bID).Video.Received.FramesDecoded, decoded(c, cID).Video.Received.FramesDecoded; mb != nb || mc != nc {
		t.Fatalf("after Stop, B decoded %d more frames and C %d more; want none", mb-nb, mc-nc)
	}
}

// waitUntil polls cond (pumping the GUI) until it holds, failing after
// timeout: for waits longer than the harness's ten seconds.
func waitUntil(t *testing.T, what string, timeout time.Duration, h *harness, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		h.pump()
		time.Sleep(20 * time.Millisecond)
	}
}
