package callengine_test

import (
	"math"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine"
	"github.com/parlo-voip/parlo/internal/testpeers"
)

// TestG722BaresipIntegration calls a baresip that has only G.722 (as a desk
// phone or an Asterisk/Wazo endpoint configured for wideband would), both
// ways and on both media paths, with Parlo on default settings. The tones
// are above 4 kHz on purpose: G.711 (8 kHz sampling) cannot carry them, so
// hearing them proves a wideband codec end to end, not a fallback.
func TestG722BaresipIntegration(t *testing.T) {
	testpeers.Require(t, "baresip")
	const parloHz, peerHz = 5000, 6000
	for _, tc := range []struct {
		name       string
		enc, nat   string
		parloDials bool
		wantPath   string
	}{
		{"classic/Parlo dials", "", "", true, "classic"},
		{"classic/peer dials", "", "", false, "classic"},
		{"webrtc/Parlo dials", "dtls_srtp", "ice", true, "webrtc"},
		{"webrtc/peer dials", "dtls_srtp", "ice", false, "webrtc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bs := testpeers.StartBaresip(t, testpeers.BaresipOptions{
				MediaEnc: tc.enc, MediaNAT: tc.nat, AutoAnswer: tc.parloDials,
				AudioCodecs: "G722/16000/1", ToneHz: peerHz,
			})
			p := newEventPhone(t, parloHz, callengine.Options{Listen: []string{"udp:127.0.0.1:0"}, AutoAnswer: !tc.parloDials})
			ctx := ctxFor(t, 40*time.Second)
			var id string
			if tc.parloDials {
				s, err := p.Call(ctx, bs.URI(), callengine.CallOptions{})
				if err != nil {
					t.Fatal(err)
				}
				id = s.SipCallID
				p.waitFor(t, callengine.EventCallAccepted, id, 15*time.Second)
			} else {
				if _, err := bs.DialAndWaitEstablished(ctx, p.uri()); err != nil {
					t.Fatalf("baresip dial: %v\n%s", err, bs.Log())
				}
				id = p.wait(t, callengine.EventCallAccepted, 5*time.Second)
			}
			p.waitTone(t, peerHz, 8*time.Second)
			sendFor(t, p, id, 100)
			st, err := p.Stats(id)
			if err != nil {
				t.Fatal(err)
			}
			if st.Audio.Codec != "G722" || st.Path != tc.wantPath {
				t.Errorf("negotiated %q on the %q path, want G722 on %q", st.Audio.Codec, st.Path, tc.wantPath)
			}
			if err := p.Hangup(ctx, id); err != nil {
				t.Fatal(err)
			}
			if _, err := bs.WaitEvent(ctx, "CALL_CLOSED"); err != nil {
				t.Fatal(err)
			}
			if hz := baresipHeard(t, bs); math.Abs(hz-parloHz) > 10 {
				t.Fatalf("baresip heard %.1f Hz, want %d", hz, parloHz)
			}
			t.Logf("%s: %s/%s, tones %d Hz and %d Hz both ways", tc.name, st.Path, st.Audio.Codec, parloHz, peerHz)
		})
	}
}
