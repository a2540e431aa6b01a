package share

import (
	"bytes"
	"errors"
	"testing"

	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/capture"
)

// A VP8 keyframe claiming 16383x16383 is refused and counted, its error
// makes the media session ask for a keyframe, and the next real keyframe
// shows.
func TestReceiverRefusesResolutionBomb(t *testing.T) {
	enc, err := capture.NewVP8Encoder(capture.VP8Options{EncoderOptions: capture.EncoderOptions{Width: 64, Height: 48}, CPUUsed: 16})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	key, _, err := enc.Encode(capture.NewI420(64, 48), true)
	if err != nil {
		t.Fatal(err)
	}
	bomb := bytes.Clone(key)
	bomb[6], bomb[7], bomb[8], bomb[9] = 0xff, 0x3f, 0xff, 0x3f
	r := NewReceiver(ReceiverOptions{})
	defer r.Close()
	if err := r.WriteVideoFrame("VP8", bomb); !errors.Is(err, capture.ErrFrameTooLarge) {
		t.Fatalf("bomb: %v, want ErrFrameTooLarge", err)
	}
	if got := r.refused.Load(); got != 1 {
		t.Fatalf("refused %d, want 1", got)
	}
	if err := r.WriteVideoFrame("VP8", key); err != nil {
		t.Fatal(err)
	}
	var st media.VideoReceivedStats
	r.Stats(&st)
	if st.FramesDecoded != 1 || st.Width != 64 || st.Height != 48 || st.FramesRefused != 1 || st.Codec != "VP8" {
		t.Fatalf("after the bomb: %+v", st)
	}
}
