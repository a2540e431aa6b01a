package callengine

import (
	"testing"
	"time"
)

func TestSoundFor(t *testing.T) {
	answered := &CallSession{Answered: true}
	ringing := &CallSession{Ringing: true}
	cases := []struct {
		event  string
		s      *CallSession
		others bool
		want   string
	}{
		{EventCallIncoming, ringing, false, EventPlayRingingSound},
		{EventCallIncoming, ringing, true, EventPlayInboundCallSignalSound},
		{EventCallIncoming, &CallSession{Ignored: true}, false, ""},
		{EventProgress, ringing, false, EventPlayProgressSound},
		{EventCallAccepted, answered, false, EventTerminateSound},
		{EventCallCanceled, ringing, false, EventTerminateSound},
		{EventCallEnded, answered, false, EventPlayHangupSound},
		{EventCallEnded, ringing, false, EventTerminateSound},
		{EventCallHeld, answered, false, ""},
	}
	for _, tc := range cases {
		if got := soundFor(tc.event, tc.s, tc.others); got != tc.want {
			t.Errorf("%s (others=%v): %q, want %q", tc.event, tc.others, got, tc.want)
		}
	}
}

func TestIgnoreAndSoundEventsIntegration(t *testing.T) {
	a := newTestPhone(t, testPhoneOpts{toneHz: 440})
	b := newTestPhone(t, testPhoneOpts{toneHz: 660})
	ctx := ctxT(t, 15*time.Second)
	s, err := a.Call(ctx, b.uri(), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b.rec.wait(t, EventPlayRingingSound, s.SipCallID, 5*time.Second)
	a.rec.wait(t, EventPlayProgressSound, s.SipCallID, 5*time.Second)
	if err := b.Ignore(s.SipCallID); err != nil {
		t.Fatal(err)
	}
	ts := b.rec.wait(t, EventTerminateSound, s.SipCallID, 2*time.Second)
	if !ts.Session.Ignored || ts.Session.IsTerminated() {
		t.Fatalf("after ignore: %+v", ts.Session)
	}
	// Still ringing: it can be answered later.
	if err := b.Accept(ctx, s.SipCallID); err != nil {
		t.Fatalf("Accept after Ignore: %v", err)
	}
	a.rec.wait(t, EventMediaConnected, s.SipCallID, 5*time.Second)
	// A second incoming call while one is up beeps instead of ringing.
	c := newTestPhone(t, testPhoneOpts{toneHz: 880})
	s2, err := c.Call(ctx, b.uri(), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b.rec.wait(t, EventPlayInboundCallSignalSound, s2.SipCallID, 5*time.Second)
	_ = a.Hangup(ctx, s.SipCallID)
	b.rec.wait(t, EventPlayHangupSound, s.SipCallID, 5*time.Second)
}
