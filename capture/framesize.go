package capture

import (
	"bytes"
	"fmt"
)

// Decoded pictures are capped so that a peer cannot make the decoders
// allocate gigabytes: a VP8 keyframe header may claim up to 16383x16383
// (RFC 6386 §9.1), an H.264 SPS more, and libvpx/libavcodec allocate their
// reference frames for whatever the stream claims. 4096x2304 pixels (a 4K
// screen fits, at about 14 MB per I420 picture) is more than any screen
// share Parlo sends or receives; a side may reach MaxFrameSide for very wide
// or tall monitors within the same area.
const (
	MaxFramePixels = 4096 * 2304
	MaxFrameSide   = 8192
)

// frameSizeOK reports whether a w x h picture is within the caps.
func frameSizeOK(w, h int) bool {
	return w > 0 && h > 0 && w <= MaxFrameSide && h <= MaxFrameSide && w*h <= MaxFramePixels
}

func errTooLarge(codec string, w, h int) error {
	return fmt.Errorf("%w: %s picture %dx%d (at most %d pixels, %d a side)", ErrFrameTooLarge, codec, w, h, MaxFramePixels, MaxFrameSide)
}

// VP8KeyframeSize reads the picture size of a VP8 keyframe from its
// uncompressed header (RFC 6386 §9.1: 3-byte frame tag whose low bit is 0
// for a keyframe, start code 9d 01 2a, then 14-bit width and height, each
// with a 2-bit scale the decoder ignores for allocation). ok is false for
// interframes (which keep the size) and for data too short to say.
func VP8KeyframeSize(frame []byte) (w, h int, ok bool) {
	if len(frame) < 10 || frame[0]&1 != 0 {
		return 0, 0, false
	}
	if frame[3] != 0x9d || frame[4] != 0x01 || frame[5] != 0x2a {
		return 0, 0, false
	}
	w = int(frame[6]) | int(frame[7]&0x3f)<<8
	h = int(frame[8]) | int(frame[9]&0x3f)<<8
	return w, h, true
}

// H264MaxSPSSize returns the largest picture any SPS in an Annex-B access
// unit declares (H.264 §7.3.2.1.1: pic_width_in_mbs_minus1,
// pic_height_in_map_units_minus1, frame_mbs_only_flag), before cropping.
// ok is false when the unit holds no SPS. An SPS too broken to read
// reports an error: the decoder would refuse it anyway.
func H264MaxSPSSize(au []byte) (w, h int, ok bool, err error) {
	for _, nal := range splitAnnexB(au) {
		if len(nal) < 2 || nal[0]&0x1f != 7 {
			continue
		}
		sz, err := parseSPSSize(unescapeRBSP(nal[1:]))
		if err != nil {
			return 0, 0, false, err
		}
		sw, sh := sz.pixels()
		ok = true
		if sw*sh > w*h {
			w, h = sw, sh
		}
	}
	return w, h, ok, nil
}

// splitAnnexB cuts an Annex-B byte stream (B.1.1) at its start codes.
func splitAnnexB(b []byte) [][]byte {
	var out [][]byte
	for {
		i := bytes.Index(b, []byte{0, 0, 1})
		if i < 0 {
			if len(b) > 0 {
				out = append(out, b)
			}
			return out
		}
		if nal := bytes.TrimRight(b[:i], "\x00"); len(nal) > 0 {
			out = append(out, nal)
		}
		b = b[i+3:]
	}
}

