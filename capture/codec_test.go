//go:build cgo

package capture

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/parlo-voip/parlo/capture/videocodec"
)

// codecCase is what the conformance tests need to know of one codec beyond
// the Encoder and Decoder interfaces: how its bitstream marks a keyframe,
// the sizes it must round-trip, and inputs its decoder must refuse.
type codecCase struct {
	codec videocodec.Name
	// isKeyframe reads the bitstream, independently of what Encode said.
	isKeyframe func(data []byte) bool
	sizes      [][2]int
	garbage    [][]byte
	// spendFollowsTarget: the bytes spent on a moving picture follow the
	// target regardless of machine load. Not libvpx's: in real-time mode it
	// trades bits for speed by the wall clock, so under load it spends less
	// than a high target and the comparison says nothing.
	spendFollowsTarget bool
}

// codecCases is every codec NewEncoder and NewDecoder build; a codec added
// there and not here fails TestCodecCasesCoverAll.
var codecCases = []codecCase{
	{
		codec: videocodec.VP8,
		// RFC 6386 §9.1: bit 0 of the frame tag is 0 for keyframes.
		isKeyframe: func(d []byte) bool { return d[0]&1 == 0 },
		sizes:      [][2]int{{640, 480}, {641, 361}},
		garbage:    [][]byte{{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a}},
	},
	{
		codec: videocodec.H264,
		// An IDR (NAL type 5) comes with its SPS (7) and PPS (8), so a
		// receiver that lost the stream needs nothing else (RFC 6184 §8.4).
		isKeyframe: func(d []byte) bool {
			types, _ := nalTypes(d)
			return contains(types, 5) && contains(types, 7) && contains(types, 8)
		},
		sizes:              [][2]int{{640, 480}, {1280, 720}, {642, 362}},
		spendFollowsTarget: true,
		garbage: [][]byte{
			{0, 0, 0, 1, 0x65, 0x88, 0x84}, {0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f},
			bytes.Repeat([]byte{0xff}, 500),
		},
	},
}

func TestCodecCasesCoverAll(t *testing.T) {
	for _, name := range videocodec.All() {
		found := false
		for _, c := range codecCases {
			found = found || c.codec == name
		}
		if !found {
			t.Errorf("codec %s has no conformance case", name)
		}
		enc, err := NewEncoder(name, EncoderOptions{Width: 64, Height: 48})
		if err != nil {
			t.Fatalf("NewEncoder(%s): %v", name, err)
		}
		if enc.Codec() != name {
			t.Errorf("NewEncoder(%s) encodes %s", name, enc.Codec())
		}
		enc.Close()
		dec, err := NewDecoder(name, 1)
		if err != nil {
			t.Fatalf("NewDecoder(%s): %v", name, err)
		}
		if dec.Codec() != name {
			t.Errorf("NewDecoder(%s) decodes %s", name, dec.Codec())
		}
		dec.Close()
	}
	if _, err := NewEncoder("VP9", EncoderOptions{Width: 64, Height: 48}); !errors.Is(err, ErrUnknownCodec) {
		t.Errorf("NewEncoder(VP9): %v", err)
	}
	if _, err := NewDecoder("", 1); !errors.Is(err, ErrUnknownCodec) {
		t.Errorf("NewDecoder(\"\"): %v", err)
	}
}

func newCodecPair(t testing.TB, c codecCase, o EncoderOptions) (Encoder, Decoder) {
	t.Helper()
	enc, err := NewEncoder(c.codec, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { enc.Close() })
	dec, err := NewDecoder(c.codec, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dec.Close() })
	return enc, dec
}

