package callengine_test

import (
	"context"
	"math"
	"path/filepath"
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
	const only = "G722/16000/1"
	for _, tc := range []struct {
		name       string
		enc, nat   string
		parloDials bool
		wantPath   string
		codecs     string // the peer's, in its order of preference
		wantCodec  string
	}{
		{"classic/Parlo dials", "", "", true, "classic", only, "G722"},
		{"classic/peer dials", "", "", false, "classic", only, "G722"},
		{"webrtc/Parlo dials", "dtls_srtp", "ice", true, "webrtc", only, "G722"},
		{"webrtc/peer dials", "dtls_srtp", "ice", false, "webrtc", only, "G722"},
		// Parlo answering prefers Opus, then G.722 over G.711, whatever
		// order the peer offers them in.
		{"prefers G722 over PCMU", "", "", false, "classic", "PCMU/8000/1,G722/16000/1", "G722"},
		{"prefers opus over G722", "", "", false, "classic", "G722/16000/1,opus/48000/2", "opus"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bs := testpeers.StartBaresip(t, testpeers.BaresipOptions{
				MediaEnc: tc.enc, MediaNAT: tc.nat, AutoAnswer: tc.parloDials,
				AudioCodecs: tc.codecs, ToneHz: peerHz,
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
			if st.Audio.Codec != tc.wantCodec || st.Path != tc.wantPath {
				t.Errorf("negotiated %q on the %q path, want %s on %q", st.Audio.Codec, st.Path, tc.wantCodec, tc.wantPath)
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

// TestG722LinphoneIntegration calls a Linphone whose only codec is G.722,
// both ways, Parlo on default settings. Linphone plays a 16 kHz WAV of a
// 6 kHz tone (above what G.711 carries).
func TestG722LinphoneIntegration(t *testing.T) {
	testpeers.Require(t, "linphonec")
	const parloHz, peerHz = 5000, 6000
	for _, parloDials := range []bool{true, false} {
		name := map[bool]string{true: "Parlo dials", false: "peer dials"}[parloDials]
		t.Run(name, func(t *testing.T) {
			wav := filepath.Join(t.TempDir(), "tone.wav")
			if err := testpeers.WriteToneWAV(wav, peerHz, 16000, 10*time.Second); err != nil {
				t.Fatal(err)
			}
			// TCP: Linphone listens on TCP by default, and the WebRTC
			// offer is too big for UDP.
			lin := testpeers.StartLinphone(t, testpeers.LinphoneOptions{TCP: true, AutoAnswer: parloDials, PlayFile: wav, AudioCodecs: []string{"G722"}})
			p := newEventPhone(t, parloHz, callengine.Options{Listen: []string{"udp:127.0.0.1:0"}, AutoAnswer: !parloDials})
			ctx := ctxFor(t, 40*time.Second)
			var id, linID string
			if parloDials {
				s, err := p.Call(ctx, lin.URI(), callengine.CallOptions{})
				if err != nil {
					t.Fatal(err)
				}
				id = s.SipCallID
				p.waitFor(t, callengine.EventCallAccepted, id, 15*time.Second)
				linID = lastLinphoneCall(t, lin)
			} else {
				var err error
				if _, linID, err = lin.Dial(ctx, p.uri()); err != nil {
					t.Fatalf("linphone dial: %v\n%s", err, lin.SIPTrace())
				}
				id = p.wait(t, callengine.EventCallAccepted, 5*time.Second)
			}
			p.waitTone(t, peerHz, 8*time.Second)
			sendFor(t, p, id, 100)
			st, err := p.Stats(id)
			if err != nil {
				t.Fatal(err)
			}
			if st.Audio.Codec != "G722" {
				t.Errorf("negotiated %q on the %q path, want G722", st.Audio.Codec, st.Path)
			}
			if err := p.Hangup(ctx, id); err != nil {
				t.Fatal(err)
			}
			ectx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if _, err := lin.WaitEnded(ectx, linID); err != nil {
				t.Fatalf("linphone did not end the call: %v", err)
			}
			if hz := linphoneHeard(t, lin); math.Abs(hz-parloHz) > 10 {
				t.Fatalf("linphone heard %.1f Hz, want %d", hz, parloHz)
			}
			t.Logf("%s: %s/%s, tones %d Hz and %d Hz both ways", name, st.Path, st.Audio.Codec, parloHz, peerHz)
		})
	}
}
