package callengine

import (
	"context"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine/media"
)

// noVideoSession plays a peer without video: its answers refuse every
// video line with port 0 and leave it out of the BUNDLE group (RFC 3264 §6,
// RFC 8843 §7.3.3). (pion itself would accept a video line it was offered,
// so the answer is edited on its way out.)
type noVideoSession struct{ media.Session }

var (
	videoPort   = regexp.MustCompile(`(?m)^m=video \d+`)
	bundleGroup = regexp.MustCompile(`(?m)^a=group:BUNDLE 0 1\r?$`)
)

func (n noVideoSession) CreateAnswer(ctx context.Context, offer []byte, local media.Direction) ([]byte, error) {
	ans, err := n.Session.CreateAnswer(ctx, offer, local)
	if err != nil {
		return nil, err
	}
	ans = videoPort.ReplaceAll(ans, []byte("m=video 0"))
	return bundleGroup.ReplaceAll(ans, []byte("a=group:BUNDLE 0\r")), nil
}

func (n noVideoSession) CancelOffer() error {
	if oc, ok := n.Session.(media.OfferCanceler); ok {
		return oc.CancelOffer()
	}
	return nil
}

// A peer that answers the video line with port 0: the share fails with a
// clear error event, no capture runs, and the audio call goes on.
func TestScreenShareRefusedByPeerIntegration(t *testing.T) {
	r := newShareRig(t, func(s media.Session) media.Session { return noVideoSession{s} })
	ctx := ctxT(t, 30*time.Second)
	err := r.a.StartScreenSharing(ctx, r.aID, r.mon1.Index)
	if !errors.Is(err, ErrVideoRefused) {
		t.Fatalf("StartScreenSharing with a peer refusing video: %v, want ErrVideoRefused", err)
	}
	ev := r.a.rec.wait(t, EventCallError, r.aID, time.Second)
	if msg := payloadOf[CallStatusPayload](ev).Error; !regexp.MustCompile(`refused the video line`).MatchString(msg) {
		t.Fatalf("onCallError says %q", msg)
	}
	if n := r.a.rec.count(EventScreenShareStarted, r.aID); n != 0 {
		t.Fatal("onScreenShareStarted for a refused share")
	}
	if s := r.a.Calls()[0]; s.Screensharing || !s.IsEstablished() {
		t.Fatalf("session after refusal: %+v", s)
	}
	assertNoCapture(t, r.a, "refusal")
	r.b.waitTone(t, 440, 5*time.Second)
	r.a.waitTone(t, 660, 5*time.Second)
}

// Sharing another monitor while a share runs swaps the picture on the same
// negotiated video sender, with no re-INVITE (as the Wazo SDK replaces the
// camera track).
func TestScreenShareSwitchMonitorWithoutReinviteIntegration(t *testing.T) {
	r := newShareRig(t)
	ctx := ctxT(t, 30*time.Second)
	if err := r.a.StartScreenSharing(ctx, r.aID, r.mon1.Index); err != nil {
		t.Fatal(err)
	}
	waitFrames(t, r.b, r.bID, 1, 10*time.Second)
	reinvites := r.b.rec.count(EventReinvite, r.bID)
	if err := r.a.StartScreenSharing(ctx, r.aID, 0); err != nil {
		t.Fatalf("switching to monitor 0: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, _ := r.b.Stats(r.bID)
		if st.Video.Received.Width == 1920 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("B still receives %dx%d after the switch to monitor 0", st.Video.Received.Width, st.Video.Received.Height)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := r.b.rec.count(EventReinvite, r.bID); n != reinvites {
		t.Fatalf("the switch sent %d re-INVITEs, want none", n-reinvites)
	}
	if n := r.a.rec.count(EventScreenShareStarted, r.aID); n != 2 {
		t.Fatalf("%d onScreenShareStarted, want 2 (start, switch)", n)
	}
}
