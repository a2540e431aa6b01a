package capture

import (
	"image"
	"image/color"
	"image/draw"
	"testing"

	"github.com/parlo-voip/parlo/capture/videocodec"
)

// The share's screen sender encodes with these options (capture.NewEncoder
// with ScreenContent); codec_bench_test.go's benchmarks use cpu-used 16.
func engineEncoder(b *testing.B) *VP8Encoder {
	b.Helper()
	enc, err := NewVP8Encoder(VP8Options{EncoderOptions: EncoderOptions{Width: 1920, Height: 1080, FPS: 30, BitrateKbps: 2500, ScreenContent: true}, CPUUsed: 12})
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
	benchEncode(b, enc, typingFrames(1920, 1080))
}

// BenchmarkVP8EncodeEngine_1080pTypingActiveMap is the typing picture sent
// as the Source delivers it: EncodeFrame with the changed rows (400..413), so
// libvpx analyses one or two macroblock rows (and the whole picture once a
// second).
func BenchmarkVP8EncodeEngine_1080pTypingActiveMap(b *testing.B) {
	enc := engineEncoder(b)
	frames := typingFrames(1920, 1080)
	if _, _, err := enc.EncodeFrame(Frame{Image: frames[0], Dirty: DirtyRows{0, 1079}}, true); err != nil {
		b.Fatal(err)
	}
	var n int
	seq := uint64(0)
	for b.Loop() {
		seq++
		data, _, err := enc.EncodeFrame(Frame{Image: frames[seq%uint64(len(frames))], Seq: seq, Dirty: DirtyRows{First: 400, Last: 413}}, false)
		if err != nil {
			b.Fatal(err)
		}
		n += len(data)
	}
	b.ReportMetric(float64(n)/float64(b.N), "bytes/frame")
	b.ReportMetric(float64(enc.PartialFrames())/float64(b.N), "partial/frame")
}

// BenchmarkVP8EncodeEngine_1080pRefresh is a refresh of a screen that did
// not change, analysed whole (Encode, as before active maps).
func BenchmarkVP8EncodeEngine_1080pRefresh(b *testing.B) {
	enc := engineEncoder(b)
	f := testI420(1920, 1080, 0)
	benchEncode(b, enc, []*I420{f})
}

// BenchmarkVP8EncodeEngine_1080pRefreshSettled is the Source's once-a-second
// refresh of a screen that has not changed for a few seconds, through
// EncodeFrame: no macroblock row is analysed, so this is libvpx's fixed cost
// of a 1080p frame.
func BenchmarkVP8EncodeEngine_1080pRefreshSettled(b *testing.B) {
	enc := engineEncoder(b)
	f := testI420(1920, 1080, 0)
	seq := uint64(0)
	send := func() int {
		data, _, err := enc.EncodeFrame(Frame{Image: f, Seq: seq, Refresh: seq > 0, Dirty: DirtyRows{0, 1079}}, false)
		if err != nil {
			b.Fatal(err)
		}
		seq++
		return len(data)
	}
	for range settlePasses + 1 {
		send()
	}
	var n int
	for b.Loop() {
		n += send()
	}
	b.ReportMetric(float64(n)/float64(b.N), "bytes/frame")
	b.ReportMetric(float64(enc.PartialFrames())/float64(b.N), "partial/frame")
}

// typingFrames are the typing benchmark's pictures: a still screen where
// picture i has glyph i (8x14 at row 400) drawn.
func typingFrames(w, h int) []*I420 {
	base := testPicture(w, h, 0)
	var frames []*I420
	for i := 0; i < 8; i++ {
		img := &image.RGBA{Pix: append([]byte(nil), base...), Stride: w * 4, Rect: image.Rect(0, 0, w, h)}
		draw.Draw(img, image.Rect(600+i*9, 400, 608+i*9, 414), &image.Uniform{color.Black}, image.Point{}, draw.Src)
		f := NewI420(w, h)
		BGRAToI420(f, img.Pix, w*4, w, h)
		frames = append(frames, f)
	}
	return frames
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
	benchDecode(b, videocodec.VP8, packets)
}
