//go:build cgo

package capture

import (
	"testing"

	"github.com/parlo-voip/parlo/capture/videocodec"
)

// benchEncode encodes frames round and round after a first keyframe and
// reports the bytes per frame.
func benchEncode(b *testing.B, enc Encoder, frames []*I420) {
	b.Helper()
	if _, _, err := enc.Encode(frames[0], true); err != nil {
		b.Fatal(err)
	}
	var n int
	i := 0
	for b.Loop() {
		i++
		data, _, err := enc.Encode(frames[i%len(frames)], false)
		if err != nil {
			b.Fatal(err)
		}
		n += len(data)
	}
	b.ReportMetric(float64(n)/float64(b.N), "bytes/frame")
}

// benchDecode decodes a stream that starts with a keyframe round and round,
// so every frame has its references: the receiver's cost per frame.
func benchDecode(b *testing.B, codec videocodec.Name, stream [][]byte) {
	b.Helper()
	dec, err := NewDecoder(codec, 1)
	if err != nil {
		b.Fatal(err)
	}
	defer dec.Close()
	dst := &I420{}
	i := 0
	for b.Loop() {
		if _, err := dec.DecodeInto(dst, stream[i%len(stream)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// benchmarkCodec encodes 1080p, a still picture or one moving everywhere,
// at the fastest settings (VP8 cpu-used 16).
func benchmarkCodec(b *testing.B, codec videocodec.Name, motion bool) {
	b.Helper()
	const w, h = 1920, 1080
	o := EncoderOptions{Width: w, Height: h, FPS: 30, BitrateKbps: 2500, ScreenContent: true}
	var enc Encoder
	var err error
	if codec == videocodec.VP8 {
		enc, err = NewVP8Encoder(VP8Options{EncoderOptions: o, CPUUsed: 16})
	} else {
		enc, err = NewEncoder(codec, o)
	}
	if err != nil {
		b.Fatal(err)
	}
	defer enc.Close()
	frames := []*I420{testI420(w, h, 0)}
	if motion {
		for i := 1; i < 8; i++ {
			frames = append(frames, testI420(w, h, i*13))
		}
	}
	benchEncode(b, enc, frames)
}

func BenchmarkVP8Encode_1080pStatic(b *testing.B)  { benchmarkCodec(b, videocodec.VP8, false) }
func BenchmarkVP8Encode_1080pMotion(b *testing.B)  { benchmarkCodec(b, videocodec.VP8, true) }
func BenchmarkH264Encode_1080pStatic(b *testing.B) { benchmarkCodec(b, videocodec.H264, false) }
func BenchmarkH264Encode_1080pMotion(b *testing.B) { benchmarkCodec(b, videocodec.H264, true) }

func BenchmarkH264Decode_1080pMotion(b *testing.B) {
	enc, err := NewEncoder(videocodec.H264, EncoderOptions{Width: 1920, Height: 1080, BitrateKbps: 2500})
	if err != nil {
		b.Fatal(err)
	}
	defer enc.Close()
	var stream [][]byte
	for i := 0; i < 16; i++ {
		data, _, err := enc.Encode(testI420(1920, 1080, i*13), false)
		if err != nil {
			b.Fatal(err)
		}
		stream = append(stream, data)
	}
	benchDecode(b, videocodec.H264, stream)
}
