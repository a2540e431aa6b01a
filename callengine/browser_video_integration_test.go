package callengine

import (
	"strings"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/internal/testpeers"
)

// The far end sends video into a call: Parlo (UDP account, default
// settings) calls SIP.js in Chromium, which then adds its fake camera by
// re-INVITE (VP8, and separately H.264 only). Parlo accepts the new line and
// decodes every frame at the camera's size, with the audio still flowing.
func TestBrowserVideoIntoParloIntegration(t *testing.T) {
	for _, codec := range []string{"VP8", "H264"} {
		t.Run(codec, func(t *testing.T) {
			r := newBrowserRigAnswer(t, testpeers.FlavourSIPJS, codec, false, true)
			ctx := ctxT(t, 60*time.Second)
			s, err := r.parlo.Call(ctx, "bob", CallOptions{})
			if err != nil {
				t.Fatalf("Parlo calls the browser: %v\n%s", err, sharedBrowser(t).Log())
			}
			id := s.SipCallID
			r.parlo.rec.wait(t, EventMediaConnected, id, 15*time.Second)
			r.parlo.waitTone(t, browserToneHz, 10*time.Second)

			start := time.Now()
			if err := r.peer.StartVideo(ctx); err != nil {
				t.Fatalf("browser adds video: %v\n%s", err, sharedBrowser(t).Log())
			}
			var frames int64
			var w, h int
			var got string
			deadline := time.Now().Add(20 * time.Second)
			firstFrame := time.Duration(0)
			for time.Now().Before(deadline) {
				st, err := r.parlo.Stats(id)
				if err != nil {
					t.Fatalf("Stats: %v", err)
				}
				frames, w, h, got = int64(st.Video.Received.FramesDecoded), st.Video.Received.Width, st.Video.Received.Height, st.Video.Received.Codec
				if frames > 0 && firstFrame == 0 {
					firstFrame = time.Since(start)
				}
				if frames >= 60 {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			bst, _ := r.peer.Stats(ctx)
			t.Logf("browser → Parlo video: first decoded frame %s after the re-INVITE; %d frames decoded of %d the browser encoded (%s %dx%d, %d PLI)",
				firstFrame.Round(time.Millisecond), frames, bst.VideoSent.FramesEncoded, got, w, h, bst.VideoSent.PliCount)
			if frames < 60 {
				t.Fatalf("Parlo decoded %d frames of the browser's camera in 20 s (browser encoded %d, %s), want ≥ 60",
					frames, bst.VideoSent.FramesEncoded, bst.VideoSent.Codec)
			}
			if w != bst.VideoSent.FrameWidth || h != bst.VideoSent.FrameHeight || w == 0 {
				t.Fatalf("Parlo decodes %dx%d, the browser sends %dx%d", w, h, bst.VideoSent.FrameWidth, bst.VideoSent.FrameHeight)
			}
			if !strings.EqualFold(got, codec) && !strings.EqualFold("video/"+got, bst.VideoSent.Codec) {
				t.Fatalf("Parlo decodes %q, want %s (browser sends %s)", got, codec, bst.VideoSent.Codec)
			}
			// Audio survives the re-INVITE.
			r.parlo.waitTone(t, browserToneHz, 5*time.Second)
			if err := r.parlo.Hangup(ctx, id); err != nil {
				t.Fatalf("Hangup: %v", err)
			}
		})
	}
}
