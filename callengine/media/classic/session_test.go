package classic

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine/audio"
	"github.com/parlo-voip/parlo/callengine/media"
)

type peer struct {
	s   *Session
	ear *audio.ToneDetector
}

func newPeer(t *testing.T, hz float64, pol media.SRTPPolicy) *peer {
	t.Helper()
	ear := audio.NewToneDetector(2 * time.Second)
	s, err := newSession(media.Options{
		AudioIn: audio.NewTone(hz, 0.3), AudioOut: ear, LoopbackOnly: true, SRTP: pol,
	}, media.Events{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return &peer{s: s, ear: ear}
}

func (p *peer) waitTone(t *testing.T, hz float64, timeout time.Duration) {
	t.Helper()
	var got, rms float64
	for end := time.Now().Add(timeout); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		got, rms = p.ear.Frequency(500 * time.Millisecond)
		if rms > 0.05 && math.Abs(got-hz) <= 10 {
			return
		}
	}
	t.Fatalf("want %.0f Hz, heard %.1f Hz at rms %.3f; stats %+v", hz, got, rms, p.s.Stats())
}

func (p *peer) waitSilence(t *testing.T, timeout time.Duration) {
	t.Helper()
	var rms float64
	for end := time.Now().Add(timeout); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if _, rms = p.ear.Frequency(300 * time.Millisecond); rms < 0.01 {
			return
		}
	}
	t.Fatalf("still hearing audio (rms %.3f) on hold", rms)
}

func negotiate(t *testing.T, a, b *peer, dir media.Direction) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	offer, err := a.s.CreateOffer(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	ans, err := b.s.CreateAnswer(ctx, offer, media.SendRecv)
	if err != nil {
		t.Fatalf("answer: %v\noffer:\n%s", err, offer)
	}
	if err := a.s.ApplyAnswer(ctx, ans); err != nil {
		t.Fatalf("apply: %v\nanswer:\n%s", err, ans)
	}
}

// Two classic sessions on loopback, for each policy pair that agrees:
// audio both ways, the negotiated security, hold and resume.
func TestClassicToClassicAudio(t *testing.T) {
	for _, tc := range []struct {
		name     string
		a, b     media.SRTPPolicy
		wantSRTP string
	}{
		{"required-required", media.SRTPRequired, media.SRTPRequired, "sdes"},
		{"optional-optional", media.SRTPOptional, media.SRTPOptional, "sdes"},
		{"optional-off", media.SRTPOptional, media.SRTPOff, "none"},
		{"off-optional", media.SRTPOff, media.SRTPOptional, "none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := newPeer(t, 440, tc.a), newPeer(t, 660, tc.b)
			negotiate(t, a, b, media.SendRecv)
			a.waitTone(t, 660, 3*time.Second)
			b.waitTone(t, 440, 3*time.Second)
			for _, p := range []*peer{a, b} {
				if st := p.s.Stats(); st.SRTP != tc.wantSRTP || st.Path != "classic" {
					t.Fatalf("stats %+v, want srtp %s path classic", st, tc.wantSRTP)
				}
			}
			// a holds (sendonly): nobody sends (Parlo mutes on hold).
			negotiate(t, a, b, media.SendOnly)
			if d := b.s.Direction(); d != media.RecvOnly {
				t.Fatalf("held side direction %s, want recvonly", d)
			}
			b.waitSilence(t, 2*time.Second)
			a.waitSilence(t, 2*time.Second)
			negotiate(t, a, b, media.SendRecv)
			a.waitTone(t, 660, 3*time.Second)
			b.waitTone(t, 440, 3*time.Second)
		})
	}
}

func TestAnswerPolicyRefusal(t *testing.T) {
	a, b := newPeer(t, 440, media.SRTPOff), newPeer(t, 660, media.SRTPRequired)
	ctx := context.Background()
	offer, err := a.s.CreateOffer(ctx, media.SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.s.CreateAnswer(ctx, offer, media.SendRecv)
	if !errors.Is(err, media.ErrBadSDP) || !strings.Contains(err.Error(), "plain RTP refused: SRTP required") {
		t.Fatalf("err %v, want ErrBadSDP with the reason", err)
	}
}

func TestLegacyHoldAddress(t *testing.T) {
	sdp := "v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
	lines, err := parseRemote([]byte(sdp))
	if err != nil {
		t.Fatal(err)
	}
	if lines[0].dir != media.SendOnly {
		t.Fatalf("c=0.0.0.0 gave %s, want sendonly (legacy hold)", lines[0].dir)
	}
}

// Sender and receiver reports (RFC 3550 §6.4) flow both ways on a classic
// line, plain and SRTCP-protected: each side measures the round trip from
// the other's receiver reports (which echo its own sender reports' LSR
// with DLSR) and the jitter of what it receives.
func TestClassicRTCPReports(t *testing.T) {
	for _, tc := range []struct {
		name string
		pol  media.SRTPPolicy
	}{
		{"plain", media.SRTPOff},
		{"srtp", media.SRTPRequired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := newPeer(t, 440, tc.pol), newPeer(t, 660, tc.pol)
			negotiate(t, a, b, media.SendRecv)
			a.waitTone(t, 660, 3*time.Second)
			for _, p := range []*peer{a, b} {
				var st media.Stats
				for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
					if st = p.s.Stats(); st.Audio.RTTMs > 0 && st.Audio.JitterMs > 0 {
						break
					}
				}
				if st.Audio.RTTMs <= 0 || st.Audio.RTTMs > 1000 || st.Audio.JitterMs <= 0 {
					t.Fatalf("no round trip or jitter from RTCP after 5 s: audio %+v, transport %+v", st.Audio, st.Transport)
				}
				t.Logf("RTT %.2f ms, jitter %.2f ms", st.Audio.RTTMs, st.Audio.JitterMs)
			}
		})
	}
}
