package testpeers

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWriteToneWAV(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.wav")
	if err := WriteToneWAV(path, 660, 8000, time.Second); err != nil {
		t.Fatal(err)
	}
	w, err := readWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	hz, rms := dominantFrequency(w)
	if w.rate != 8000 || len(w.samples) != 8000 || math.Abs(hz-660) > 5 || math.Abs(rms-0.3/math.Sqrt2) > 0.01 {
		t.Fatalf("rate %d, %d samples, %.0f Hz at rms %.3f; want 8000, 8000, 660 Hz at 0.212", w.rate, len(w.samples), hz, rms)
	}
}

func TestLineLogStripsPromptAndTakesOnce(t *testing.T) {
	o := newLineLog()
	// Writes split anywhere, as a pipe delivers them.
	for _, chunk := range []string{"linphonec> linphonec> Call 1 to sip:a@", "h ringing.\nCall 1 with sip:a@h conn", "ected.\r\nCall 1 with sip:a@h connected.\n", "linphonec> "} {
		if _, err := o.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	first, err := o.wait(ctx, 0, func(s string) bool { return strings.HasPrefix(s, "Call 1 ") }, nil)
	if err != nil || first != "Call 1 to sip:a@h ringing." {
		t.Fatalf("first line %q, %v", first, err)
	}
	for range 2 {
		if got, err := o.wait(ctx, 0, callOutcome("1"), nil); err != nil || got != "Call 1 with sip:a@h connected." {
			t.Fatalf("connected line %q, %v", got, err)
		}
	}
	if got, err := o.wait(ctx, 0, callOutcome("1"), nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a third connected line %q (%v): lines must be taken once", got, err)
	}
}

func TestExtractSIPMessages(t *testing.T) {
	log := strings.Join([]string{
		"2026-11-26 12:04:52:895 belle-sip-message-channel [0x1]: message sent to [udp://127.0.0.1:5060], size: [99] bytes",
		"INVITE sip:b@127.0.0.1:5060 SIP/2.0",
		"Via: SIP/2.0/UDP 127.0.0.1:5070;rport",
		"Content-Type: application/sdp",
		"",
		"v=0",
		"m=audio 7078 RTP/SAVP 0",
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:abc",
		"",
		"2026-11-26 12:04:52:899 liblinphone-message-unrelated",
		"some other debug line",
		"SIP/2.0 488 Not Acceptable Here",
		"Via: SIP/2.0/UDP 127.0.0.1:5070;rport",
		"2026-11-26 12:04:52:900 ortp-message-next",
	}, "\n")
	got := extractSIPMessages(log)
	for _, want := range []string{"INVITE sip:b@127.0.0.1:5060 SIP/2.0", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:abc", "SIP/2.0 488 Not Acceptable Here"} {
		if !strings.Contains(got, want) {
			t.Errorf("trace lacks %q:\n%s", want, got)
		}
	}
	for _, unwanted := range []string{"liblinphone-message", "some other debug line", "ortp-message"} {
		if strings.Contains(got, unwanted) {
			t.Errorf("trace has debug output %q:\n%s", unwanted, got)
		}
	}
}

// linphoneHeard is the dominant frequency and RMS of what l recorded, after
// its first half second (set-up and jitter buffer).
func linphoneHeard(t *testing.T, l *Linphone) (hz, rms float64) {
	t.Helper()
	w, err := readWAV(l.RecordingPath())
	if err != nil {
		t.Fatalf("linphone %s recording: %v", l.URI(), err)
	}
	if len(w.samples) < w.rate {
		t.Fatalf("linphone %s recorded %d samples at %d Hz, want over a second", l.URI(), len(w.samples), w.rate)
	}
	w.samples = w.samples[w.rate/2:]
	return dominantFrequency(w)
}

// Linphone calls Linphone: the helper's own proof that SIP on 127.0.0.1,
// file-based audio both ways and SDES-SRTP work without a sound card, and
// the Linphone-to-Linphone set-up time as a reference for Parlo's.
func TestLinphoneCallIntegration(t *testing.T) {
	for _, tc := range []struct {
		name       string
		srtp       string
		wantProto  string
		autoAnswer bool
	}{
		{"plain RTP auto answer", "none", "RTP/AVP", true},
		{"SDES-SRTP manual answer", "srtp", "RTP/SAVP", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := StartLinphone(t, LinphoneOptions{User: "a", SRTP: tc.srtp, ToneHz: 440})
			b := StartLinphone(t, LinphoneOptions{User: "b", SRTP: tc.srtp, ToneHz: 660, AutoAnswer: tc.autoAnswer})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			type dialResult struct {
				d   time.Duration
				id  string
				err error
			}
			res := make(chan dialResult, 1)
			go func() {
				d, id, err := a.Dial(ctx, b.URI())
				res <- dialResult{d, id, err}
			}()
			bid, err := b.WaitIncoming(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.autoAnswer {
				if err := b.Command("answer " + bid); err != nil {
					t.Fatal(err)
				}
			}
			r := <-res
			if r.err != nil {
				t.Fatalf("dial: %v\n%s", r.err, a.SIPTrace())
			}
			t.Logf("linphone→linphone %s: connected after %v", tc.name, r.d)
			if err := b.WaitConnected(ctx, bid); err != nil {
				t.Fatal(err)
			}
			if trace := a.SIPTrace(); !strings.Contains(trace, "m=audio ") || !strings.Contains(trace, " "+tc.wantProto+" ") {
				t.Fatalf("no %s audio line in the trace:\n%s", tc.wantProto, trace)
			}
			// Two seconds of audio each way, then hang up so that the WAV
			// headers are final.
			if _, err := a.WaitOutput(ctx, "Media streams established"); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * time.Second) // call duration, not an assertion
			if err := a.Command("terminate " + r.id); err != nil {
				t.Fatal(err)
			}
			if _, err := a.WaitEnded(ctx, r.id); err != nil {
				t.Fatal(err)
			}
			if _, err := b.WaitEnded(ctx, bid); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				l    *Linphone
				want float64
			}{{a, 660}, {b, 440}} {
				hz, rms := linphoneHeard(t, c.l)
				if math.Abs(hz-c.want) > 10 || rms < 0.05 {
					t.Errorf("linphone %s heard %.0f Hz at rms %.3f, want %.0f Hz", c.l.URI(), hz, rms, c.want)
				}
			}
		})
	}
}
