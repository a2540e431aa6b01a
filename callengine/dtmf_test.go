package callengine

import (
	"strings"
	"testing"
	"time"
)

func TestParseDTMFRelay(t *testing.T) {
	cases := []struct{ body, ct, want string }{
		{"Signal=5\r\nDuration=160\r\n", "application/dtmf-relay", "5"},
		{"Signal= *\r\nDuration=100", "application/dtmf-relay", "*"},
		{"signal=11\nduration=100", "application/dtmf-relay", "#"},
		{"Signal=a\r\n", "application/dtmf-relay", "A"},
		{"Signal=Z\r\n", "application/dtmf-relay", ""},
		{"Duration=100", "application/dtmf-relay", ""},
		{"7", "application/dtmf", "7"},
		{"", "application/dtmf-relay", ""},
	}
	for _, tc := range cases {
		if got := parseDTMFRelay(tc.body, tc.ct); got != tc.want {
			t.Errorf("%q (%s): %q, want %q", tc.body, tc.ct, got, tc.want)
		}
	}
}

func FuzzParseDTMFRelay(f *testing.F) {
	f.Add("Signal=5\r\nDuration=160\r\n")
	f.Fuzz(func(t *testing.T, body string) {
		if got := parseDTMFRelay(body, "application/dtmf-relay"); len(got) > 1 {
			t.Fatalf("%q gave %q", body, got)
		}
	})
}

// receivedTones collects the digits of onDTMF events for a call, in order.
func receivedTones(r *recorder, callID, method string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, ev := range r.events {
		if ev.Name == EventDTMF && ev.Session.SipCallID == callID && payloadOf[DTMFPayload](ev).Method == method {
			b.WriteString(payloadOf[DTMFPayload](ev).Tone)
		}
	}
	return b.String()
}

func waitTones(t *testing.T, r *recorder, callID, method, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for receivedTones(r, callID, method) != want {
		if time.Now().After(deadline) {
			t.Fatalf("received %q by %s, want %q", receivedTones(r, callID, method), method, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDTMFBothWaysIntegration(t *testing.T) {
	a := newTestPhone(t, testPhoneOpts{toneHz: 440})
	b := newTestPhone(t, testPhoneOpts{toneHz: 660})
	aID, bID := connect(t, a, b)
	ctx := ctxT(t, 20*time.Second)

	// RFC 4733 in the media, each tone reported exactly once.
	if err := a.SendDTMF(ctx, aID, "123*#0ABCD"); err != nil {
		t.Fatalf("SendDTMF: %v", err)
	}
	waitTones(t, b.rec, bID, "rfc4733", "123*#0ABCD")
	if err := b.SendDTMF(ctx, bID, "98"); err != nil {
		t.Fatal(err)
	}
	waitTones(t, a.rec, aID, "rfc4733", "98")
	// Voice resumes after the events.
	b.waitTone(t, 440, 5*time.Second)

	if err := a.SendDTMF(ctx, aID, "5x"); err == nil {
		t.Fatal("an invalid tone was accepted")
	}
}

func TestDTMFByInfoIntegration(t *testing.T) {
	a := newTestPhone(t, testPhoneOpts{toneHz: 440})
	a.opts.DTMFMode = "info"
	b := newTestPhone(t, testPhoneOpts{toneHz: 660})
	aID, bID := connect(t, a, b)
	ctx := ctxT(t, 20*time.Second)
	if err := a.SendDTMF(ctx, aID, "47#"); err != nil {
		t.Fatalf("SendDTMF by INFO: %v", err)
	}
	waitTones(t, b.rec, bID, "info", "47#")
	if got := receivedTones(b.rec, bID, "rfc4733"); got != "" {
		t.Fatalf("INFO mode also sent RFC 4733 events: %q", got)
	}
}
