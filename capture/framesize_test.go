//go:build cgo

package capture

import (
	"bytes"
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// bitWriter writes the fields of an RBSP (the test's SPS rewriter).
type bitWriter struct {
	b []byte
	n int // bits written
}

func (w *bitWriter) bit(v uint64) {
	if w.n%8 == 0 {
		w.b = append(w.b, 0)
	}
	w.b[len(w.b)-1] |= byte(v&1) << (7 - w.n%8)
	w.n++
}

func (w *bitWriter) ue(v uint64) {
	v++
	n := 0
	for x := v; x > 1; x >>= 1 {
		n++
	}
	for range n {
		w.bit(0)
	}
	for i := n; i >= 0; i-- {
		w.bit(v >> i)
	}
}

// escapeRBSP inserts emulation prevention bytes (H.264 §7.4.1).
func escapeRBSP(b []byte) []byte {
	var out []byte
	zeros := 0
	for _, c := range b {
		if zeros >= 2 && c <= 3 {
			out = append(out, 3)
			zeros = 0
		}
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
		out = append(out, c)
	}
	return out
}

// patchSPS rewrites the picture size of every SPS in an Annex-B access unit
// to widthMbs x heightMbs macroblocks (progressive), keeping every other
// field, as a hostile sender would.
func patchSPS(t testing.TB, au []byte, widthMbs, heightMbs uint64) []byte {
	t.Helper()
	var out []byte
	for _, nal := range splitAnnexB(au) {
		if nal[0]&0x1f == 7 {
			rbsp := unescapeRBSP(nal[1:])
			sz, err := parseSPSSize(rbsp)
			if err != nil {
				t.Fatal(err)
			}
			last := 8*len(rbsp) - 1 // the rbsp_stop_one_bit
			for rbsp[last/8]>>(7-last%8)&1 == 0 {
				last--
			}
			r := &bitReader{b: rbsp}
			w := &bitWriter{}
			for range sz.start {
				w.bit(r.u(1))
			}
			w.ue(widthMbs - 1)
			w.ue(heightMbs - 1)
			w.bit(1) // frame_mbs_only_flag
			r.pos = sz.end
			for r.pos < last {
				w.bit(r.u(1))
			}
			w.bit(1)
			for w.n%8 != 0 {
				w.bit(0)
			}
			nal = append([]byte{nal[0]}, escapeRBSP(w.b)...)
		}
		out = append(out, 0, 0, 0, 1)
		out = append(out, nal...)
	}
	return out
}

// rssMB is this process's resident memory (Go heap and C allocations).
func rssMB(t testing.TB) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return kb / 1024
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// The size checks read real encoders' headers right, so no legitimate
// stream is refused (x264 writes High profile SPS with the fields the
// parser must skip).
func TestFrameSizeOfRealStreams(t *testing.T) {
	for _, tc := range []struct{ w, h, codedW, codedH int }{
		{64, 48, 64, 48}, {642, 362, 656, 368}, {1920, 1080, 1920, 1088},
	} {
		venc, err := NewVP8Encoder(VP8Options{EncoderOptions: EncoderOptions{Width: tc.w, Height: tc.h}, CPUUsed: 16})
		if err != nil {
			t.Fatal(err)
		}
		data, _, err := venc.Encode(testI420(tc.w, tc.h, 0), true)
		venc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if w, h, ok := VP8KeyframeSize(data); !ok || w != tc.w || h != tc.h {
			t.Errorf("VP8 %dx%d: header says %dx%d (%v)", tc.w, tc.h, w, h, ok)
		}
		henc, err := NewH264Encoder(H264Options{EncoderOptions: EncoderOptions{Width: tc.w, Height: tc.h}})
		if err != nil {
			t.Fatal(err)
		}
		data, _, err = henc.Encode(testI420(tc.w, tc.h, 0), true)
		henc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if w, h, ok, err := H264MaxSPSSize(data); err != nil || !ok || w != tc.codedW || h != tc.codedH {
			t.Errorf("H.264 %dx%d: SPS says %dx%d (%v, %v)", tc.w, tc.h, w, h, ok, err)
		}
	}
}

// A resolution bomb: a real 64x48 keyframe whose header claims 16383x16383
// (VP8) or 16000x16000 (H.264 SPS; libavcodec's own limit is just above).
// Without the caps these cost 850 MB of RSS and 3 s of CPU (VP8), 1.8 GB
// and 13 s (H.264, which even output a picture). The decoder refuses them
// with ErrFrameTooLarge, memory does not jump, and the real stream still
// decodes afterwards.
func TestDecoderRefusesResolutionBomb(t *testing.T) {
	type decoder interface {
		Decode([]byte) (*I420, error)
		Close() error
	}
	for _, tc := range []struct {
		name string
		dec  func() (decoder, error)
		key  func() []byte
		bomb func([]byte) []byte
	}{
		{"VP8",
			func() (decoder, error) { return NewVP8Decoder(1) },
			func() []byte {
				enc, err := NewVP8Encoder(VP8Options{EncoderOptions: EncoderOptions{Width: 64, Height: 48}, CPUUsed: 16})
				if err != nil {
					t.Fatal(err)
				}
				defer enc.Close()
				data, _, err := enc.Encode(testI420(64, 48, 0), true)
				if err != nil {
					t.Fatal(err)
				}
				return data
			},
			func(key []byte) []byte {
				b := bytes.Clone(key)
				b[6], b[7], b[8], b[9] = 0xff, 0x3f, 0xff, 0x3f // 16383x16383, scale 0
				return b
			}},
		{"H264",
			func() (decoder, error) { return NewH264Decoder(1) },
			func() []byte {
				enc, err := NewH264Encoder(H264Options{EncoderOptions: EncoderOptions{Width: 64, Height: 48}})
				if err != nil {
					t.Fatal(err)
				}
				defer enc.Close()
				data, _, err := enc.Encode(testI420(64, 48, 0), true)
				if err != nil {
					t.Fatal(err)
				}
				return data
			},
			func(key []byte) []byte { return patchSPS(t, key, 1000, 1000) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dec, err := tc.dec()
			if err != nil {
				t.Fatal(err)
			}
			defer dec.Close()
			key := tc.key()
			bomb := tc.bomb(key)
			runtime.GC()
			before := rssMB(t)
			for range 3 {
				img, err := dec.Decode(bomb)
				if !errors.Is(err, ErrFrameTooLarge) {
					t.Fatalf("bomb decoded: picture %v, err %v", img != nil, err)
				}
			}
			if after := rssMB(t); after-before > 64 {
				t.Fatalf("RSS went from %d MB to %d MB on a refused bomb", before, after)
			}
			if img, err := dec.Decode(key); err != nil || img == nil || img.Width != 64 || img.Height != 48 {
				t.Fatalf("the real keyframe after the bomb: %v, %v", img, err)
			}
		})
	}
}

// FuzzFrameSize runs the header parsers over network bytes: no panic, and
// any size they report is what the decoders would be held to.
func FuzzFrameSize(f *testing.F) {
	f.Add([]byte{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0xff, 0x3f, 0xff, 0x3f})
	f.Add([]byte{0, 0, 0, 1, 0x67, 0x64, 0, 0x1f, 0xac, 0xd9, 0x40, 0x50, 0x05, 0xbb, 0x01, 0x10, 0, 0, 3, 0, 0x10})
	f.Add([]byte{0, 0, 1, 0x67, 0x42, 0xc0, 0x1f, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		if w, h, ok := VP8KeyframeSize(data); ok && (w > 16383 || h > 16383 || w < 0 || h < 0) {
			t.Fatalf("VP8 size %dx%d", w, h)
		}
		if w, h, ok, err := H264MaxSPSSize(data); ok && err == nil && (w <= 0 || h <= 0) {
			t.Fatalf("H.264 size %dx%d", w, h)
		}
	})
}