// TestCodecRoundTrip encodes a moving sequence and decodes it: every frame
// comes out (no buffering: real-time settings), only the first is a
// keyframe, the size is kept (odd sizes too where the codec allows) and the
// picture is faithful (SSIM and PSNR of the luma).
func TestCodecRoundTrip(t *testing.T) {
	for _, c := range codecCases {
		for _, sz := range c.sizes {
			w, h := sz[0], sz[1]
			t.Run(fmt.Sprintf("%s/%dx%d", c.codec, w, h), func(t *testing.T) {
				enc, dec := newCodecPair(t, c, EncoderOptions{Width: w, Height: h, BitrateKbps: 3000, ScreenContent: true})
				var in, out *I420
				for i := 0; i < 10; i++ {
					in = testI420(w, h, i*4)
					data, key, err := enc.Encode(in, false)
					if err != nil {
						t.Fatal(err)
					}
					if len(data) == 0 {
						t.Fatalf("frame %d: no output", i)
					}
					if key != (i == 0) || c.isKeyframe(data) != key {
						t.Errorf("frame %d: keyframe %v, bitstream says %v, want %v", i, key, c.isKeyframe(data), i == 0)
					}
					if out, err = dec.Decode(data); err != nil || out == nil {
						t.Fatalf("decode frame %d: %v (picture %v)", i, err, out != nil)
					}
				}
				if out.Width != w || out.Height != h {
					t.Fatalf("decoded %dx%d, want %dx%d", out.Width, out.Height, w, h)
				}
				ssim, psnr := SSIMY(in, out), psnrY(in, out)
				t.Logf("SSIM %.4f, PSNR %.1f dB", ssim, psnr)
				if ssim < 0.95 || psnr < 30 {
					t.Errorf("SSIM %.4f (want ≥ 0.95), PSNR %.1f dB (want ≥ 30)", ssim, psnr)
				}
			})
		}
	}
}

// TestCodecKeyframeOnRequest: a keyframe comes on RequestKeyframe (a PLI)
// and on forceKeyframe, once, and it decodes on a fresh decoder: what a
// receiver that lost the stream gets.
func TestCodecKeyframeOnRequest(t *testing.T) {
	for _, c := range codecCases {
		t.Run(string(c.codec), func(t *testing.T) {
			enc, _ := newCodecPair(t, c, EncoderOptions{Width: 320, Height: 240, ScreenContent: true})
			i := 0
			expect := func(force, want bool) []byte {
				t.Helper()
				i++
				data, key, err := enc.Encode(testI420(320, 240, i), force)
				if err != nil || len(data) == 0 {
					t.Fatalf("encode: %d bytes, %v", len(data), err)
				}
				if key != want || c.isKeyframe(data) != want {
					t.Fatalf("keyframe %v, bitstream says %v, want %v", key, c.isKeyframe(data), want)
				}
				return data
			}
			expect(false, true)
			expect(false, false)
			expect(false, false)
			enc.RequestKeyframe()
			requested := expect(false, true)
			expect(false, false)
			expect(true, true)
			expect(false, false)
			fresh, err := NewDecoder(c.codec, 1)
			if err != nil {
				t.Fatal(err)
			}
			defer fresh.Close()
			if f, err := fresh.Decode(requested); err != nil || f == nil || f.Width != 320 {
				t.Fatalf("the requested keyframe alone: %v, %v", f, err)
			}
		})
	}
}

// TestCodecSetBitrate: a new target is taken and reported, a target of 0
// is refused, and where the codec's spend is deterministic the target is
// what it spends: a moving picture at 300 kbps costs far fewer bytes than at
// 3000 kbps.
func TestCodecSetBitrate(t *testing.T) {
	for _, c := range codecCases {
		t.Run(string(c.codec), func(t *testing.T) {
			enc, _ := newCodecPair(t, c, EncoderOptions{Width: 640, Height: 480, BitrateKbps: 3000, KeyframeInterval: -1})
			spend := func(from int) int {
				n := 0
				for i := from; i < from+30; i++ {
					data, _, err := enc.Encode(testI420(640, 480, i*8), false)
					if err != nil {
						t.Fatal(err)
					}
					if i >= from+10 {
						n += len(data)
					}
				}
				return n
			}
			high := spend(0)
			if err := enc.SetBitrate(300); err != nil {
				t.Fatal(err)
			}
			if got := enc.Bitrate(); got != 300 {
				t.Errorf("Bitrate() = %d after SetBitrate(300)", got)
			}
			low := spend(30)
			t.Logf("20 moving frames: %d bytes at 3000 kbps, %d bytes at 300 kbps", high, low)
			if c.spendFollowsTarget && low*2 > high {
				t.Errorf("lowering the bitrate did not lower the output: %d → %d bytes", high, low)
			}
			if err := enc.SetBitrate(0); err == nil {
				t.Error("bitrate 0 accepted")
			}
		})
	}
}

