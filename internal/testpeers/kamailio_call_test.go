package testpeers

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestKamailioProxiesCallIntegration registers two baresip phones with
// Kamailio (digest auth on REGISTER, 401) and calls from one to the other by
// AOR: the INVITE is challenged with 407, routed by lookup() to the
// registered contact, and the BYE travels the record-routed path.
func TestKamailioProxiesCallIntegration(t *testing.T) {
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			users := map[string]string{"alice": "alice-pw", "bob": "bob-pw"}
			k := StartKamailio(t, KamailioOptions{Users: users, Debug: 2})
			phone := func(user string, auto bool) *Baresip {
				return StartBaresip(t, BaresipOptions{
					User: user, Password: users[user], Registrar: k.UDPAddr(), Domain: k.Domain(),
					Transport: transport, AutoAnswer: auto, AudioCodecs: "PCMU",
				})
			}
			alice, bob := phone("alice", false), phone("bob", true)
			logs := func() string {
				return "\n--- kamailio ---\n" + k.Log() + "\n--- alice ---\n" + alice.Log() + "\n--- bob ---\n" + bob.Log()
			}

			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			setup, err := alice.DialAndWaitEstablished(ctx, "sip:bob@"+k.Domain())
			if err != nil {
				t.Fatalf("dial bob through kamailio: %v%s", err, logs())
			}
			t.Logf("alice -> kamailio -> bob established in %v", setup)
			ev, err := bob.WaitEvent(ctx, "CALL_ESTABLISHED")
			if err != nil {
				t.Fatalf("bob: %v%s", err, logs())
			}
			if !strings.Contains(ev.PeerURI, "alice@"+k.Domain()) {
				t.Errorf("bob sees the call from %q, want alice@%s", ev.PeerURI, k.Domain())
			}
			if _, err := bob.Command(ctx, "hangup", ""); err != nil {
				t.Fatalf("hangup: %v%s", err, logs())
			}
			// alice only learns of the hang-up if the BYE was routed back to
			// her through Kamailio's Record-Route.
			ev, err = alice.WaitEvent(ctx, "CALL_CLOSED")
			if err != nil {
				t.Fatalf("alice: %v%s", err, logs())
			}
			t.Logf("alice: call closed: %s", ev.Param)
		})
	}
}
