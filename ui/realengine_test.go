package ui

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/parlo-voip/parlo/callengine"
)

// loopbackTransports are the listen addresses the real-engine tests run on.
var loopbackTransports = []string{"udp:127.0.0.1:0", "tcp:127.0.0.1:0"}

func newLoopbackPhone(t *testing.T, listen, user string) *callengine.Phone {
	t.Helper()
	p, err := callengine.NewPhone(callengine.Options{
		Listen: []string{listen},
		User:   user,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("NewPhone: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// Two real phones on loopback: B calls the GUI's phone A; the prompt shows,
// Accept answers, the list tracks state and duration, B's hangup ends it.
func TestRealEngineIncomingAcceptHangupIntegration(t *testing.T) {
	for _, l := range loopbackTransports {
		t.Run(l[:3], func(t *testing.T) { testRealIncoming(t, l) })
	}
}

func testRealIncoming(t *testing.T, listen string) {
	t.Helper()
	a := newLoopbackPhone(t, listen, "alice")
	b := newLoopbackPhone(t, listen, "bob")
	h := newHarness(t, PhoneEngine(a), harnessOpts{})
	if !strings.Contains(h.w.status.Text, a.ContactURI()) {
		t.Fatalf("status %q lacks A's address %s", h.w.status.Text, a.ContactURI())
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := b.Call(ctx, a.ContactURI(), callengine.CallOptions{})
	if err != nil {
		t.Fatalf("B calls A: %v", err)
	}
	id := s.SipCallID
	h.waitFor("incoming prompt", func() bool {
		_, ok := h.w.incoming.cards[id]
		return ok
	})
	if got := h.w.list.rowTexts()[0]; got[2] != "ringing" || !strings.Contains(got[1], "Incoming") {
		t.Errorf("ringing row = %q", got)
	}

	test.Tap(h.w.incoming.cards[id].accept)
	h.waitFor("call active in the list", func() bool {
		e := h.w.find(id)
		return e != nil && stateOf(e.s) == stateActive && len(h.w.incoming.showing()) == 0
	})
	if h.w.activeID != id {
		t.Errorf("answered call not active")
	}
	// The duration runs (the window's one-second clock redraws it). Under
	// load the poll may first see it past 0:01, so any value after 0:00
	// counts.
	h.waitFor("duration passes 0:00", func() bool {
		d := h.w.list.rowTexts()[0][3]
		return strings.HasPrefix(d, "0:") && d != "0:00"
	})

	if err := b.Hangup(ctx, id); err != nil {
		t.Fatalf("B hangs up: %v", err)
	}
	h.waitFor("ended", func() bool { return h.w.list.rowTexts()[0][2] == "ended" })
	if !h.w.view.hangup.Disabled() {
		t.Error("hang up still enabled after the remote BYE")
	}
}

// The GUI places a real call with its Call button and hangs up with the
// shortcut.
func TestRealEngineOutgoingCallAndHangupIntegration(t *testing.T) {
	for _, l := range loopbackTransports {
		t.Run(l[:3], func(t *testing.T) { testRealOutgoing(t, l) })
	}
}

func testRealOutgoing(t *testing.T, listen string) {
	t.Helper()
	a := newLoopbackPhone(t, listen, "alice")
	b := newLoopbackPhone(t, listen, "bob")
	sub := b.Subscribe()
	defer sub.Close()
	h := newHarness(t, PhoneEngine(a), harnessOpts{})

	test.Type(h.w.dial, b.ContactURI())
	test.Tap(h.w.callBtn)
	h.waitFor("call listed", func() bool { return len(h.w.calls) == 1 || h.w.action.errIcon.Visible() })
	h.waitFor("calling or failed", func() bool {
		return len(h.w.calls) == 1 && h.w.list.rowTexts()[0][2] != "calling" || h.w.action.errIcon.Visible() ||
			len(h.w.calls) == 1 && len(a.Calls()) == 1
	})
	if len(a.Calls()) != 1 {
		t.Fatalf("call not placed: %s", h.w.action.text())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for ev := range sub.C() {
		if ev.Name == callengine.EventCallIncoming {
			if err := b.Accept(ctx, ev.Session.SipCallID); err != nil {
				t.Fatalf("B accepts: %v", err)
			}
			break
		}
	}
	h.waitFor("active", func() bool { return h.w.list.rowTexts()[0][2] == "active" })
	h.shortcut(actHangup)
	h.waitFor("ended", func() bool { return h.w.list.rowTexts()[0][2] == "ended" })
	if len(a.Calls()) != 0 {
		t.Errorf("engine still has %d calls", len(a.Calls()))
	}
}
