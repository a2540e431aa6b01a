package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/internal/testpeers"
)

// baresipMedia is the media profile of every baresip in the call set-up
// benchmark: ICE + DTLS-SRTP with rtcp-mux, the profile Parlo's WebRTC path
// speaks, so that all three pairs do the same handshakes.
func baresipMedia(auto bool) testpeers.BaresipOptions {
	return testpeers.BaresipOptions{MediaEnc: "dtls_srtp", MediaNAT: "ice", AutoAnswer: auto,
		ExtraConfig: []string{"rtcp_mux yes"}}
}

// benchCallSetup times cfg.calls call set-ups (after one warm-up call) for
// Parlo→Parlo, Parlo→baresip and baresip→baresip, from the moment the
// caller is told to call: for Parlo to onMediaConnected (ICE and DTLS done)
// and to onCallAccepted (200 OK); for baresip to CALL_ESTABLISHED (200 OK,
// testpeers.DialAndWaitEstablished) and to the caller's CALL_RTPESTAB
// (first RTP received).
func benchCallSetup(b *testing.B, cfg config, rep *Report) {
	var ppConn, ppAcc, pbConn, pbAcc, bbEst, bbRTP []time.Duration

	a := newPhone(b, "alice", "", false)
	bob := newPhone(b, "bob", "", true)
	for i := 0; i <= cfg.calls; i++ {
		id, acc, conn := callConnected(b, a, bob.ContactURI())
		if i > 0 {
			ppAcc, ppConn = append(ppAcc, acc), append(ppConn, conn)
		}
		hangup(b, a, id)
	}

	bs := testpeers.StartBaresip(b, baresipMedia(true))
	for i := 0; i <= cfg.calls; i++ {
		id, acc, conn := callConnected(b, a, bs.URI())
		if i > 0 {
			pbAcc, pbConn = append(pbAcc, acc), append(pbConn, conn)
		}
		hangup(b, a, id)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if _, err := bs.WaitEvent(ctx, "CALL_CLOSED"); err != nil {
			cancel()
			b.Fatal(err)
		}
		cancel()
	}

	caller := testpeers.StartBaresip(b, baresipMedia(false))
	callee := testpeers.StartBaresip(b, baresipMedia(true))
	for i := 0; i <= cfg.calls; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		start := time.Now()
		est, err := caller.DialAndWaitEstablished(ctx, callee.URI())
		if err != nil {
			cancel()
			b.Fatalf("baresip dial: %v\n%s", err, caller.Log())
		}
		_, err = caller.WaitEventFunc(ctx, func(ev testpeers.BaresipEvent) bool {
			return ev.Type == "CALL_RTPESTAB" && (ev.Param == "" || ev.Param == "audio")
		})
		rtp := time.Since(start)
		if err != nil {
			cancel()
			b.Fatalf("baresip RTP: %v", err)
		}
		if i > 0 {
			bbEst, bbRTP = append(bbEst, est), append(bbRTP, rtp)
		}
		if _, err := caller.Command(ctx, "hangup", ""); err != nil {
			cancel()
			b.Fatal(err)
		}
		for _, p := range []*testpeers.Baresip{caller, callee} {
			if _, err := p.WaitEvent(ctx, "CALL_CLOSED"); err != nil {
				cancel()
				b.Fatal(err)
			}
		}
		cancel()
	}

	p50 := func(ds []time.Duration) float64 { return Percentile(Millis(ds), 50) }
	ref, refRTP := p50(bbEst), p50(bbRTP)
	refText := fmt.Sprintf("baresip↔baresip dial→CALL_ESTABLISHED: %.1f (→ first RTP %.1f)", ref, refRTP)
	b.ReportMetric(p50(ppConn), "parlo-parlo-ms")
	b.ReportMetric(p50(pbConn), "parlo-baresip-ms")
	b.ReportMetric(ref, "baresip-baresip-ms")
	row := func(name string, conn, acc []time.Duration) Row {
		return Row{Section: "4", Measure: "call set-up " + name + ": INVITE → media connected (ms, p50)",
			Parlo:     fmt.Sprintf("%.1f (200 OK after %.1f; n=%d, p95 %.1f)", p50(conn), p50(acc), len(conn), Percentile(Millis(conn), 95)),
			Reference: refText, Ratio: Ratio(p50(conn), ref), Target: "≤ 0.50× baresip↔baresip", Verdict: AtMost(p50(conn)/ref, 0.5)}
	}
	rep.Add(row("Parlo→Parlo", ppConn, ppAcc), row("Parlo→baresip", pbConn, pbAcc))
	rep.Note("**4.** All pairs use ICE + DTLS-SRTP with rtcp-mux on 127.0.0.1 (baresip: `mediaenc=dtls_srtp;medianat=ice`, `rtcp_mux yes`), auto-answer, one warm-up call excluded. " +
		"Parlo's figure is stricter than the reference's: it runs to onMediaConnected (ICE + DTLS handshake done), baresip's to CALL_ESTABLISHED (200 OK); baresip's time to its first received RTP is given in brackets.")
}
