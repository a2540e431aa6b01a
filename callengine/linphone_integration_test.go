package callengine_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine"
	"github.com/parlo-voip/parlo/callengine/audio"
	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/internal/testpeers"
)

// Interop with Linphone 5.1 (linphonec, file-based audio) on the classic
// path: Parlo calls Linphone and Linphone calls Parlo, plain RTP/AVP and
// SDES-keyed RTP/SAVP (RFC 4568), with a tone each way checked by frequency:
// 660 Hz from Parlo in Linphone's recording, 440 Hz from Linphone in Parlo's
// ear. Linphone's "srtp" is mandatory SRTP: it offers RTP/SAVP with
// AES_CM_128_HMAC_SHA1_80/_32 and AES_256 suites (Parlo takes the first
// AES-128 one) and answers only SRTP offers.
//
// The log lines give the set-up times: INVITE (Call or linphonec's "call")
// to 200 OK, and to the first RTP packet Parlo received.
func TestLinphoneIntegration(t *testing.T) {
	testpeers.Require(t, "linphonec")
	for _, tc := range []struct {
		name      string
		linSRTP   string // Linphone's media_encryption
		policy    media.SRTPPolicy
		parloDial bool
		wantSRTP  string
	}{
		{"parlo-calls-plain", "none", media.SRTPOff, true, "none"},
		{"parlo-calls-sdes", "srtp", media.SRTPRequired, true, "sdes"},
		// Parlo's optional policy offers RTP/AVP with a=crypto (best-effort
		// SRTP); Linphone without SRTP answers plain RTP/AVP.
		{"parlo-calls-optional-plain", "none", media.SRTPOptional, true, "none"},
		{"linphone-calls-plain", "none", media.SRTPOptional, false, "none"},
		{"linphone-calls-sdes", "srtp", media.SRTPRequired, false, "sdes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newClassicPhone(t, 660, tc.policy, !tc.parloDial)
			lin := testpeers.StartLinphone(t, testpeers.LinphoneOptions{
				SRTP: tc.linSRTP, AutoAnswer: tc.parloDial, ToneHz: 440,
			})
			ctx := ctxFor(t, 30*time.Second)
			start := time.Now()
			var (
				id, linID string
				setup     time.Duration
			)
			if tc.parloDial {
				s, err := p.Call(ctx, lin.URI(), callengine.CallOptions{})
				if err != nil {
					t.Fatal(err)
				}
				id = s.SipCallID
				if linID, err = lin.WaitIncoming(ctx); err != nil {
					t.Fatalf("%v\n%s", err, lin.SIPTrace())
				}
				p.wait(t, callengine.EventCallAccepted, 10*time.Second)
				setup = time.Since(start) // includes wait's 20 ms polling
				if err := lin.WaitConnected(ctx, linID); err != nil {
					t.Fatalf("%v\n%s", err, lin.SIPTrace())
				}
			} else {
				var err error
				if setup, linID, err = lin.Dial(ctx, p.uri()); err != nil {
					t.Fatalf("linphone dial: %v\n%s", err, lin.SIPTrace())
				}
				id = p.wait(t, callengine.EventCallIncoming, 5*time.Second)
			}
			firstRTP := waitFirstAudio(t, p.Phone, id, start, 5*time.Second)
			p.waitTone(t, 440, 5*time.Second)
			heard := time.Since(start)
			// Give Linphone two seconds of our tone.
			for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
				if st, _ := p.Stats(id); st.Audio.PacketsSent >= 100 {
					break
				}
			}
			st := checkStats(t, p.Phone, id, tc.wantSRTP)
			t.Logf("%s: 200 OK after %v, first RTP at Parlo after %v, 440 Hz heard after %v; audio %+v",
				tc.name, setup.Round(time.Millisecond), firstRTP.Round(time.Millisecond), heard.Round(time.Millisecond), st.Audio)
			if err := p.Hangup(ctx, id); err != nil {
				t.Fatal(err)
			}
			// Linphone finalises its recording when the call ends.
			if line, err := lin.WaitEnded(ctx, linID); err != nil {
				t.Fatalf("linphone did not end the call: %v", err)
			} else if !strings.Contains(line, "(No error)") {
				t.Fatalf("linphone ended the call with an error: %q", line)
			}
			if hz := linphoneHeard(t, lin); math.Abs(hz-660) > 10 {
				t.Fatalf("linphone heard %.1f Hz, want 660", hz)
			}
		})
	}
}

