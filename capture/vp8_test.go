//go:build cgo

package capture

import (
	"errors"
	"math"
	"testing"
)

// testPicture draws a screen-like BGRA picture: gradients, sharp-edged
// "windows" and a text-like pattern, shifted by phase to simulate motion.
func testPicture(w, h, phase int) []byte {
	src := make([]byte, w*h*4)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := (y*w + x) * 4
			xx := x + phase
			r, g, b := byte(xx*255/w), byte(y*255/h), byte((xx+y)/4)
			if (xx/160+y/120)%3 == 0 {
				r, g, b = 240, 240, 235
				if y%16 < 10 && xx%9 < 6 && (xx/9+y/16)%5 != 0 {
					r, g, b = 20, 20, 30
				}
			}
			src[i], src[i+1], src[i+2] = b, g, r
		}
	}
	return src
}

func testI420(w, h, phase int) *I420 {
	f := NewI420(w, h)
	BGRAToI420(f, testPicture(w, h, phase), w*4, w, h)
	return f
}

func psnrY(a, b *I420) float64 {
	var se float64
	for y := 0; y < a.Height; y++ {
		for x := 0; x < a.Width; x++ {
			d := float64(a.Y[y*a.StrideY+x]) - float64(b.Y[y*b.StrideY+x])
			se += d * d
		}
	}
	mse := se / float64(a.Width*a.Height)
	if mse == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/mse)
}

func TestVP8RoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name          string
		w, h          int
		screenContent bool
		cpuUsed       int
	}{
		{"640x480 screen cpu16", 640, 480, true, 16},
		{"641x361 odd camera cpu8", 641, 361, false, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enc, err := NewVP8Encoder(VP8Options{Width: tc.w, Height: tc.h, BitrateKbps: 3000,
				CPUUsed: tc.cpuUsed, ScreenContent: tc.screenContent})
			if err != nil {
				t.Fatal(err)
			}
			defer enc.Close()
			dec, err := NewVP8Decoder(0)
			if err != nil {
				t.Fatal(err)
			}
			defer dec.Close()
			var out *I420
			var in *I420
			for i := 0; i < 10; i++ {
				in = testI420(tc.w, tc.h, i*4)
				data, key, err := enc.Encode(in, false)
				if err != nil {
					t.Fatal(err)
				}
				if len(data) == 0 {
					t.Fatalf("frame %d dropped", i)
				}
				if key != (i == 0) {
					t.Errorf("frame %d keyframe = %v", i, key)
				}
				if out, err = dec.Decode(data); err != nil || out == nil {
					t.Fatalf("decode frame %d: %v", i, err)
				}
			}
			if out.Width != tc.w || out.Height != tc.h {
				t.Fatalf("decoded %dx%d", out.Width, out.Height)
			}
			if p := psnrY(in, out); p < 30 {
				t.Errorf("PSNR %.1f dB, want > 30", p)
			} else {
				t.Logf("PSNR %.1f dB", p)
			}
		})
	}
}

