package callengine

import (
	"testing"
	"time"

	"github.com/parlo-voip/parlo/internal/testpeers"
)

// Parlo, registered over UDP with default settings, calls a browser
// registered over WS (SIP.js) or WSS (the Wazo SDK) through Kamailio; the
// browser answers at once. Chromium only takes DTLS-SRTP with ICE, so this is
// the outgoing-profile choice on a classic account, on default settings.
func TestParloCallsBrowserIntegration(t *testing.T) {
	cases := []struct {
		name    string
		flavour testpeers.BrowserFlavour
		codec   string
	}{
		{"sipjs-ws-vp8", testpeers.FlavourSIPJS, "VP8"},
		{"sipjs-ws-h264", testpeers.FlavourSIPJS, "H264"},
		{"wazo-wss", testpeers.FlavourWazo, "VP8"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			codec := ""
			if tc.flavour == testpeers.FlavourSIPJS {
				codec = tc.codec
			}
			r := newBrowserRigAnswer(t, tc.flavour, codec, true, true)
			ctx := ctxT(t, 60*time.Second)
			start := time.Now()
			s, err := r.parlo.Call(ctx, "bob", CallOptions{})
			if err != nil {
				t.Fatalf("Parlo calls the browser: %v\n%s", err, sharedBrowser(t).Log())
			}
			id := s.SipCallID
			r.parlo.rec.wait(t, EventMediaConnected, id, 15*time.Second)
			t.Logf("set-up Parlo → browser (INVITE to media connected, browser answers at once): %s", time.Since(start).Round(time.Millisecond))
			r.parlo.waitTone(t, browserToneHz, 10*time.Second)
			st := waitBrowserAudio(t, r.peer, parloToneHz, 10*time.Second)
			t.Logf("browser audio packets: %d received, %d sent", st.Audio.PacketsReceived, st.Audio.PacketsSent)
			checkShareInBrowser(t, r, id, tc.codec)
			if tc.flavour == testpeers.FlavourWazo {
				logWazoEvents(t, r.peer)
			}
			if err := r.parlo.Hangup(ctx, id); err != nil {
				t.Fatalf("Hangup: %v", err)
			}
		})
	}
}
