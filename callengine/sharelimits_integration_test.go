package callengine

import (
	"testing"
	"time"
)

// TestShareLimitsCapBitrateIntegration shares a moving picture between two
// phones, first with no cap (the path's estimate decides), then, after
// SetShareLimits, with a cap far below it: the encoder's target stays at
// the cap and far fewer bytes cross the call.
func TestShareLimitsCapBitrateIntegration(t *testing.T) {
	m := startMovingShare(t, nil) // A shares with the defaults
	ctx := ctxT(t, 60*time.Second)

	if got := m.a.ShareLimits(); got.FPS != DefaultShareFPS || got.MaxKbps != 0 {
		t.Fatalf("default limits %+v, want %d fps and no cap", got, DefaultShareFPS)
	}
	// window measures the running share over 3 s after 10 more frames
	// decoded at B (the first keyframe is behind), then stops it.
	window := func() shareWindow {
		t.Helper()
		st, _ := m.b.Stats(m.bID)
		waitFrames(t, m.b, m.bID, st.Video.Received.FramesDecoded+10, 10*time.Second)
		w := m.measure(3 * time.Second)
		if err := m.a.StopScreenSharing(ctx, m.aID); err != nil {
			t.Fatal(err)
		}
		return w
	}
	free := window()
	freeTarget, freeKbps := free.sender.Video.Sent.BitrateKbps, free.sentKbps

	const capKbps = 300
	m.a.SetShareLimits(ShareLimits{MaxKbps: capKbps})
	if err := m.a.StartScreenSharing(ctx, m.aID, m.mon.Index); err != nil {
		t.Fatal(err)
	}
	capped := window()
	capTarget, capSent := capped.sender.Video.Sent.BitrateKbps, capped.sentKbps
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
	if got := m.a.ShareLimits(); got.FPS != DefaultShareFPS || got.MaxKbps != capKbps {
		t.Errorf("limits after SetShareLimits %+v", got)
	}
}
