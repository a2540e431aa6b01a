//go:build cgo

package capture

import (
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

// TestVP8StaticFramesCheap: once libvpx has refined the picture (rate
// control spends spare bits on quality for a while), an unchanged frame is
// nearly free; the share's idle cost rests on it.
func TestVP8StaticFramesCheap(t *testing.T) {
	enc, err := NewVP8Encoder(VP8Options{EncoderOptions: EncoderOptions{Width: 320, Height: 240, ScreenContent: true}, CPUUsed: 16})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	f := testI420(320, 240, 0)
	keyData, _, err := enc.Encode(f, true)
	if err != nil {
		t.Fatal(err)
	}
	keySize := len(keyData)
	staticSize := keySize
	var sizes []int
	for i := 0; i < 30; i++ {
		data, key, err := enc.Encode(f, false)
		if err != nil || key {
			t.Fatalf("unchanged frame %d: keyframe %v, %v", i, key, err)
		}
		sizes = append(sizes, len(data))
		staticSize = min(staticSize, len(data))
	}
	if staticSize > keySize/10 {
		t.Errorf("unchanged frames cost %v bytes, keyframe %d", sizes, keySize)
	}
	t.Logf("keyframe %d bytes, unchanged frames %v", keySize, sizes)
}

// FuzzVP8Decode feeds network-controlled bytes to libvpx: it must never
// crash, and any picture it returns must be self-consistent.
func FuzzVP8Decode(f *testing.F) {
	enc, err := NewVP8Encoder(VP8Options{EncoderOptions: EncoderOptions{Width: 64, Height: 48}, CPUUsed: 16})
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
	f.Fuzz(func(t *testing.T, data []byte) { checkDecoded(t, dec, data) })
}