// Profiles the two sides cannot agree on fail at once with 488, not with a
// silent call: Linphone's mandatory SRTP against Parlo's srtp=off and
// Linphone's plain RTP against Parlo's srtp=required (Parlo's 488 carries
// its reason in a Warning header), and Parlo's offer of plain RTP/AVP
// (srtp=off, so no SRTP retry) to a Linphone whose SRTP is mandatory.
// (With srtp=optional Parlo retries a refused RTP/AVP+a=crypto offer as
// RTP/SAVP: see TestProfileFallbackLinphoneIntegration.)
func TestLinphoneIntegrationRefused(t *testing.T) {
	testpeers.Require(t, "linphonec")
	for _, tc := range []struct {
		name      string
		linSRTP   string
		policy    media.SRTPPolicy
		parloDial bool
	}{
		{"linphone-sdes-to-parlo-off", "srtp", media.SRTPOff, false},
		{"linphone-plain-to-parlo-required", "none", media.SRTPRequired, false},
		{"parlo-plain-to-linphone-sdes", "srtp", media.SRTPOff, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newClassicPhone(t, 660, tc.policy, !tc.parloDial)
			lin := testpeers.StartLinphone(t, testpeers.LinphoneOptions{SRTP: tc.linSRTP, AutoAnswer: tc.parloDial})
			ctx := ctxFor(t, 20*time.Second)
			if tc.parloDial {
				if _, err := p.Call(ctx, lin.URI(), callengine.CallOptions{}); err != nil {
					t.Fatal(err)
				}
				p.wait(t, callengine.EventCallEnded, 10*time.Second)
				if trace := lin.SIPTrace(); !strings.Contains(trace, "SIP/2.0 488") {
					t.Fatalf("linphone sent no 488:\n%s", trace)
				}
				return
			}
			_, _, err := lin.Dial(ctx, p.uri())
			if !errors.Is(err, testpeers.ErrLinphoneCall) {
				t.Fatalf("linphone dial: %v, want a failed call", err)
			}
			trace := lin.SIPTrace()
			if !strings.Contains(trace, "SIP/2.0 488") || !strings.Contains(trace, "Warning: 399 parlo ") {
				t.Fatalf("Parlo sent no 488 with a Warning:\n%s", trace)
			}
		})
	}
}

// waitFirstAudio returns the time from start until Parlo counted its first
// received audio packet on call id.
func waitFirstAudio(t *testing.T, p *callengine.Phone, id string, start time.Time, timeout time.Duration) time.Duration {
	t.Helper()
	var st media.Stats
	for end := time.Now().Add(timeout); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if st, _ = p.Stats(id); st.Audio.PacketsReceived > 0 {
			return time.Since(start)
		}
	}
	t.Fatalf("no audio packet from linphone within %v: %+v", timeout, st.Audio)
	return 0
}

// linphoneHeard reads Linphone's recording of the call (after it ended) and
// returns its dominant frequency.
func linphoneHeard(t *testing.T, lin *testpeers.Linphone) float64 {
	t.Helper()
	pcm, rate, err := audio.ReadWAV(lin.RecordingPath())
	if err != nil || rate == 0 || len(pcm) <= rate {
		t.Fatalf("linphone recorded nothing usable (%d samples at %d Hz, %v)\n%s", len(pcm), rate, err, lin.Output())
	}
	pcm = pcm[rate/2:] // skip set-up and jitter-buffer fill
	hz, _ := audio.DominantFrequency(pcm, rate)
	return hz
}

