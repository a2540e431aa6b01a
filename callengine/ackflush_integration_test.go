package callengine

import (
	"sort"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/internal/testpeers"
)

// baresip 1.0 answers over TCP (our WebRTC offer is over 1300 bytes, RFC
// 3261 §18.1.1) with a 180 Ringing and, a few milliseconds later, the 200
// OK; it leaves Nagle's algorithm on, so the 200 waits until the 180 is
// acknowledged. Once the connection is warm (past the kernel's first quick
// ACKs) a delayed ACK holds the 200 OK for 40 ms or more. Parlo acknowledges
// each provisional response at once, so from the 180 to the 200 OK is only
// baresip's own time.
func TestProvisionalAckOverTCPIntegration(t *testing.T) {
	bs := testpeers.StartBaresip(t, testpeers.BaresipOptions{
		MediaEnc: "dtls_srtp", MediaNAT: "ice", AutoAnswer: true,
		ExtraConfig: []string{"rtcp_mux yes"},
	})
	a := newTestPhone(t, testPhoneOpts{toneHz: 660})
	sub := a.Subscribe()
	defer sub.Close()
	const calls = 5
	var gaps []time.Duration
	for i := range calls {
		ctx := ctxT(t, 20*time.Second)
		s, err := a.Call(ctx, bs.URI(), CallOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var ringing, accepted time.Time
		for accepted.IsZero() {
			select {
			case ev := <-sub.C():
				if ev.Session == nil || ev.Session.SipCallID != s.SipCallID {
					continue
				}
				switch ev.Name {
				case EventProgress:
					if ringing.IsZero() {
						ringing = time.Now()
					}
				case EventCallAccepted:
					accepted = time.Now()
				case EventCallEnded, EventCallRejected:
					t.Fatalf("call %d ended before the answer: %s", i, ev.Name)
				}
			case <-ctx.Done():
				t.Fatalf("call %d: no answer", i)
			}
		}
		// The first call is not measured (its connection is new); under
		// load baresip has been seen to answer it with no 180 at all.
		if ringing.IsZero() && i > 0 {
			t.Fatalf("call %d: no 180 Ringing before the 200 OK", i)
		}
		if pool := a.ua.TransportLayer().Pool("tcp"); pool == nil || pool.Size() == 0 {
			t.Fatalf("call %d did not go over TCP; the test needs an offer over 1300 bytes", i)
		}
		if i > 0 { // the first call's connection is new: the kernel ACKs at once anyway
			gaps = append(gaps, accepted.Sub(ringing))
		}
		if err := a.Hangup(ctx, s.SipCallID); err != nil {
			t.Fatalf("Hangup: %v", err)
		}
		if _, err := bs.WaitEvent(ctx, "CALL_CLOSED"); err != nil {
			t.Fatalf("baresip did not see the BYE: %v\n%s", err, bs.Log())
		}
	}
	sort.Slice(gaps, func(i, j int) bool { return gaps[i] < gaps[j] })
	t.Logf("180 Ringing → 200 OK over a warm TCP connection: %v", gaps)
	// Linux delays an ACK by at least 40 ms (TCP_DELACK_MIN); baresip sends
	// its 200 OK within a few ms of the 180.
	if med := gaps[len(gaps)/2]; med >= 30*time.Millisecond {
		t.Fatalf("median 180 → 200 OK %s: the 200 OK waited for a delayed ACK", med)
	}
}
