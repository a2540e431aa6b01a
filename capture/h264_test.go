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

// TestH264Bitstream: access units are Annex-B (what RFC 6184
// packetisation and the decoders take) in constrained baseline
// (profile-level-id 42e0xx, RFC 6184 §8.1): profile_idc 66 with
// constraint_set0 and constraint_set1, the profile Parlo offers.
func TestH264Bitstream(t *testing.T) {
	enc, err := NewH264Encoder(H264Options{EncoderOptions: EncoderOptions{Width: 320, Height: 240}})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	for i := 0; i < 3; i++ {
		data, _, err := enc.Encode(testI420(320, 240, i), false)
		if err != nil || len(data) == 0 {
			t.Fatalf("frame %d: %d bytes, %v", i, len(data), err)
		}
		if !bytes.HasPrefix(data, []byte{0, 0, 0, 1}) && !bytes.HasPrefix(data, []byte{0, 0, 1}) {
			t.Fatalf("frame %d is not Annex-B: % x", i, data[:min(8, len(data))])
		}
		types, sps := nalTypes(data)
		if i == 0 {
			if len(sps) < 4 {
				t.Fatalf("no SPS in the first frame")
			}
			if sps[1] != 66 || sps[2]&0xc0 != 0xc0 {
				t.Errorf("SPS profile_idc %d constraints %#x, want 66 and 0xc0 (constrained baseline)", sps[1], sps[2])
			}
		} else if !contains(types, 1) {
			t.Errorf("frame %d: NAL types %v, want a non-IDR slice (1)", i, types)
		}
	}
}

// x264 needs even sizes for 4:2:0.
func TestH264OddSizeRefused(t *testing.T) {
	for _, o := range []EncoderOptions{{Width: 641, Height: 480}, {Width: 640, Height: -2}} {
		if _, err := NewH264Encoder(H264Options{EncoderOptions: o}); !errors.Is(err, ErrFrameSize) {
			t.Errorf("%+v: %v", o, err)
		}
	}
}

// FuzzH264Decode feeds network-controlled bytes to libavcodec: it must
// never crash, and any picture it returns must be self-consistent.
func FuzzH264Decode(f *testing.F) {
	enc, err := NewH264Encoder(H264Options{EncoderOptions: EncoderOptions{Width: 64, Height: 48}})
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
	f.Fuzz(func(t *testing.T, data []byte) { checkDecoded(t, dec, data) })
}
