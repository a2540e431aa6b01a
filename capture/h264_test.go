//go:build cgo

package capture

import (
	"bytes"
	"errors"
	"testing"
)

// nalTypes lists the NAL unit types (RFC 6184 §1.3, H.264 Table 7-1) of an
// Annex-B access unit, and the bytes of its first SPS.
func nalTypes(au []byte) (types []int, sps []byte) {
	for _, nal := range bytes.Split(au, []byte{0, 0, 1}) {
		nal = bytes.TrimRight(nal, "\x00") // a 4-byte start code leaves a 0
		if len(nal) == 0 {
			continue
		}
		typ := int(nal[0] & 0x1f)
		types = append(types, typ)
		if typ == 7 && sps == nil {
			sps = nal
		}
	}
	return types, sps
}

func contains(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func TestH264RoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		w, h int
		kbps int
	}{
		{"640x480", 640, 480, 3000},
		{"1280x720", 1280, 720, 4000},
		{"642x362 not a multiple of 16", 642, 362, 3000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enc, err := NewH264Encoder(H264Options{Width: tc.w, Height: tc.h, BitrateKbps: tc.kbps})
			if err != nil {
				t.Fatal(err)
			}
			defer enc.Close()
			dec, err := NewH264Decoder(0)
			if err != nil {
				t.Fatal(err)
			}
			defer dec.Close()
			var in, out *I420
			for i := 0; i < 10; i++ {
				in = testI420(tc.w, tc.h, i*4)
				data, key, err := enc.Encode(in, false)
				if err != nil {
					t.Fatal(err)
				}
				if len(data) == 0 {
					t.Fatalf("frame %d: no output (zerolatency must not buffer)", i)
				}
				if key != (i == 0) {
					t.Errorf("frame %d keyframe = %v", i, key)
				}
				if !bytes.HasPrefix(data, []byte{0, 0, 0, 1}) && !bytes.HasPrefix(data, []byte{0, 0, 1}) {
					t.Fatalf("frame %d is not Annex-B: % x", i, data[:min(8, len(data))])
				}
				if out, err = dec.Decode(data); err != nil || out == nil {
					t.Fatalf("decode frame %d: %v (picture %v)", i, err, out != nil)
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

func TestH264KeyframeOnRequest(t *testing.T) {
	enc, err := NewH264Encoder(H264Options{Width: 320, Height: 240})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	f := testI420(320, 240, 0)
	expect := func(force, want bool) []byte {
		t.Helper()
		data, key, err := enc.Encode(f, force)
		if err != nil || len(data) == 0 {
			t.Fatalf("encode: %d bytes, %v", len(data), err)
		}
		if key != want {
			t.Fatalf("keyframe = %v, want %v", key, want)
		}
		types, _ := nalTypes(data)
		// An IDR (type 5) comes with its SPS (7) and PPS (8), so a receiver
		// that lost the stream needs nothing else; other frames are type 1.
		isIDR := contains(types, 5) && contains(types, 7) && contains(types, 8)
		if isIDR != want || (!want && !contains(types, 1)) {
			t.Fatalf("NAL types %v disagree with keyframe=%v", types, want)
		}
		return data
	}
	first := expect(false, true)
	expect(false, false)
	expect(false, false)
	enc.RequestKeyframe()
	expect(false, true)
	expect(false, false)
	expect(true, true)
	expect(false, false)

	// Constrained baseline (profile-level-id 42e0xx, RFC 6184 §8.1):
	// profile_idc 66 with constraint_set0 and constraint_set1.
	_, sps := nalTypes(first)
	if len(sps) < 4 {
		t.Fatalf("no SPS in the first frame")
	}
	if sps[1] != 66 || sps[2]&0xc0 != 0xc0 {
		t.Errorf("SPS profile_idc %d constraints %#x, want 66 and 0xc0 (constrained baseline)", sps[1], sps[2])
	}

	if err := enc.SetBitrate(500); err != nil {
		t.Fatal(err)
	}
	if enc.Options().BitrateKbps != 500 {
		t.Error("bitrate not recorded")
	}
	expect(false, false)
	if err := enc.SetBitrate(0); err == nil {
		t.Error("bitrate 0 accepted")
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
	if err := enc.SetBitrate(300); !errors.Is(err, ErrClosed) {
		t.Errorf("SetBitrate after close: %v", err)
	}
}

// The bitrate target is what the encoder actually spends: a moving picture
// at 300 kbps costs far fewer bytes than at 3000 kbps.
func TestH264SetBitrateChangesOutput(t *testing.T) {
	enc, err := NewH264Encoder(H264Options{Width: 640, Height: 480, BitrateKbps: 3000, KeyframeInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
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
	low := spend(30)
	t.Logf("20 moving frames: %d bytes at 3000 kbps, %d bytes at 300 kbps", high, low)
	if low*2 > high {
		t.Errorf("lowering the bitrate did not lower the output: %d → %d bytes", high, low)
	}
}

func TestH264BadOptions(t *testing.T) {
	for _, o := range []H264Options{{}, {Width: 641, Height: 480}, {Width: 640, Height: -2}} {
		if _, err := NewH264Encoder(o); !errors.Is(err, ErrFrameSize) {
			t.Errorf("%+v: %v", o, err)
		}
	}
}

func TestH264DecoderRejectsGarbage(t *testing.T) {
	dec, err := NewH264Decoder(1)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	for _, in := range [][]byte{nil, {0}, {0, 0, 0, 1, 0x65, 0x88, 0x84}, {0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f}, make([]byte, 100), bytes.Repeat([]byte{0xff}, 500)} {
		if f, err := dec.Decode(in); err == nil && f != nil {
			t.Errorf("garbage %x decoded to %dx%d", in, f.Width, f.Height)
		}
	}
	// It still decodes a real stream afterwards.
	enc, err := NewH264Encoder(H264Options{Width: 64, Height: 48})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
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
}

// FuzzH264Decode feeds network-controlled bytes to libavcodec: it must
// never crash, and any picture it returns must be self-consistent.
func FuzzH264Decode(f *testing.F) {
	enc, err := NewH264Encoder(H264Options{Width: 64, Height: 48})
	if err != nil {
		f.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		data, _, err := enc.Encode(testI420(64, 48, i), false)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		if i == 0 { // the keyframe, its SPS claiming 16000x16000
			f.Add(patchSPS(f, data, 1000, 1000))
		}
	}
	enc.Close()
	f.Add([]byte{0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f, 0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80})
	dec, err := NewH264Decoder(1)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { dec.Close() })
	f.Fuzz(func(t *testing.T, data []byte) {
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
	})
}

func benchmarkH264(b *testing.B, motion bool) {
	const w, h = 1920, 1080
	enc, err := NewH264Encoder(H264Options{Width: w, Height: h, FPS: 30, BitrateKbps: 2500})
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

func BenchmarkH264Encode_1080pStatic(b *testing.B) { benchmarkH264(b, false) }
func BenchmarkH264Encode_1080pMotion(b *testing.B) { benchmarkH264(b, true) }

func BenchmarkH264Decode_1080pMotion(b *testing.B) {
	const w, h = 1920, 1080
	enc, err := NewH264Encoder(H264Options{Width: w, Height: h, BitrateKbps: 2500})
	if err != nil {
		b.Fatal(err)
	}
	defer enc.Close()
	var aus [][]byte
	for i := 0; i < 16; i++ {
		data, _, err := enc.Encode(testI420(w, h, i*13), false)
		if err != nil {
			b.Fatal(err)
		}
		aus = append(aus, data)
	}
	dec, err := NewH264Decoder(1)
	if err != nil {
		b.Fatal(err)
	}
	defer dec.Close()
	dst := &I420{}
	i := 0
	for b.Loop() {
		// Restart at the IDR so every access unit has its references.
		if _, err := dec.DecodeInto(dst, aus[i%len(aus)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
