package ui

import (
	"sync"
	"testing"

	"github.com/parlo-voip/parlo/callengine"
)

// capturingFake is the fake engine plus a capture state that changes
// without any event, as when the share events are stuck behind a backlog.
type capturingFake struct {
	*fakeEngine
	mu      sync.Mutex
	sharing map[string]string
	changed chan struct{}
}

func (c *capturingFake) ScreenSharing() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]string{}
	for k, v := range c.sharing {
		out[k] = v
	}
	return out
}

func (c *capturingFake) ScreenSharingChanged() <-chan struct{} { return c.changed }

func (c *capturingFake) set(id, monitor string, on bool) {
	c.mu.Lock()
	if on {
		c.sharing[id] = monitor
	} else {
		delete(c.sharing, id)
	}
	c.mu.Unlock()
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

// The indicators follow the engine's capture state, whatever the events
// say: capture without any event shows them all, a stale "ended" event does
// not hide a running capture, and the end of capture hides them.
func TestIndicatorFollowsCaptureState(t *testing.T) {
	f := &capturingFake{fakeEngine: newFakeEngine(), sharing: map[string]string{}, changed: make(chan struct{}, 1)}
	h := newHarness(t, f, harnessOpts{})
	id := f.incoming("Bob", "sip:bob@127.0.0.1")
	f.establish(id)
	h.waitFor("active call", func() bool { e := h.w.active(); return e != nil && stateOf(e.s) == stateActive })

	all := func(want bool) func() bool {
		return func() bool { b, g, ti := sharingShown(h); return b == want && g == want && ti == want }
	}
	f.set(id, "DUMMY1", true) // capture runs; no event at all
	// The window takes the change signal at once (it does not wait for
	// its one-second tick), and the indicator follows.
	h.waitFor("the change signal taken", func() bool { return len(f.changed) == 0 })
	h.waitFor("banner, badge and title from capture state", all(true))
	if got := h.w.view.banner.text.Text; got[:len("Sharing DUMMY1")] != "Sharing DUMMY1" {
		t.Errorf("banner %q does not name the monitor", got)
	}
	// A late "ended" event while the capture still runs changes nothing.
	f.emit(callengine.EventScreenShareEnded, id, nil)
	h.settle()
	if b, g, ti := sharingShown(h); !b || !g || !ti {
		t.Fatalf("a stale ended event hid a running capture: banner %v badge %v title %v", b, g, ti)
	}
	f.set(id, "", false)
	h.waitFor("indicator gone with the capture", all(false))
	// And a "started" event with no capture behind it shows nothing.
	f.emit(callengine.EventScreenShareStarted, id, callengine.ScreenSharePayload{Monitor: "HDMI-1"})
	h.settle()
	if b, g, ti := sharingShown(h); b || g || ti {
		t.Fatalf("indicator without capture: banner %v badge %v title %v", b, g, ti)
	}
}
