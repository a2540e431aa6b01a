package share

import (
	"testing"

	"github.com/parlo-voip/parlo/capture"
)

// BenchmarkReceiverLatest_1080p is what a UI pays each time it takes
// the newest decoded 1080p frame (a copy, so the decoder can go on).
func BenchmarkReceiverLatest_1080p(b *testing.B) {
	enc, err := capture.NewVP8Encoder(capture.VP8Options{EncoderOptions: capture.EncoderOptions{Width: 1920, Height: 1080, ScreenContent: true}, CPUUsed: 12})
	if err != nil {
		b.Fatal(err)
	}
	defer enc.Close()
	data, _, err := enc.Encode(capture.NewI420(1920, 1080), true)
	if err != nil {
		b.Fatal(err)
	}
	r := NewReceiver(ReceiverOptions{})
	defer r.Close()
	if err := r.WriteVideoFrame("VP8", data); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if img, _ := r.Latest(); img == nil {
			b.Fatal("no frame")
		}
	}
}
