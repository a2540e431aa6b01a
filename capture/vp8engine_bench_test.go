package capture

import (
	"image"
	"image/color"
	"image/draw"
	"testing"
)

// The engine's screenSender encodes with these options (callengine/
// screensender.go); vp8_test.go's benchmarks use cpu-used 16.
func engineEncoder(b *testing.B) *VP8Encoder {
	b.Helper()
	enc, err := NewVP8Encoder(VP8Options{Width: 1920, Height: 1080, FPS: 30, BitrateKbps: 2500, CPUUsed: 12, ScreenContent: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { enc.Close() })
	return enc
}

// BenchmarkVP8EncodeEngine_1080pMotion encodes a picture that changes
// everywhere on every frame.
func BenchmarkVP8EncodeEngine_1080pMotion(b *testing.B) {
	enc := engineEncoder(b)
	var frames []*I420
	for i := 0; i < 8; i++ {
		frames = append(frames, testI420(1920, 1080, i*13))
	}
	benchEncode(b, enc, frames)
}

// BenchmarkVP8EncodeEngine_1080pTyping encodes a still picture where one
// 8x14 "glyph" changes per frame, as while typing.
func BenchmarkVP8EncodeEngine_1080pTyping(b *testing.B) {
	enc := engineEncoder(b)
	const w, h = 1920, 1080
	base := testPicture(w, h, 0)
	var frames []*I420
	for i := 0; i < 8; i++ {
		img := &image.RGBA{Pix: append([]byte(nil), base...), Stride: w * 4, Rect: image.Rect(0, 0, w, h)}
		draw.Draw(img, image.Rect(600+i*9, 400, 608+i*9, 414), &image.Uniform{color.Black}, image.Point{}, draw.Src)
		f := NewI420(w, h)
		BGRAToI420(f, img.Pix, w*4, w, h)
		frames = append(frames, f)
	}
	benchEncode(b, enc, frames)
}

func benchEncode(b *testing.B, enc *VP8Encoder, frames []*I420) {
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

// BenchmarkVP8Decode_1080pMotion decodes what the engine's encoder makes of a
// moving picture: the receiver's cost per frame.
func BenchmarkVP8Decode_1080pMotion(b *testing.B) {
	enc := engineEncoder(b)
	var packets [][]byte
	for i := 0; i < 30; i++ {
		data, _, err := enc.Encode(testI420(1920, 1080, i*13), i == 0)
		if err != nil {
			b.Fatal(err)
		}
		packets = append(packets, data)
	}
	dec, err := NewVP8Decoder(1)
	if err != nil {
		b.Fatal(err)
	}
	defer dec.Close()
	dst := &I420{}
	i := 0
	for b.Loop() {
		// Restart at the keyframe so that every decode has its references.
		if _, err := dec.DecodeInto(dst, packets[i%len(packets)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
