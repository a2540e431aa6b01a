package callengine

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/internal/testpeers"
)

// The Wazo SDK's own phone shares its screen into a call with Parlo, the way
// a Wazo app does (Wazo.Phone.reinvite with screen constraints, see
// phone-api.md): Parlo, on default settings, places the call over its UDP
// account; the SDK answers, shares a 1280x720 screen, and stops. Parlo
// decodes the screen at its size while audio goes on, tells its user
// (onVideoStream), and sees the video stop when the SDK stops; the SDK
// reports onScreenShareStarted to its own user only.
func TestWazoSharesScreenIntoParloIntegration(t *testing.T) {
	r := newBrowserRigAnswer(t, testpeers.FlavourWazo, "", false, true)
	ctx := ctxT(t, 90*time.Second)
	s, err := r.parlo.Call(ctx, "bob", CallOptions{})
	if err != nil {
		t.Fatalf("Parlo calls the Wazo SDK: %v\n%s", err, sharedBrowser(t).Log())
	}
	id := s.SipCallID
	r.parlo.rec.wait(t, EventMediaConnected, id, 15*time.Second)
	r.parlo.waitTone(t, browserToneHz, 10*time.Second)

	if err := r.peer.ShareScreen(ctx); err != nil {
		t.Fatalf("the Wazo SDK shares its screen: %v\n%s", err, sharedBrowser(t).Log())
	}
	if _, err := r.peer.WaitEvent(ctx, func(ev testpeers.BrowserEvent) bool {
		return ev.Event == "wazo" && ev.Name == "onScreenShareStarted"
	}); err != nil {
		logWazoEvents(t, r.peer)
		t.Fatalf("the SDK never reported onScreenShareStarted: %v", err)
	}
	r.parlo.rec.wait(t, EventVideoStream, id, 10*time.Second)
	first, frames, w, h := waitDecodedFrames(ctx, t, r.parlo, id, 60, 20*time.Second)
	bst, _ := r.peer.Stats(ctx)
	t.Logf("Wazo SDK share → Parlo: first decoded frame %s after the share began; %d frames decoded (%dx%d) of %d the browser encoded (%s, %d PLI)",
		first.Round(time.Millisecond), frames, w, h, bst.VideoSent.FramesEncoded, bst.VideoSent.Codec, bst.VideoSent.PliCount)
	if frames < 60 {
		logWazoEvents(t, r.peer)
		t.Fatalf("Parlo decoded %d frames of the Wazo SDK's screen in 20 s, want ≥ 60", frames)
	}
	if w != 1280 || h != 720 {
		t.Fatalf("Parlo decodes %dx%d, the shared screen is 1280x720", w, h)
	}
	r.parlo.waitTone(t, browserToneHz, 5*time.Second)
	if n := r.parlo.rec.count(EventScreenShareStarted, id); n != 0 {
		t.Fatalf("Parlo, the receiver, reported onScreenShareStarted %d times (only the sharer does)", n)
	}

	// Stop: the SDK re-INVITEs back to audio; Parlo's decoded count stops.
	if err := r.peer.StopScreenShare(ctx); err != nil {
		t.Fatalf("the Wazo SDK stops sharing: %v", err)
	}
	if _, err := r.peer.WaitEvent(ctx, func(ev testpeers.BrowserEvent) bool {
		return ev.Event == "wazo" && ev.Name == "onScreenShareEnded"
	}); err != nil {
		t.Fatalf("the SDK never reported onScreenShareEnded: %v", err)
	}
	if err := waitVideoStill(ctx, r.parlo, id, time.Second, 15*time.Second); err != nil {
		logWazoEvents(t, r.peer)
		t.Fatalf("after the SDK stopped sharing: %v", err)
	}
	r.parlo.waitTone(t, browserToneHz, 5*time.Second)
	logWazoEvents(t, r.peer)
	if err := r.parlo.Hangup(ctx, id); err != nil {
		t.Fatalf("Hangup: %v", err)
	}
}

// waitDecodedFrames polls the call's received video until want frames are
// decoded or timeout passes, and returns when the first one was, the count
// and the size.
func waitDecodedFrames(ctx context.Context, t *testing.T, p *testPhone, id string, want uint64, timeout time.Duration) (first time.Duration, frames uint64, w, h int) {
	t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err := p.Stats(id)
		if err != nil {
			t.Fatalf("Stats: %v", err)
		}
		frames, w, h = st.Video.Received.FramesDecoded, st.Video.Received.Width, st.Video.Received.Height
		if frames > 0 && first == 0 {
			first = time.Since(start)
		}
		if frames >= want {
			return first, frames, w, h
		}
		select {
		case <-ctx.Done():
			return first, frames, w, h
		case <-tick.C:
		}
	}
}

// waitVideoStill waits until the call's decoded-frame count has stood still
// for quiet, or fails after timeout.
func waitVideoStill(ctx context.Context, p *testPhone, id string, quiet, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last uint64
	since := time.Now()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err := p.Stats(id)
		if err != nil {
			return err
		}
		if n := st.Video.Received.FramesDecoded; n != last {
			last, since = n, time.Now()
		} else if time.Since(since) >= quiet {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("video still decoded (%d frames) after %s: %w", last, timeout, ctx.Err())
		case <-tick.C:
		}
	}
}
