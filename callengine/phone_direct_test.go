package callengine

import (
	"slices"
	"testing"
	"time"
)

// call sets up A → B, B accepts, and waits for media on both sides.
func connect(t *testing.T, a, b *testPhone) (aID, bID string) {
	t.Helper()
	ctx := ctxT(t, 10*time.Second)
	s, err := a.Call(ctx, b.uri(), CallOptions{})
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	aID = s.SipCallID
	in := b.rec.wait(t, EventCallIncoming, "", 5*time.Second)
	bID = in.Session.SipCallID
	if bID != aID {
		t.Fatalf("Call-ID differs: A %q, B %q", aID, bID)
	}
	if !in.Session.Ringing || in.Session.IsCaller {
		t.Fatalf("incoming session: ringing=%v isCaller=%v", in.Session.Ringing, in.Session.IsCaller)
	}
	a.rec.wait(t, EventProgress, aID, 5*time.Second)
	if err := b.Accept(ctx, bID); err != nil {
		t.Fatalf("Accept: %v", err)
	}
	acc := a.rec.wait(t, EventCallAccepted, aID, 5*time.Second)
	if !acc.Session.Answered || acc.Session.SipStatus != SipStatusEstablished || acc.Session.AnswerTime == nil {
		t.Fatalf("accepted session: %+v", acc.Session)
	}
	b.rec.wait(t, EventCallAccepted, bID, 5*time.Second)
	a.rec.wait(t, EventMediaConnected, aID, 5*time.Second)
	b.rec.wait(t, EventMediaConnected, bID, 5*time.Second)
	return aID, bID
}

