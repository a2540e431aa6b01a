package ui

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine"
	"github.com/parlo-voip/parlo/internal/history"
)

// waitEvent reads sub until an event of call id named name arrives.
func waitEvent(t *testing.T, sub *callengine.Subscription, id, name string) callengine.Event {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case ev := <-sub.C():
			if ev.Name == name && ev.Session != nil && ev.Session.SipCallID == id {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %s for call %s", name, id)
		}
	}
}

// The GUI's settings reach a real Phone: with do-not-disturb on, a real
// second phone calling it gets 486 and the call is recorded as rejected;
// with "Answer-Mode: Auto" honoured, a call asking for it is answered at
// once, and one not asking rings; with it off, the header is ignored.
func TestDNDAndAutoAnswerWithRealPhones(t *testing.T) {
	a := newLoopbackPhone(t, "udp:127.0.0.1:0", "alice")
	b := newLoopbackPhone(t, "udp:127.0.0.1:0", "bob")
	st, err := history.Open(filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rec := history.NewRecorder(st, testLogger(t))
	recSub := a.Subscribe()
	recDone := make(chan struct{})
	go func() { defer close(recDone); rec.Run(context.Background(), recSub.C()) }()
	defer func() { recSub.Close(); <-recDone }()

	h := newHarness(t, PhoneEngine(a), harnessOpts{desktop: desktopOptions{history: st}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bSub := b.Subscribe()
	defer bSub.Close()

	// Do not disturb (as the tray or Ctrl+Shift+B sets it).
	h.w.setDND(true)
	if !a.DoNotDisturb() {
		t.Fatal("setDND did not reach the phone")
	}
	s, err := b.Call(ctx, a.ContactURI(), callengine.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ev := waitEvent(t, bSub, s.SipCallID, callengine.EventCallRejected)
	if p, _ := ev.Payload.(callengine.CallStatusPayload); p.Status != 486 {
		t.Fatalf("caller got %v, want 486 Busy Here", ev.Payload)
	}
	waitEvent(t, bSub, s.SipCallID, callengine.EventCallEnded)
	h.settle()
	if len(h.w.incoming.showing()) != 0 || h.w.sounds.playing() != soundNone {
		t.Fatal("a DND call rang in the GUI")
	}
	h.waitFor("DND call in history", func() bool {
		recs, _ := st.Search("", 0)
		return len(recs) == 1 && recs[0].Outcome == history.OutcomeRejected && recs[0].Reason == "486 do not disturb"
	})
	h.w.setDND(false)

	// Answer-Mode honoured (Settings → "Answer at once when the caller asks").
	h.w.saveSettings(Settings{HonourAnswerMode: true, ShareFPS: 15})
	auto := callengine.CallOptions{Headers: map[string]string{"Answer-Mode": "Auto"}}
	s, err = b.Call(ctx, a.ContactURI(), auto)
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, bSub, s.SipCallID, callengine.EventCallAccepted)
	if err := b.Hangup(ctx, s.SipCallID); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, bSub, s.SipCallID, callengine.EventCallEnded)
	h.waitFor("auto-answered call in history as answered", func() bool {
		r, err := st.Get(s.SipCallID)
		return err == nil && r.Outcome == history.OutcomeAnswered && r.Direction == history.Incoming
	})

	// Honouring off: the same header only rings.
	h.w.saveSettings(Settings{ShareFPS: 15})
	s, err = b.Call(ctx, a.ContactURI(), auto)
	if err != nil {
		t.Fatal(err)
	}
	id := s.SipCallID
	h.waitFor("ringing prompt", func() bool { _, ok := h.w.incoming.cards[id]; return ok })
	waitSound(h, soundRingtone)
	if err := b.Hangup(ctx, id); err != nil { // the caller gives up: missed
		t.Fatal(err)
	}
	h.waitFor("missed call recorded and notified", func() bool {
		r, err := st.Get(id)
		n := h.app.sent()
		return err == nil && r.Outcome == history.OutcomeMissed && len(n) > 0 && n[len(n)-1].Title == "Missed call: "+h.w.find(id).remoteName()
	})
	waitSound(h, soundNone)
}
