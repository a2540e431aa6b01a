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

// setupTimes is one call set-up: from the dial to the caller's and the
// callee's first decrypted RTP packet, and to the caller's 200 OK.
type setupTimes struct {
	callerRTP, calleeRTP, ok time.Duration
}

// both is the span every pair is compared on: dial → first decrypted RTP
// both ways.
func (s setupTimes) both() time.Duration { return max(s.callerRTP, s.calleeRTP) }

// firstRTP polls a Parlo phone's call counters every millisecond and
// returns when its first audio RTP packet had been received (counted after
// SRTP decryption).
func firstRTP(ctx context.Context, p *phone, id string) (time.Time, error) {
	for {
		if st, err := p.Stats(id); err == nil && st.Audio.PacketsReceived > 0 {
			return time.Now(), nil
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("no RTP on %s: %w", id, ctx.Err())
		case <-time.After(time.Millisecond):
		}
	}
}

// baresipRTP waits for CALL_RTPESTAB on b after event seq and returns when
// it arrived (baresip sends it on the first RTP packet received on the
// audio stream, after SRTP).
func baresipRTP(ctx context.Context, b *testpeers.Baresip, after int) (time.Time, error) {
	ev, err := b.WaitEventFunc(ctx, func(ev testpeers.BaresipEvent) bool {
		return ev.Seq > after && ev.Type == "CALL_RTPESTAB" && (ev.Param == "" || ev.Param == "audio")
	})
	return ev.At, err
}

func lastSeq(b *testpeers.Baresip) int {
	evs := b.Events()
	if len(evs) == 0 {
		return 0
	}
	return evs[len(evs)-1].Seq
}

// benchCallSetup times cfg.calls call set-ups (after one warm-up call) for
// Parlo→Parlo, Parlo→baresip and baresip→baresip over one span: from the
// moment the caller is told to dial (Parlo: Phone.Call; baresip: the "dial"
// command on ctrl_tcp) until both ends have received their first decrypted
// audio RTP packet (Parlo: the call's RTP counter, polled every 1 ms;
// baresip: the arrival of CALL_RTPESTAB on ctrl_tcp).
func benchCallSetup(b *testing.B, cfg config, rep *Report) {
	b.Helper()
	var pp, pb, bb []setupTimes

	a := newPhone(b, "alice", "", false)
	bob := newPhone(b, "bob", "", true)
	parloCall := func(target string, callee func(ctx context.Context, id string) (time.Time, error)) setupTimes {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		start := time.Now()
		calleeAt := make(chan time.Time, 1)
		id, acc, _ := callConnected(b, a, target)
		go func() {
			at, err := callee(ctx, id)
			if err != nil {
				at = time.Time{}
			}
			calleeAt <- at
		}()
		at, err := firstRTP(ctx, a, id)
		if err != nil {
			b.Fatal(err)
		}
		ce := <-calleeAt
		if ce.IsZero() {
			b.Fatalf("callee got no RTP on %s", id)
		}
		hangup(b, a, id)
		return setupTimes{callerRTP: at.Sub(start), calleeRTP: ce.Sub(start), ok: acc}
	}
	for i := 0; i <= cfg.calls; i++ {
		s := parloCall(bob.ContactURI(), func(ctx context.Context, id string) (time.Time, error) { return firstRTP(ctx, bob, id) })
		if i > 0 {
			pp = append(pp, s)
		}
	}

	bs := testpeers.StartBaresip(b, baresipMedia(true))
	for i := 0; i <= cfg.calls; i++ {
		after := lastSeq(bs)
		s := parloCall(bs.URI(), func(ctx context.Context, _ string) (time.Time, error) { return baresipRTP(ctx, bs, after) })
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if _, err := bs.WaitEvent(ctx, "CALL_CLOSED"); err != nil {
			cancel()
			b.Fatal(err)
		}
		cancel()
		if i > 0 {
			pb = append(pb, s)
		}
	}

	caller := testpeers.StartBaresip(b, baresipMedia(false))
	callee := testpeers.StartBaresip(b, baresipMedia(true))
	for i := 0; i <= cfg.calls; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		ca, ce := lastSeq(caller), lastSeq(callee)
		start := time.Now()
		est, err := caller.DialAndWaitEstablished(ctx, callee.URI())
		if err != nil {
			cancel()
			b.Fatalf("baresip dial: %v\n%s", err, caller.Log())
		}
		t1, err1 := baresipRTP(ctx, caller, ca)
		t2, err2 := baresipRTP(ctx, callee, ce)
		if err1 != nil || err2 != nil {
			cancel()
			b.Fatalf("baresip RTP: %v %v", err1, err2)
		}
		if i > 0 {
			bb = append(bb, setupTimes{callerRTP: t1.Sub(start), calleeRTP: t2.Sub(start), ok: est})
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

	col := func(ss []setupTimes, f func(setupTimes) time.Duration) []float64 {
		var ds []time.Duration
		for _, s := range ss {
			ds = append(ds, f(s))
		}
		return Millis(ds)
	}
	both := func(s setupTimes) time.Duration { return s.both() }
	ref := Median(col(bb, both))
	b.ReportMetric(Median(col(pp, both)), "parlo-parlo-ms")
	b.ReportMetric(Median(col(pb, both)), "parlo-baresip-ms")
	b.ReportMetric(ref, "baresip-baresip-ms")
	detail := func(ss []setupTimes) string {
		return fmt.Sprintf("%.1f (range %.1f–%.1f, p95 %.1f; caller's first RTP %.1f, callee's %.1f, 200 OK %.1f; n=%d)",
			Median(col(ss, both)), Percentile(col(ss, both), 0), Percentile(col(ss, both), 100), Percentile(col(ss, both), 95),
			Median(col(ss, func(s setupTimes) time.Duration { return s.callerRTP })),
			Median(col(ss, func(s setupTimes) time.Duration { return s.calleeRTP })),
			Median(col(ss, func(s setupTimes) time.Duration { return s.ok })), len(ss))
	}
	refText := "baresip→baresip: " + detail(bb)
	row := func(name string, ss []setupTimes) Row {
		return Row{Section: "4", Measure: "call set-up " + name + ": dial → first decrypted RTP both ways (ms, median)",
			Parlo: detail(ss), Reference: refText, Ratio: Ratio(Median(col(ss, both)), ref),
			Target: "≤ 0.50× baresip↔baresip", Verdict: AtMost(Median(col(ss, both))/ref, 0.5)}
	}
	rep.Add(row("Parlo→Parlo", pp), row("Parlo→baresip", pb))
	rep.Note("**4.** One span for every pair: from the caller being told to dial (Parlo: `Phone.Call` in this process; baresip: the `dial` command on ctrl_tcp, "+
		"which adds a loopback TCP round trip) until both ends have received their first decrypted audio RTP packet (Parlo: the call's RTP counter polled every 1 ms; "+
		"baresip: arrival of `CALL_RTPESTAB` on ctrl_tcp). Audio packets leave every 20 ms, so the span includes up to 20 ms of packetisation after media is ready. "+
		"All pairs use ICE + DTLS-SRTP with rtcp-mux on 127.0.0.1 (baresip: `mediaenc=dtls_srtp;medianat=ice`, `rtcp_mux yes`), auto-answer, %d calls per pair after one warm-up call.", cfg.calls)
}