func TestDirectCallToneBothWaysIntegration(t *testing.T) {
	a := newTestPhone(t, testPhoneOpts{toneHz: 440})
	b := newTestPhone(t, testPhoneOpts{toneHz: 660})
	start := time.Now()
	aID, bID := connect(t, a, b)
	t.Logf("call setup (Call → onMediaConnected at A): %s", time.Since(start))

	b.waitTone(t, 440, 5*time.Second)
	a.waitTone(t, 660, 5*time.Second)

	st, err := a.Stats(aID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Audio.PacketsReceived == 0 || st.Audio.PacketsSent == 0 || st.Audio.Codec == "" {
		t.Fatalf("stats: %+v", st)
	}

	ctx := ctxT(t, 10*time.Second)
	if err := a.Hangup(ctx, aID); err != nil {
		t.Fatalf("Hangup: %v", err)
	}
	endA := a.rec.wait(t, EventCallEnded, aID, 5*time.Second)
	if endA.Session.EndTime == nil || endA.Session.SipStatus != SipStatusTerminated {
		t.Fatalf("ended session: %+v", endA.Session)
	}
	b.rec.wait(t, EventCallEnded, bID, 5*time.Second)

	wantA := []string{EventCallOutgoing, EventProgress, EventCallAccepted, EventMediaConnected, EventCallEnding, EventCallEnded}
	if got := filter(a.rec.names(aID), wantA); !slices.Equal(got, wantA) {
		t.Errorf("A's events: %v, want in order %v", got, wantA)
	}
	wantB := []string{EventCallIncoming, EventCallAnswered, EventCallAccepted, EventMediaConnected, EventCallEnding, EventCallEnded}
	if got := filter(b.rec.names(bID), wantB); !slices.Equal(got, wantB) {
		t.Errorf("B's events: %v, want in order %v", got, wantB)
	}
	if len(a.Calls()) != 0 || len(b.Calls()) != 0 {
		t.Errorf("calls left after hangup: %d, %d", len(a.Calls()), len(b.Calls()))
	}
}

// filter keeps the names that are in want (other events, e.g. onTrack, may
// interleave).
func filter(names, want []string) []string {
	var out []string
	for _, n := range names {
		if slices.Contains(want, n) {
			out = append(out, n)
		}
	}
	return out
}

func TestDirectHoldResumeIntegration(t *testing.T) {
	a := newTestPhone(t, testPhoneOpts{toneHz: 440})
	b := newTestPhone(t, testPhoneOpts{toneHz: 660})
	aID, bID := connect(t, a, b)
	b.waitTone(t, 440, 5*time.Second)
	a.waitTone(t, 660, 5*time.Second)
	ctx := ctxT(t, 20*time.Second)

	// A holds: both directions go quiet.
	if err := a.Hold(ctx, aID); err != nil {
		t.Fatalf("Hold: %v", err)
	}
	held := a.rec.wait(t, EventCallHeld, aID, 2*time.Second)
	if !held.Session.Paused {
		t.Fatal("onCallHeld without paused")
	}
	b.rec.wait(t, EventReinvite, bID, 2*time.Second)
	a.waitSilence(t, 3*time.Second)
	b.waitSilence(t, 3*time.Second)

	if err := a.Resume(ctx, aID); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	a.rec.wait(t, EventCallResumed, aID, 2*time.Second)
	b.waitTone(t, 440, 5*time.Second)
	a.waitTone(t, 660, 5*time.Second)

	// B holds now (the other direction of re-INVITE).
	if err := b.Hold(ctx, bID); err != nil {
		t.Fatalf("B Hold: %v", err)
	}
	a.waitSilence(t, 3*time.Second)
	b.waitSilence(t, 3*time.Second)
	if err := b.Resume(ctx, bID); err != nil {
		t.Fatalf("B Resume: %v", err)
	}
	b.waitTone(t, 440, 5*time.Second)
	a.waitTone(t, 660, 5*time.Second)

	// Hang up from the callee's side this time.
	if err := b.Hangup(ctx, bID); err != nil {
		t.Fatalf("B Hangup: %v", err)
	}
	a.rec.wait(t, EventCallEnded, aID, 5*time.Second)
	b.rec.wait(t, EventCallEnded, bID, 5*time.Second)
}

func TestDirectCancelBeforeAnswerIntegration(t *testing.T) {
	a := newTestPhone(t, testPhoneOpts{toneHz: 440})
	b := newTestPhone(t, testPhoneOpts{toneHz: 660})
	ctx := ctxT(t, 10*time.Second)
	s, err := a.Call(ctx, b.uri(), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b.rec.wait(t, EventCallIncoming, s.SipCallID, 5*time.Second)
	a.rec.wait(t, EventProgress, s.SipCallID, 5*time.Second)
	if err := a.Hangup(ctx, s.SipCallID); err != nil {
		t.Fatalf("Hangup (CANCEL): %v", err)
	}
	b.rec.wait(t, EventCallCanceled, s.SipCallID, 5*time.Second)
	b.rec.wait(t, EventCallEnded, s.SipCallID, 5*time.Second)
	a.rec.wait(t, EventCallEnded, s.SipCallID, 5*time.Second)
	if n := a.rec.count(EventCallAccepted, s.SipCallID); n != 0 {
		t.Fatalf("canceled call was accepted %d times", n)
	}
}

func TestDirectRejectIntegration(t *testing.T) {
	for _, code := range []int{486, 603} {
		a := newTestPhone(t, testPhoneOpts{toneHz: 440})
		b := newTestPhone(t, testPhoneOpts{toneHz: 660})
		ctx := ctxT(t, 10*time.Second)
		s, err := a.Call(ctx, b.uri(), CallOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b.rec.wait(t, EventCallIncoming, s.SipCallID, 5*time.Second)
		if err := b.Reject(ctx, s.SipCallID, code); err != nil {
			t.Fatalf("Reject: %v", err)
		}
		rej := a.rec.wait(t, EventCallRejected, s.SipCallID, 5*time.Second)
		if got := payloadOf[CallStatusPayload](rej).Status; got != code {
			t.Fatalf("rejected with status %v, want %d", got, code)
		}
		if rej.Session.EndTime == nil {
			t.Fatal("rejected session has no endTime")
		}
		a.rec.wait(t, EventCallEnded, s.SipCallID, 5*time.Second)
		b.rec.wait(t, EventCallEnded, s.SipCallID, 5*time.Second)
	}
}

func TestDoNotDisturbAndAnswerModeIntegration(t *testing.T) {
	a := newTestPhone(t, testPhoneOpts{toneHz: 440})
	b := newTestPhone(t, testPhoneOpts{toneHz: 660})
	ctx := ctxT(t, 15*time.Second)

	b.SetDoNotDisturb(true)
	s, err := a.Call(ctx, b.uri(), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rej := a.rec.wait(t, EventCallRejected, s.SipCallID, 5*time.Second)
	if payloadOf[CallStatusPayload](rej).Status != 486 {
		t.Fatalf("DND answered %v, want 486", rej.Payload)
	}
	b.rec.wait(t, EventCallRejected, s.SipCallID, 2*time.Second)
	if n := b.rec.count(EventCallIncoming, s.SipCallID); n != 0 {
		t.Fatalf("DND still rang (%d onCallIncoming)", n)
	}
	b.SetDoNotDisturb(false)

	// Answer-Mode: Auto is ignored unless honoured...
	s2, err := a.Call(ctx, b.uri(), CallOptions{Headers: map[string]string{"Answer-Mode": "Auto"}})
	if err != nil {
		t.Fatal(err)
	}
	in := b.rec.wait(t, EventCallIncoming, s2.SipCallID, 5*time.Second)
	if !in.Session.AutoAnswer {
		t.Fatal("autoAnswer not set from Answer-Mode: Auto")
	}
	// Still ringing: B can reject it, and A sees the rejection.
	if err := b.Reject(ctx, s2.SipCallID, 603); err != nil {
		t.Fatalf("Answer-Mode: Auto was answered without being honoured: %v", err)
	}
	a.rec.wait(t, EventCallRejected, s2.SipCallID, 5*time.Second)
	if n := a.rec.count(EventCallAccepted, s2.SipCallID); n != 0 {
		t.Fatal("Answer-Mode: Auto answered without being honoured")
	}

	// ...and answers at once when it is.
	b.SetAutoAnswer(false, true)
	s3, err := a.Call(ctx, b.uri(), CallOptions{Headers: map[string]string{"Answer-Mode": "Auto"}})
	if err != nil {
		t.Fatal(err)
	}
	a.rec.wait(t, EventCallAccepted, s3.SipCallID, 5*time.Second)
	b.waitTone(t, 440, 5*time.Second)
}

// B answers with 183 and media before accepting: A hears B's tone while the
// call is still ringing (onEarlyMedia), then the 200 OK keeps the same media.
func TestEarlyMediaIntegration(t *testing.T) {
	a := newTestPhone(t, testPhoneOpts{toneHz: 440})
	b := newTestPhone(t, testPhoneOpts{toneHz: 660})
	ctx := ctxT(t, 20*time.Second)
	s, err := a.Call(ctx, b.uri(), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b.rec.wait(t, EventCallIncoming, s.SipCallID, 5*time.Second)
	if err := b.EarlyMedia(ctx, s.SipCallID); err != nil {
		t.Fatalf("EarlyMedia: %v", err)
	}
	em := a.rec.wait(t, EventEarlyMedia, s.SipCallID, 5*time.Second)
	if em.Session.Answered || !payloadOf[EarlyMediaPayload](em).SDP {
		t.Fatalf("onEarlyMedia: answered=%v sdp=%v", em.Session.Answered, payloadOf[EarlyMediaPayload](em).SDP)
	}
	a.waitTone(t, 660, 5*time.Second) // heard before the answer
	if n := a.rec.count(EventCallAccepted, s.SipCallID); n != 0 {
		t.Fatal("accepted before B answered")
	}
	if err := b.Accept(ctx, s.SipCallID); err != nil {
		t.Fatalf("Accept after early media: %v", err)
	}
	a.rec.wait(t, EventCallAccepted, s.SipCallID, 5*time.Second)
	b.waitTone(t, 440, 5*time.Second)
	a.waitTone(t, 660, 5*time.Second)
}
