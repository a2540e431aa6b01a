package callengine

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestParseReferToAndReplaces(t *testing.T) {
	cases := []struct {
		name, in, target, replaces string
		ok                         bool
	}{
		{"plain", "<sip:carol@127.0.0.1:5090>", "sip:carol@127.0.0.1:5090", "", true},
		{"replaces", "<sip:carol@127.0.0.1:5090?Replaces=" + url.QueryEscape("abc@h;to-tag=1;from-tag=2") + ">", "sip:carol@127.0.0.1:5090", "abc@h;to-tag=1;from-tag=2", true},
		{"early-only kept", "<sip:c@h?Replaces=" + url.QueryEscape("abc;from-tag=2;early-only;to-tag=1") + ">", "sip:c@h", "abc;to-tag=1;from-tag=2;early-only", true},
		{"other URI headers dropped", "<sip:c@h?X-Evil=1&Subject=hi>", "sip:c@h", "", true},
		{"bare", "sip:carol@127.0.0.1", "sip:carol@127.0.0.1", "", true},
		{"unterminated", "<sip:carol@127.0.0.1", "", "", false},
		{"not sip", "<mailto:x>", "", "", false},
		{"CRLF in Call-ID", "<sip:c@h?Replaces=abc%0D%0AX-Injected%3A%20yes%3Bto-tag%3D1%3Bfrom-tag%3D2>", "", "", false},
		{"CRLF in tag", "<sip:c@h?Replaces=abc%3Bto-tag%3D1%0D%0AX-Injected%3A%20yes%3Bfrom-tag%3D2>", "", "", false},
		{"LF alone", "<sip:c@h?Replaces=abc%3Bto-tag%3D1%3Bfrom-tag%3D2%0A>", "", "", false},
		{"NUL", "<sip:c@h?Replaces=abc%00%3Bto-tag%3D1%3Bfrom-tag%3D2>", "", "", false},
		{"no from-tag", "<sip:c@h?Replaces=abc%3Bto-tag%3D1>", "", "", false},
		{"space in tag", "<sip:c@h?Replaces=abc%3Bto-tag%3D1%201%3Bfrom-tag%3D2>", "", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := parseReferTo(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("%q: err %v, want ok=%v", tc.in, err, tc.ok)
			}
			if !tc.ok {
				return
			}
			rep := ""
			if r.replaces != nil {
				rep = r.replaces.String()
			}
			if r.target.String() != tc.target || rep != tc.replaces {
				t.Fatalf("%q: target %q replaces %q", tc.in, r.target.String(), rep)
			}
		})
	}
}

func TestHeaderText(t *testing.T) {
	for in, want := range map[string]string{
		"Alice":                   "Alice",
		"a\r\nX-Injected: yes":    "a  X-Injected: yes",
		"tab\there":               "tab here",
		"nul\x00x":                "nul x",
		"del\x7fx":                "del x",
		"  padded \r\n":           "padded",
		"unicode \u0085next-line": "unicode  next-line",
		"é ok":                    "é ok",
		string([]byte{0xff, 'a'}): "a",
	} {
		if got := headerText(in); got != want {
			t.Errorf("headerText(%q) = %q, want %q", in, got, want)
		}
	}
	if h := newHeader("X-Bad\r\nInjected", "v"); h != nil {
		t.Fatalf("a header name with CR/LF was accepted: %v", h)
	}
	if got := displayName(`Eve" <sip:x@y>\`); got != `Eve' <sip:x@y>/` {
		t.Fatalf("displayName: %q", got)
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
		r, err := parseReferTo(v)
		if err != nil || r.replaces == nil {
			return
		}
		// Whatever arrived, the rebuilt value is safe in a header and
		// parses back to itself.
		out := r.replaces.String()
		if strings.ContainsAny(out, "\r\n\x00 ") {
			t.Fatalf("rebuilt Replaces %q carries a control character", out)
		}
		back, err := parseReplaces(out)
		if err != nil || back != *r.replaces {
			t.Fatalf("rebuilt Replaces %q does not parse back: %v", out, err)
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
	consent := a.consentTo(t, aID, true)

	if err := b.Transfer(ctx, bID, c.uri()); err != nil {
		t.Fatalf("Transfer: %v", err)
	}
	if req := <-consent; payloadOf[TransferRequestedPayload](req).Target != c.uri() || payloadOf[TransferRequestedPayload](req).ReferredBy == "" {
		t.Fatalf("onTransferRequested payload: %v", req.Payload)
	}
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
	a.consentTo(t, aID, true)
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
	a.consentTo(t, aID, true)
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