func TestVP8KeyframeOnRequest(t *testing.T) {
	enc, err := NewVP8Encoder(VP8Options{Width: 320, Height: 240, ScreenContent: true, CPUUsed: 16})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	f := testI420(320, 240, 0)
	expect := func(force, want bool) int {
		t.Helper()
		data, key, err := enc.Encode(f, force)
		if err != nil || len(data) == 0 {
			t.Fatalf("encode: %d bytes, %v", len(data), err)
		}
		if key != want {
			t.Fatalf("keyframe = %v, want %v", key, want)
		}
		// RFC 6386 section 9.1: bit 0 of the frame tag is 0 for keyframes.
		if (data[0]&1 == 0) != want {
			t.Fatalf("frame tag %#x disagrees with keyframe=%v", data[0], want)
		}
		return len(data)
	}
	expect(false, true)
	expect(false, false)
	expect(false, false)
	enc.RequestKeyframe()
	expect(false, true)
	expect(false, false)
	keySize := expect(true, true)
	staticSize := keySize
	var sizes []int
	for i := 0; i < 30; i++ {
		n := expect(false, false)
		sizes = append(sizes, n)
		staticSize = min(staticSize, n)
	}
	// Once the encoder has refined the picture (rate control spends spare
	// bits on quality for a while), an unchanged frame is nearly free.
	if staticSize > keySize/10 {
		t.Errorf("unchanged frames cost %v bytes, keyframe %d", sizes, keySize)
	}
	t.Logf("keyframe %d bytes, unchanged frames %v", keySize, sizes)
	if err := enc.SetBitrate(500); err != nil {
		t.Fatal(err)
	}
	if enc.Options().BitrateKbps != 500 {
		t.Error("bitrate not recorded")
	}
	if _, _, err := enc.Encode(NewI420(64, 64), false); !errors.Is(err, ErrFrameSize) {
		t.Errorf("wrong size: %v", err)
	}
	_ = enc.Close()
	if err := enc.Close(); err != nil {
		t.Error(err)
	}
	if _, _, err := enc.Encode(f, false); !errors.Is(err, ErrClosed) {
		t.Errorf("after close: %v", err)
	}
}

func TestVP8EncoderBadOptions(t *testing.T) {
	if _, err := NewVP8Encoder(VP8Options{}); !errors.Is(err, ErrFrameSize) {
		t.Errorf("zero size: %v", err)
	}
}

func TestVP8DecoderRejectsGarbage(t *testing.T) {
	dec, err := NewVP8Decoder(1)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	for _, in := range [][]byte{nil, {0}, {0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a}, make([]byte, 100)} {
		if f, err := dec.Decode(in); err == nil && f != nil {
			t.Errorf("garbage %x decoded to %dx%d", in, f.Width, f.Height)
		}
	}
}

// FuzzVP8Decode feeds network-controlled bytes to libvpx: it must never
// crash, and any picture it returns must be self-consistent.
func FuzzVP8Decode(f *testing.F) {
	enc, err := NewVP8Encoder(VP8Options{Width: 64, Height: 48, CPUUsed: 16})
	if err != nil {
		f.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		data, _, err := enc.Encode(testI420(64, 48, i), false)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		if i == 0 { // the keyframe, claiming 16383x16383
			bomb := append([]byte(nil), data...)
			bomb[6], bomb[7], bomb[8], bomb[9] = 0xff, 0x3f, 0xff, 0x3f
			f.Add(bomb)
		}
	}
	enc.Close()
	f.Add([]byte{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x00, 0x30, 0x00})
	dec, err := NewVP8Decoder(1)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { dec.Close() })
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := dec.Decode(data)
		if err != nil || img == nil {
			return
		}
		if len(img.Y) < img.Width*img.Height || len(img.U) < img.StrideUV*((img.Height+1)/2) {
			t.Fatalf("inconsistent picture %dx%d", img.Width, img.Height)
		}
		if !frameSizeOK(img.Width, img.Height) {
			t.Fatalf("picture %dx%d over the cap", img.Width, img.Height)
		}
	})
}

func benchmarkVP8(b *testing.B, motion bool) {
	const w, h = 1920, 1080
	enc, err := NewVP8Encoder(VP8Options{Width: w, Height: h, FPS: 30, BitrateKbps: 2500, CPUUsed: 16, ScreenContent: true})
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
	if _, _, err := enc.Encode(frames[0], false); err != nil {
		b.Fatal(err)
	}
	var bytes int
	i := 0
	for b.Loop() {
		i++
		data, _, err := enc.Encode(frames[i%len(frames)], false)
		if err != nil {
			b.Fatal(err)
		}
		bytes += len(data)
	}
	b.ReportMetric(float64(bytes)/float64(b.N), "bytes/frame")
}

func BenchmarkVP8Encode_1080pStatic(b *testing.B) { benchmarkVP8(b, false) }
func BenchmarkVP8Encode_1080pMotion(b *testing.B) { benchmarkVP8(b, true) }
