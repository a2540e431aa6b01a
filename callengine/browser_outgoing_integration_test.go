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
	for _, tc := range browserCases {
		t.Run(tc.name, func(t *testing.T) {
			r := newBrowserRigAnswer(t, tc.flavour, tc.forcedCodec(), true, true)
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
