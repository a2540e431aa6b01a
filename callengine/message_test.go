package callengine

import (
	"reflect"
	"testing"
	"time"
)

func TestMessageChatAndSignalIntegration(t *testing.T) {
	a := newTestPhone(t, testPhoneOpts{toneHz: 440})
	b := newTestPhone(t, testPhoneOpts{toneHz: 660})
	ctx := ctxT(t, 15*time.Second)

	// Out of dialog, plain text.
	if err := a.SendMessage(ctx, "", b.uri(), "text/plain", []byte("hello bob")); err != nil {
		t.Fatalf("out-of-dialog MESSAGE: %v", err)
	}
	m := b.rec.wait(t, EventMessage, "", 5*time.Second)
	if payloadOf[MessagePayload](m).Body != "hello bob" || payloadOf[MessagePayload](m).ContentType != "text/plain" || m.Session != nil {
		t.Fatalf("onMessage: %+v session=%v", m.Payload, m.Session)
	}

	aID, bID := connect(t, a, b)
	// In dialog: chat both ways.
	if err := a.SendChat(ctx, aID, "bonjour"); err != nil {
		t.Fatalf("SendChat: %v", err)
	}
	chat := b.rec.wait(t, EventChat, bID, 5*time.Second)
	if payloadOf[ChatPayload](chat).Content != "bonjour" {
		t.Fatalf("chat content %v", payloadOf[ChatPayload](chat).Content)
	}
	if err := b.SendChat(ctx, bID, "salut"); err != nil {
		t.Fatalf("SendChat back: %v", err)
	}
	if got := payloadOf[ChatPayload](a.rec.wait(t, EventChat, aID, 5*time.Second)).Content; got != "salut" {
		t.Fatalf("chat back %v", got)
	}

	// A JSON signal round trip keeps its structure.
	sig := map[string]any{"type": "custom", "n": 3.0, "list": []any{"x", true}}
	if err := a.SendSignal(ctx, aID, sig); err != nil {
		t.Fatalf("SendSignal: %v", err)
	}
	got := payloadOf[ChatPayload](b.rec.wait(t, EventSignal, bID, 5*time.Second)).Content
	if !reflect.DeepEqual(got, sig) {
		t.Fatalf("signal %v, want %v", got, sig)
	}

	// onTrackUpdated downgrade marks the session.
	if err := a.SendSignal(ctx, aID, map[string]any{"type": "onTrackUpdated", "update": "downgrade"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := b.Calls()[0]
		if s.VideoRemotelyDowngraded != nil && *s.VideoRemotelyDowngraded {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("videoRemotelyDowngraded not set by the downgrade signal")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A MESSAGE for a call that does not exist fails cleanly.
	if err := a.SendChat(ctx, "nope", "x"); err == nil {
		t.Fatal("SendChat to an unknown call succeeded")
	}
}