// TestCodecMisuse: a zero size is refused at construction, a frame of
// another size at Encode, and after Close (idempotent) everything returns
// ErrClosed.
func TestCodecMisuse(t *testing.T) {
	for _, c := range codecCases {
		t.Run(string(c.codec), func(t *testing.T) {
			if _, err := NewEncoder(c.codec, EncoderOptions{}); !errors.Is(err, ErrFrameSize) {
				t.Errorf("zero size: %v", err)
			}
			enc, err := NewEncoder(c.codec, EncoderOptions{Width: 64, Height: 48})
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := enc.Encode(NewI420(64, 64), false); !errors.Is(err, ErrFrameSize) {
				t.Errorf("wrong size: %v", err)
			}
			_ = enc.Close()
			if err := enc.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
			if _, _, err := enc.Encode(testI420(64, 48, 0), false); !errors.Is(err, ErrClosed) {
				t.Errorf("Encode after Close: %v", err)
			}
			if err := enc.SetBitrate(300); !errors.Is(err, ErrClosed) {
				t.Errorf("SetBitrate after Close: %v", err)
			}
		})
	}
}

// TestDecoderRejectsGarbage: network bytes that are no frame give no
// picture, and the decoder still decodes a real stream afterwards.
func TestDecoderRejectsGarbage(t *testing.T) {
	for _, c := range codecCases {
		t.Run(string(c.codec), func(t *testing.T) {
			enc, dec := newCodecPair(t, c, EncoderOptions{Width: 64, Height: 48})
			for _, in := range append([][]byte{nil, {0}, make([]byte, 100)}, c.garbage...) {
				if f, err := dec.Decode(in); err == nil && f != nil {
					t.Errorf("garbage %x decoded to %dx%d", in, f.Width, f.Height)
				}
			}
			data, _, err := enc.Encode(testI420(64, 48, 0), false)
			if err != nil {
				t.Fatal(err)
			}
			if f, err := dec.Decode(data); err != nil || f == nil || f.Width != 64 {
				t.Fatalf("after garbage: %v %v", f, err)
			}
			_ = dec.Close()
			if err := dec.Close(); err != nil {
				t.Error(err)
			}
			if _, err := dec.Decode(data); !errors.Is(err, ErrClosed) {
				t.Errorf("after close: %v", err)
			}
		})
	}
}

// checkDecoded decodes network-controlled bytes (a fuzz input): the
// decoder must not crash, and any picture it returns must be
// self-consistent and within the size cap.
func checkDecoded(t *testing.T, dec Decoder, data []byte) {
	t.Helper()
	img, err := dec.Decode(data)
	if err != nil || img == nil {
		return
	}
	if img.Width <= 0 || img.Height <= 0 || len(img.Y) < img.Width*img.Height ||
		len(img.U) < img.StrideUV*((img.Height+1)/2) || len(img.V) < img.StrideUV*((img.Height+1)/2) {
		t.Fatalf("inconsistent picture %dx%d", img.Width, img.Height)
	}
	if !frameSizeOK(img.Width, img.Height) {
		t.Fatalf("picture %dx%d over the cap", img.Width, img.Height)
	}
}
