package callengine_test

import (
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine"
	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/internal/testpeers"
)

// Parlo (classic path) calls baresip: baresip's receiver reports echo our
// sender reports (LSR/DLSR, RFC 3550 §6.4.1), which is the only way Parlo
// gets a round-trip time; baresip's RTP gives Parlo's receiver its jitter.
// Plain RTP and SDES (SRTCP, RFC 3711 §3.4).
func TestClassicRTCPBaresipIntegration(t *testing.T) {
	for _, tc := range []struct {
		name, mediaEnc string
		policy         media.SRTPPolicy
	}{
		{"plain", "", media.SRTPOff},
		{"sdes", "srtp-mand", media.SRTPRequired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newClassicPhone(t, 660, tc.policy, false)
			bs := testpeers.StartBaresip(t, testpeers.BaresipOptions{MediaEnc: tc.mediaEnc, AutoAnswer: true, ToneHz: 440})
			ctx := ctxFor(t, 45*time.Second)
			s, err := p.Call(ctx, bs.URI(), callengine.CallOptions{})
			if err != nil {
				t.Fatal(err)
			}
			p.wait(t, callengine.EventCallAccepted, 10*time.Second)
			p.waitTone(t, 440, 5*time.Second)
			// RTCP goes out about every 5 s (RFC 3550 §6.2): the first RR
			// that echoes an SR of ours may be baresip's second or third.
			var st media.Stats
			for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
				if st, _ = p.Stats(s.SipCallID); st.Audio.RTTMs > 0 && st.Audio.JitterMs > 0 {
					break
				}
			}
			if st.Audio.RTTMs <= 0 || st.Audio.RTTMs > 500 || st.Audio.JitterMs <= 0 {
				t.Fatalf("after 20 s with baresip: RTT %.2f ms, jitter %.2f ms, want both measured from RTCP\n%s", st.Audio.RTTMs, st.Audio.JitterMs, bs.Log())
			}
			t.Logf("FIGURE rtcp.baresip.%s: RTT %.2f ms (baresip's RR echoing our SR), jitter %.2f ms", tc.name, st.Audio.RTTMs, st.Audio.JitterMs)
			if err := p.Hangup(ctx, s.SipCallID); err != nil {
				t.Fatal(err)
			}
		})
	}
}
