package callengine_test

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine"
	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/internal/testpeers"
)

// Parlo on default settings (direct mode, SRTP required; only the policy
// changes where the row is about it) calls Linphone 5.1 as a new user
// would, with no per-peer setting: the first offer is WebRTC, which
// Linphone answers with plain RTP/AVP (a 2xx the offer cannot take) or
// refuses with 488; Parlo then offers the classic profile, by re-INVITE in
// the dialog or by a new INVITE. The user sees one call: onCallOutgoing
// once, onCallAccepted once, no onCallError, and tones both ways. A second
// call to the same Linphone offers what worked first (one INVITE).
func TestProfileFallbackLinphoneIntegration(t *testing.T) {
	testpeers.Require(t, "linphonec")
	for _, tc := range []struct {
		name     string
		linSRTP  string
		tcp      bool // Linphone listens on TCP too (its default)
		policy   media.SRTPPolicy
		wantSRTP string
	}{
		// lp-auto-answer's case: Linphone's defaults (no SRTP).
		// Linphone answers the WebRTC offer (over TCP) with RTP/AVP.
		{"default-to-linphone-plain", "none", true, "", "sdes"},
		{"default-to-linphone-sdes", "srtp", true, "", "sdes"},
		// A UDP-only Linphone: the 2 KB WebRTC offer cannot be sent
		// (TCP refused), the classic one goes over UDP.
		{"default-to-linphone-udp-only", "none", false, "", "sdes"},
		// "optional" offers RTP/AVP with a=crypto, which Linphone with
		// mandatory SRTP refuses with 488: retried as RTP/SAVP.
		{"optional-to-linphone-sdes", "srtp", false, media.SRTPOptional, "sdes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newEventPhone(t, 660, callengine.Options{Listen: []string{"udp:127.0.0.1:0"}, SRTP: tc.policy})
			lin := testpeers.StartLinphone(t, testpeers.LinphoneOptions{SRTP: tc.linSRTP, TCP: tc.tcp, AutoAnswer: true, ToneHz: 440})
			ctx := ctxFor(t, 40*time.Second)
			for round := 0; round < 2; round++ {
				invitesBefore := strings.Count(lin.SIPTrace(), "INVITE sip:")
				start := time.Now()
				s, err := p.Call(ctx, lin.URI(), callengine.CallOptions{})
				if err != nil {
					t.Fatal(err)
				}
				id := s.SipCallID
				p.waitFor(t, callengine.EventCallAccepted, id, 15*time.Second)
				setup := time.Since(start)
				// Linphone's call is its last incoming one (a fallback by
				// a new dialog makes two).
				linID := lastLinphoneCall(t, lin)
				p.waitTone(t, 440, 5*time.Second)
				for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
					if st, _ := p.Stats(id); st.Audio.PacketsSent >= 100 {
						break
					}
				}
				checkStats(t, p.Phone, id, tc.wantSRTP)
				if n := p.count(callengine.EventCallOutgoing, id); n != 1 {
					t.Fatalf("%d onCallOutgoing, want 1", n)
				}
				if n := p.count(callengine.EventCallAccepted, id); n != 1 {
					t.Fatalf("%d onCallAccepted, want 1", n)
				}
				if n := p.count(callengine.EventCallError, id); n != 0 {
					t.Fatalf("%d onCallError, want none: %v", n, p.names(id))
				}
				invites := strings.Count(lin.SIPTrace(), "INVITE sip:") - invitesBefore
				t.Logf("%s round %d: accepted after %v, INVITEs (incl. re-INVITEs) seen by Linphone: %d", tc.name, round, setup.Round(time.Millisecond), invites)
				if round == 1 && invites != 1 {
					t.Fatalf("second call sent %d INVITEs, want 1 (the remembered profile first)\n%s", invites, lin.SIPTrace())
				}
				if err := p.Hangup(ctx, id); err != nil {
					t.Fatal(err)
				}
				if line, err := lin.WaitEnded(ctx, linID); err != nil {
					t.Fatalf("linphone did not end the call: %v", err)
				} else if !strings.Contains(line, "(No error)") {
					t.Fatalf("linphone ended the call with an error: %q", line)
				}
				if round == 0 {
					if hz := linphoneHeard(t, lin); math.Abs(hz-660) > 10 {
						t.Fatalf("linphone heard %.1f Hz, want 660", hz)
					}
				}
			}
		})
	}
}

// waitFor waits for the event name of call id.
func (cp *classicPhone) waitFor(t *testing.T, name, id string, timeout time.Duration) {
	t.Helper()
	for end := time.Now().Add(timeout); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if cp.count(name, id) > 0 {
			return
		}
	}
	t.Fatalf("no %s for %s within %s; events %v", name, id, timeout, cp.names(id))
}

// count is the number of name events of call id.
func (cp *classicPhone) count(name, id string) int {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	n := 0
	for _, ev := range cp.events {
		if ev.Name == name && ev.Session != nil && ev.Session.SipCallID == id {
			n++
		}
	}
	return n
}

// names lists the events of call id, with the payload of errors.
func (cp *classicPhone) names(id string) []string {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	var out []string
	for _, ev := range cp.events {
		if ev.Session != nil && ev.Session.SipCallID == id {
			n := ev.Name
			if ev.Name == callengine.EventCallError || ev.Name == callengine.EventCallRejected {
				n += fmt.Sprint(ev.Payload)
			}
			out = append(out, n)
		}
	}
	return out
}

var linphoneIncoming = regexp.MustCompile(`Receiving new incoming call from .*assigned id (\d+)`)

// lastLinphoneCall is the id of Linphone's latest incoming call.
func lastLinphoneCall(t *testing.T, lin *testpeers.Linphone) string {
	t.Helper()
	m := linphoneIncoming.FindAllStringSubmatch(lin.Output(), -1)
	if len(m) == 0 {
		t.Fatalf("linphone saw no incoming call\n%s", lin.SIPTrace())
	}
	return m[len(m)-1][1]
}
