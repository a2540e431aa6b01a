package callengine

import (
	"fmt"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/capture"
	"github.com/parlo-voip/parlo/internal/testpeers"
)

// nftLoss drops pct % of the UDP datagrams in the test's network namespace,
// at random, both directions (every loopback datagram passes the input hook
// once). This kernel has no netem (CONFIG_NET_SCH_NETEM is not set), so
// loss comes from nftables' random number generator.
func nftLoss(t *testing.T, pct int) (remove func()) {
	t.Helper()
	table := nftTable(t)
	nftRun(t, "add", "rule", "inet", table, "in", "meta", "l4proto", "udp", "numgen", "random", "mod", "100", "<", fmt.Sprint(pct), "drop")
	return func() { nftRun(t, "delete", "table", "inet", table) }
}

// A share and the audio under packet loss: 5 % steady (a poor Wi-Fi), then
// a 20 % burst for 5 s and back to none. The receiver keeps decoding the
// moving picture (NACK/PLI repair it), the tone stays audible, and the
// frame rate comes back after the burst.
func TestShareUnderLossIntegration(t *testing.T) {
	d := testpeers.StartDummyTwoMonitors(t)
	mons, err := capture.MonitorsOn(d.Name())
	if err != nil || len(mons) < 2 {
		t.Fatal(mons, err)
	}
	d.ShowTestPattern(t, mons[1].X, mons[1].Y, mons[1].Width, mons[1].Height)
	a := newTestPhone(t, testPhoneOpts{toneHz: 440, display: d.Name()})
	b := newTestPhone(t, testPhoneOpts{toneHz: 660, display: d.Name()})
	aID, bID := connect(t, a, b)
	ctx := ctxT(t, 90*time.Second)
	if err := a.StartScreenSharing(ctx, aID, mons[1].Index); err != nil {
		t.Fatal(err)
	}
	waitFrames(t, b, bID, 1, 10*time.Second)

	// measure returns B's decoded fps and the keyframe requests A got over d.
	measure := func(d time.Duration) (fps float64, pli uint64, lost uint64) {
		s0, _ := b.Stats(bID)
		a0, _ := a.Stats(aID)
		t0 := time.Now()
		time.Sleep(d)
		s1, _ := b.Stats(bID)
		a1, _ := a.Stats(aID)
		return float64(s1.Video.Received.FramesDecoded-s0.Video.Received.FramesDecoded) / time.Since(t0).Seconds(),
			a1.Video.Sent.KeyframeRequests - a0.Video.Sent.KeyframeRequests,
			s1.Audio.PacketsLost - s0.Audio.PacketsLost
	}
	clean, _, _ := measure(3 * time.Second)

	remove := nftLoss(t, 5)
	lossy, pli, lost := measure(5 * time.Second)
	b.waitTone(t, 440, 5*time.Second)
	a.waitTone(t, 660, 5*time.Second)
	remove()
	t.Logf("5 %% loss: B decodes %.1f fps (%.1f without loss), %d keyframe requests, %d audio packets lost in 5 s", lossy, clean, pli, lost)

	remove = nftLoss(t, 20)
	burst, pli, _ := measure(5 * time.Second)
	remove()
	start := time.Now()
	var after float64
	for time.Since(start) < 15*time.Second {
		if after, _, _ = measure(time.Second); after >= 0.8*clean {
			break
		}
	}
	recovery := time.Since(start)
	t.Logf("20 %% loss for 5 s: B decodes %.1f fps, %d keyframe requests; back to %.1f fps %s after the loss ended", burst, pli, after, recovery.Round(100*time.Millisecond))
	b.waitTone(t, 440, 5*time.Second)

	if lossy < 20 {
		t.Errorf("under 5 %% loss B decodes %.1f fps, want ≥ 20", lossy)
	}
	if after < 0.8*clean {
		t.Errorf("15 s after a loss burst B decodes %.1f fps, want ≥ 80 %% of %.1f", after, clean)
	}
}
