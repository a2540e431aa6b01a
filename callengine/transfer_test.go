package callengine

import (
	"net/url"
	"testing"
	"time"
)

func TestParseReferToAndReplaces(t *testing.T) {
	cases := []struct {
		in, target, replaces string
		ok                   bool
	}{
		{"<sip:carol@127.0.0.1:5090>", "sip:carol@127.0.0.1:5090", "", true},
		{"<sip:carol@127.0.0.1:5090?Replaces=" + url.QueryEscape("abc@h;to-tag=1;from-tag=2") + ">", "sip:carol@127.0.0.1:5090", "abc@h;to-tag=1;from-tag=2", true},
		{"sip:carol@127.0.0.1", "sip:carol@127.0.0.1", "", true},
		{"<sip:carol@127.0.0.1", "", "", false},
		{"<mailto:x>", "", "", false},
	}
	for _, tc := range cases {
		target, rep, err := parseReferTo(tc.in)
		if (err == nil) != tc.ok || target != tc.target || rep != tc.replaces {
			t.Errorf("%q: %q %q %v", tc.in, target, rep, err)
		}
	}
	id, to, from, ok := parseReplaces("abc@h;to-tag=1;from-tag=2")
	if !ok || id != "abc@h" || to != "1" || from != "2" {
		t.Fatalf("parseReplaces: %q %q %q %v", id, to, from, ok)
	}
	if _, _, _, ok := parseReplaces("abc;to-tag=1"); ok {
		t.Fatal("Replaces without from-tag accepted")
	}
}

func TestParseSipfrag(t *testing.T) {
	for body, want := range map[string]int{"SIP/2.0 100 Trying\r\n": 100, "SIP/2.0 200 OK": 200, "SIP/2.0 486 Busy Here\r\nX: y": 486, "garbage": 0, "SIP/2.0 abc": 0} {
		got, _, ok := parseSipfrag(body)
		if got != want || ok != (want != 0) {
			t.Errorf("%q: %d %v", body, got, ok)
		}
	}
}

func FuzzParseReferTo(f *testing.F) {
	f.Add("<sip:carol@127.0.0.1:5090?Replaces=a%3Bto-tag%3D1%3Bfrom-tag%3D2>")
	f.Fuzz(func(t *testing.T, v string) {
		_, rep, err := parseReferTo(v)
		if err == nil && rep != "" {
			parseReplaces(rep)
		}
	})
}

// A calls B; B transfers A to C blind; A ends up talking to C.
func TestBlindTransferIntegration(t *testing.T) {
	a := newTestPhone(t, testPhoneOpts{toneHz: 440})
	b := newTestPhone(t, testPhoneOpts{toneHz: 660})
	c := newTestPhone(t, testPhoneOpts{toneHz: 880, auto: true})
	aID, bID := connect(t, a, b)
	ctx := ctxT(t, 30*time.Second)

	if err := b.Transfer(ctx, bID, c.uri()); err != nil {
		t.Fatalf("Transfer: %v", err)
	}
	a.rec.wait(t, EventTransferRequested, aID, 5*time.Second)
	in := c.rec.wait(t, EventCallIncoming, "", 5*time.Second)
	if in.Session.Number != "parlo" {
		t.Fatalf("C sees %q calling", in.Session.Number)
	}
	b.rec.wait(t, EventCallEnded, bID, 5*time.Second)
	a.rec.wait(t, EventCallEnded, aID, 5*time.Second)
	// The new A–C call carries audio both ways.
	c.waitTone(t, 440, 5*time.Second)
	a.waitTone(t, 880, 5*time.Second)
	prog := b.rec.names(bID)
	if filter(prog, []string{EventCallHeld, EventTransferProgress}) == nil {
		t.Fatalf("B's events: %v", prog)
	}
	if len(a.Calls()) != 1 || len(b.Calls()) != 0 {
		t.Fatalf("calls left: A %d, B %d", len(a.Calls()), len(b.Calls()))
	}
}

// A blind transfer to a target that rejects resumes the original call.
func TestBlindTransferFailureResumesIntegration(t *testing.T) {
	a := newTestPhone(t, testPhoneOpts{toneHz: 440})
	b := newTestPhone(t, testPhoneOpts{toneHz: 660})
	c := newTestPhone(t, testPhoneOpts{toneHz: 880})
	c.SetDoNotDisturb(true)
	aID, bID := connect(t, a, b)
	ctx := ctxT(t, 30*time.Second)
	if err := b.Transfer(ctx, bID, c.uri()); err == nil {
		t.Fatal("transfer to a DND phone succeeded")
	}
	b.rec.wait(t, EventCallResumed, bID, 5*time.Second)
	// The A–B call (A's first audio output; the failed leg to C opened a
	// second) carries audio again both ways.
	waitToneOn(t, a.earAt(t, 0), 660, 5*time.Second)
	b.waitTone(t, 440, 5*time.Second)
	if s := a.Calls(); len(s) != 1 || s[0].SipCallID != aID {
		t.Fatalf("A's calls after the failed transfer: %v", s)
	}
}

// A calls B; B consults C, then completes: A's INVITE with Replaces takes
// over the B–C call at C.
func TestAttendedTransferIntegration(t *testing.T) {
	a := newTestPhone(t, testPhoneOpts{toneHz: 440})
	b := newTestPhone(t, testPhoneOpts{toneHz: 660})
	c := newTestPhone(t, testPhoneOpts{toneHz: 880, auto: true})
	aID, bID := connect(t, a, b)
	ctx := ctxT(t, 30*time.Second)

	k, err := b.StartAttendedTransfer(ctx, bID, c.uri())
	if err != nil {
		t.Fatalf("StartAttendedTransfer: %v", err)
	}
	b.rec.wait(t, EventMediaConnected, k.SipCallID, 5*time.Second)
	b.waitTone(t, 880, 5*time.Second) // B talks to C while A waits
	if err := b.CompleteAttendedTransfer(ctx, bID, k.SipCallID); err != nil {
		t.Fatalf("CompleteAttendedTransfer: %v", err)
	}
	b.rec.wait(t, EventCallEnded, bID, 5*time.Second)
	b.rec.wait(t, EventCallEnded, k.SipCallID, 5*time.Second)
	c.rec.wait(t, EventCallEnded, k.SipCallID, 5*time.Second)
	a.rec.wait(t, EventCallEnded, aID, 5*time.Second)
	c.waitTone(t, 440, 5*time.Second)
	a.waitTone(t, 880, 5*time.Second)
	if len(c.Calls()) != 1 || len(a.Calls()) != 1 || len(b.Calls()) != 0 {
		t.Fatalf("calls left: A %d, B %d, C %d", len(a.Calls()), len(b.Calls()), len(c.Calls()))
	}
}