// Hold and resume with Linphone over SDES-SRTP, each side holding in turn.
// Linphone 5.1 holds with a=sendonly and keeps c= (it can put 0.0.0.0 in
// c= only in answers, with cnx_ip_to_0000_if_sendonly_enabled); when it
// holds it keeps sending its file, so Parlo's side of its hold is checked
// by the answer's direction and by Parlo no longer sending.
func TestLinphoneHoldIntegration(t *testing.T) {
	testpeers.Require(t, "linphonec")
	t.Run("parlo-holds", func(t *testing.T) {
		p := newClassicPhone(t, 660, media.SRTPRequired, false)
		lin := testpeers.StartLinphone(t, testpeers.LinphoneOptions{SRTP: "srtp", AutoAnswer: true, ToneHz: 440})
		ctx := ctxFor(t, 30*time.Second)
		s, err := p.Call(ctx, lin.URI(), callengine.CallOptions{})
		if err != nil {
			t.Fatal(err)
		}
		linID, err := lin.WaitIncoming(ctx)
		if err != nil {
			t.Fatal(err)
		}
		p.wait(t, callengine.EventCallAccepted, 10*time.Second)
		if _, err := lin.WaitOutput(ctx, "Media streams established"); err != nil {
			t.Fatal(err)
		}
		p.waitTone(t, 440, 5*time.Second)
		if err := p.Hold(ctx, s.SipCallID); err != nil {
			t.Fatalf("Hold: %v", err)
		}
		if _, err := lin.WaitOutput(ctx, "Call "+linID+" has been paused by "); err != nil {
			t.Fatal(err)
		}
		// Linphone answered recvonly: it stops sending.
		p.waitSilence(t, 3*time.Second)
		if err := p.Resume(ctx, s.SipCallID); err != nil {
			t.Fatalf("Resume: %v", err)
		}
		p.waitTone(t, 440, 5*time.Second)
		checkStats(t, p.Phone, s.SipCallID, "sdes")
		time.Sleep(1500 * time.Millisecond) // a stretch of resumed audio for Linphone's recording, not an assertion
		if err := p.Hangup(ctx, s.SipCallID); err != nil {
			t.Fatal(err)
		}
		if _, err := lin.WaitEnded(ctx, linID); err != nil {
			t.Fatal(err)
		}
		if hz := linphoneHeard(t, lin); math.Abs(hz-660) > 10 {
			t.Fatalf("linphone heard %.1f Hz, want 660", hz)
		}
	})
	t.Run("linphone-holds", func(t *testing.T) {
		p := newClassicPhone(t, 660, media.SRTPRequired, true)
		lin := testpeers.StartLinphone(t, testpeers.LinphoneOptions{SRTP: "srtp", ToneHz: 440})
		ctx := ctxFor(t, 30*time.Second)
		_, linID, err := lin.Dial(ctx, p.uri())
		if err != nil {
			t.Fatalf("linphone dial: %v\n%s", err, lin.SIPTrace())
		}
		id := p.wait(t, callengine.EventCallIncoming, 5*time.Second)
		p.waitTone(t, 440, 5*time.Second)
		if err := lin.Command("pause " + linID); err != nil {
			t.Fatal(err)
		}
		if _, err := lin.WaitOutput(ctx, "Call "+linID+" with "+p.uri()+" is now paused."); err != nil {
			t.Fatalf("%v\n%s", err, lin.SIPTrace())
		}
		p.waitReinvite(t, "recvonly", 5*time.Second)
		// On hold Parlo sends nothing.
		sent := func() uint64 { st, _ := p.Stats(id); return st.Audio.PacketsSent }
		before := sent()
		time.Sleep(500 * time.Millisecond) // the window in which nothing may be sent
		if after := sent(); after != before {
			t.Fatalf("Parlo sent %d packets while held", after-before)
		}
		if err := lin.Command("resume " + linID); err != nil {
			t.Fatal(err)
		}
		p.waitReinvite(t, "sendrecv", 5*time.Second)
		for end := time.Now().Add(3 * time.Second); sent() < before+50; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("Parlo did not send again after resume (%d packets)", sent()-before)
			}
		}
		p.waitTone(t, 440, 5*time.Second)
		checkStats(t, p.Phone, id, "sdes")
		if err := lin.Command("terminate " + linID); err != nil {
			t.Fatal(err)
		}
		p.wait(t, callengine.EventCallEnded, 5*time.Second)
		if _, err := lin.WaitEnded(ctx, linID); err != nil {
			t.Fatal(err)
		}
		if hz := linphoneHeard(t, lin); math.Abs(hz-660) > 10 {
			t.Fatalf("linphone heard %.1f Hz, want 660", hz)
		}
	})
}

// waitReinvite waits for an onReinvite event (a re-INVITE from the peer that
// we answered) whose resulting direction is dir.
func (cp *classicPhone) waitReinvite(t *testing.T, dir string, timeout time.Duration) {
	t.Helper()
	var seen []any
	for end := time.Now().Add(timeout); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		cp.mu.Lock()
		seen = seen[:0]
		for _, ev := range cp.events {
			if ev.Name == callengine.EventReinvite {
				seen = append(seen, reinviteDirection(ev))
				if reinviteDirection(ev) == dir {
					cp.mu.Unlock()
					return
				}
			}
		}
		cp.mu.Unlock()
	}
	t.Fatalf("no re-INVITE answered %s within %v (answered: %v)", dir, timeout, seen)
}

func reinviteDirection(ev callengine.Event) string {
	p, _ := ev.Payload.(callengine.ReinvitePayload)
	return p.Direction
}