// unescapeRBSP removes emulation prevention bytes (§7.4.1: 00 00 03 is
// 00 00 in the payload).
func unescapeRBSP(b []byte) []byte {
	if !bytes.Contains(b, []byte{0, 0, 3}) {
		return b
	}
	out := make([]byte, 0, len(b))
	zeros := 0
	for _, c := range b {
		if zeros >= 2 && c == 3 {
			zeros = 0
			continue
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

// bitReader reads the Exp-Golomb coded fields of an RBSP (§9.1).
type bitReader struct {
	b   []byte
	pos int // in bits
	err error
}

var errShortSPS = fmt.Errorf("%w: truncated or invalid H.264 SPS", ErrCodec)

func (r *bitReader) u(n int) uint64 {
	var v uint64
	for range n {
		if r.pos >= 8*len(r.b) {
			r.err = errShortSPS
			return 0
		}
		v = v<<1 | uint64(r.b[r.pos/8]>>(7-r.pos%8)&1)
		r.pos++
	}
	return v
}

// ue is ue(v); values past 32 bits are invalid in every SPS field.
func (r *bitReader) ue() uint64 {
	zeros := 0
	for r.u(1) == 0 {
		if r.err != nil || zeros == 32 {
			r.err = errShortSPS
			return 0
		}
		zeros++
	}
	return 1<<zeros - 1 + r.u(zeros)
}

func (r *bitReader) se() int64 {
	k := r.ue()
	if k&1 == 1 {
		return int64((k + 1) / 2)
	}
	return -int64(k / 2)
}

// spsSize is the picture size fields of an SPS, and where they sit in its
// RBSP (bit offsets, for tests that rewrite them).
type spsSize struct {
	widthMbs, heightMapUnits uint64 // the _minus1 fields plus 1
	frameMbsOnly             bool
	start, end               int // bits: the two ue(v) fields and the flag
}

// pixels is the coded picture size, before cropping.
func (s spsSize) pixels() (w, h int) {
	if s.widthMbs > 1<<16 || s.heightMapUnits > 1<<16 {
		return 1 << 20, 1 << 20 // far beyond any cap; no overflow below
	}
	h = int(s.heightMapUnits) * 16
	if !s.frameMbsOnly {
		h *= 2
	}
	return int(s.widthMbs) * 16, h
}

// parseSPSSize parses an SPS RBSP (after the NAL header) up to the picture
// size.
func parseSPSSize(rbsp []byte) (spsSize, error) {
	r := &bitReader{b: rbsp}
	profile := r.u(8)
	r.u(16) // constraint flags, level_idc
	r.ue()  // seq_parameter_set_id
	switch profile {
	case 100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135:
		chroma := r.ue()
		if chroma == 3 {
			r.u(1) // separate_colour_plane_flag
		}
		r.ue()           // bit_depth_luma_minus8
		r.ue()           // bit_depth_chroma_minus8
		r.u(1)           // qpprime_y_zero_transform_bypass_flag
		if r.u(1) == 1 { // seq_scaling_matrix_present_flag
			lists := 8
			if chroma == 3 {
				lists = 12
			}
			for i := range lists {
				if r.u(1) == 0 {
					continue
				}
				size := 16
				if i >= 6 {
					size = 64
				}
				last, next := int64(8), int64(8)
				for range size { // scaling_list(), §7.3.2.1.1.1
					if next != 0 {
						next = (last + r.se() + 256) % 256
					}
					if next != 0 {
						last = next
					}
					if r.err != nil {
						return spsSize{}, r.err
					}
				}
			}
		}
	}
	r.ue()          // log2_max_frame_num_minus4
	switch r.ue() { // pic_order_cnt_type
	case 0:
		r.ue() // log2_max_pic_order_cnt_lsb_minus4
	case 1:
		r.u(1) // delta_pic_order_always_zero_flag
		r.se() // offset_for_non_ref_pic
		r.se() // offset_for_top_to_bottom_field
		n := r.ue()
		if n > 255 {
			return spsSize{}, errShortSPS
		}
		for range n {
			r.se()
		}
	}
	r.ue() // max_num_ref_frames
	r.u(1) // gaps_in_frame_num_value_allowed_flag
	var sz spsSize
	sz.start = r.pos
	sz.widthMbs = r.ue() + 1
	sz.heightMapUnits = r.ue() + 1
	sz.frameMbsOnly = r.u(1) == 1
	sz.end = r.pos
	return sz, r.err
}
