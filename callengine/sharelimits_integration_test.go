package callengine

import (
	"testing"
	"time"

	"github.com/parlo-voip/parlo/capture"
	"github.com/parlo-voip/parlo/internal/testpeers"
)

// TestShareLimitsCapBitrateIntegration shares a moving picture between two
// phones, first with no cap (the path's estimate decides), then, after
// SetShareLimits, with a cap far below it: the encoder's target stays at
// the cap and far fewer bytes cross the call.
func TestShareLimitsCapBitrateIntegration(t *testing.T) {
	d := testpeers.StartDummyTwoMonitors(t)
	mons, err := capture.MonitorsOn(d.Name())
	if err != nil || len(mons) < 2 {
		t.Fatal(mons, err)
	}
	mon := mons[1]
	d.ShowTestPattern(t, mon.X, mon.Y, mon.Width, mon.Height)
	a := newTestPhone(t, testPhoneOpts{toneHz: 440, display: d.Name()})
	b := newTestPhone(t, testPhoneOpts{toneHz: 660, display: d.Name()})
	aID, bID := connect(t, a, b)
	ctx := ctxT(t, 60*time.Second)

	if got := a.ShareLimits(); got.FPS != DefaultShareFPS || got.MaxKbps != 0 {
		t.Fatalf("default limits %+v, want %d fps and no cap", got, DefaultShareFPS)
	}
	// share measures one share of the moving picture: what the encoder
	// aimed at and what was sent, in kbit/s, over 3 s after the first
	// 10 frames decoded at B (the first keyframe is behind).
	share := func() (target int, sentKbps float64) {
		t.Helper()
		if err := a.StartScreenSharing(ctx, aID, mon.Index); err != nil {
			t.Fatal(err)
		}
		st, _ := b.Stats(bID)
		waitFrames(t, b, bID, st.Video.Received.FramesDecoded+10, 10*time.Second)
		s0, _ := a.Stats(aID)
		t0 := time.Now()
		time.Sleep(3 * time.Second) // the measurement window
		s1, _ := a.Stats(aID)
		sentKbps = float64(s1.Video.Sent.Bytes-s0.Video.Sent.Bytes) * 8 / time.Since(t0).Seconds() / 1000
		if err := a.StopScreenSharing(ctx, aID); err != nil {
			t.Fatal(err)
		}
		return s1.Video.Sent.BitrateKbps, sentKbps
	}
	freeTarget, freeKbps := share()

	const capKbps = 300
	a.SetShareLimits(ShareLimits{MaxKbps: capKbps})
	capTarget, capSent := share()
	t.Logf("no cap: target %d kbit/s, sent %.0f kbit/s; cap %d: target %d, sent %.0f", freeTarget, freeKbps, capKbps, capTarget, capSent)
	if freeTarget <= capKbps {
		t.Fatalf("without a cap the target is %d kbit/s: the cap below would test nothing", freeTarget)
	}
	if capTarget > capKbps || capTarget <= 0 {
		t.Errorf("capped share's encoder target %d kbit/s, want ≤ %d", capTarget, capKbps)
	}
	// The pacer holds a capped share near its ceiling (1.2x, as on a
	// congested path): the capture waits and the frame rate drops.
	if capSent > 1.5*capKbps {
		t.Errorf("capped share sent %.0f kbit/s, want about %d at most (the free one sent %.0f)", capSent, capKbps, freeKbps)
	}
	if got := a.ShareLimits(); got.FPS != DefaultShareFPS || got.MaxKbps != capKbps {
		t.Errorf("limits after SetShareLimits %+v", got)
	}
}
