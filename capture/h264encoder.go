package capture

/*
#cgo pkg-config: x264
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <x264.h>

// parlo_x264_open sets up x264 for real-time WebRTC: preset ultrafast and
// tune zerolatency (no look-ahead, no B-frames, sliced threads: a frame in
// gives a frame out), profile constrained baseline (RFC 6184 / RFC 7742
// §6.2: profile-level-id 42e0xx is what every WebRTC peer decodes), Annex-B
// output with SPS/PPS repeated before each IDR so a receiver that joins or
// recovers late only needs that keyframe.
static x264_t *parlo_x264_open(int w, int h, int fps, int kbps, int threads, int keyint) {
	x264_param_t p;
	if (x264_param_default_preset(&p, "ultrafast", "zerolatency") < 0) return NULL;
	p.i_log_level = X264_LOG_NONE;
	p.i_csp = X264_CSP_I420;
	p.i_width = w;
	p.i_height = h;
	p.i_fps_num = fps;
	p.i_fps_den = 1;
	// Constant-rate input: with b_vfr_input x264 holds each frame back until
	// the next one gives its duration, a frame of latency (and a still
	// screen sends no next frame). Rate control then budgets bitrate/fps
	// per frame, which suits a capture paced at fps.
	p.b_vfr_input = 0;
	p.i_threads = threads;
	p.i_keyint_max = keyint > 0 ? keyint : X264_KEYINT_MAX_INFINITE;
	p.i_keyint_min = 1;
	p.b_intra_refresh = 0;
	p.b_repeat_headers = 1;
	p.b_annexb = 1;
	p.b_aud = 0;
	// ABR with a one-second VBV: the sending rate follows the target that
	// receiver feedback sets, and a keyframe cannot burst past a second's
	// worth of bits.
	p.rc.i_rc_method = X264_RC_ABR;
	p.rc.i_bitrate = kbps;
	p.rc.i_vbv_max_bitrate = kbps;
	p.rc.i_vbv_buffer_size = kbps;
	if (x264_param_apply_profile(&p, "baseline") < 0) return NULL;
	return x264_encoder_open(&p);
}

static int parlo_x264_set_bitrate(x264_t *h, int kbps) {
	x264_param_t p;
	x264_encoder_parameters(h, &p);
	p.rc.i_bitrate = kbps;
	p.rc.i_vbv_max_bitrate = kbps;
	p.rc.i_vbv_buffer_size = kbps;
	return x264_encoder_reconfig(h, &p);
}

// parlo_x264_encode borrows the caller's planes for the call only: x264
// copies the picture into its own frame before returning. The NAL payloads
// of one call are sequential in memory (x264.h), so *out/*len is the whole
// Annex-B access unit, valid until the next call.
static int parlo_x264_encode(x264_t *h, unsigned char *y, unsigned char *u, unsigned char *v,
		int sy, int suv, long long pts, int idr, unsigned char **out, int *key) {
	x264_picture_t in, pic;
	x264_picture_init(&in);
	in.img.i_csp = X264_CSP_I420;
	in.img.i_plane = 3;
	in.img.plane[0] = y;
	in.img.plane[1] = u;
	in.img.plane[2] = v;
	in.img.i_stride[0] = sy;
	in.img.i_stride[1] = suv;
	in.img.i_stride[2] = suv;
	in.i_pts = pts;
	in.i_type = idr ? X264_TYPE_IDR : X264_TYPE_AUTO;
	x264_nal_t *nals = NULL;
	int n = 0;
	int size = x264_encoder_encode(h, &nals, &n, &in, &pic);
	if (size > 0 && n > 0) {
		*out = nals[0].p_payload;
		*key = pic.b_keyframe;
	}
	return size;
}
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/parlo-voip/parlo/capture/videocodec"
)

// H264Options configures an H264Encoder. Zero values take the defaults;
// x264 has no options of its own here (ScreenContent is ignored).
type H264Options struct {
	EncoderOptions
}

// H264Encoder is a real-time H.264 encoder calling libx264 directly
// (preset ultrafast, tune zerolatency, constrained baseline, Annex-B). x264
// has no screen-content mode; ultrafast keeps 1080p real time on two cores,
// which openh264's screen-content mode does not at this machine's speed. It
// is safe for concurrent use; Encode calls are serialised.
type H264Encoder struct {
	encoderState
	h    *C.x264_t
	opts H264Options
	pts  int64
}

// NewH264Encoder opens libx264 with the options.
func NewH264Encoder(o H264Options) (*H264Encoder, error) {
	if o.Width <= 0 || o.Height <= 0 || o.Width%2 != 0 || o.Height%2 != 0 {
		// x264 needs even sizes for 4:2:0.
		return nil, fmt.Errorf("%w: %dx%d (H.264 needs positive even sizes)", ErrFrameSize, o.Width, o.Height)
	}
	o.EncoderOptions = o.withDefaults()
	h := C.parlo_x264_open(C.int(o.Width), C.int(o.Height), C.int(o.FPS), C.int(o.BitrateKbps),
		C.int(o.Threads), C.int(o.KeyframeInterval))
	if h == nil {
		return nil, fmt.Errorf("%w: x264 open %dx%d failed", ErrCodec, o.Width, o.Height)
	}
	return &H264Encoder{h: h, opts: o}, nil
}

// Options returns the effective options (defaults filled in).
func (e *H264Encoder) Options() H264Options {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.opts
}

// Bitrate implements Encoder.
func (e *H264Encoder) Bitrate() int { return e.Options().BitrateKbps }

// Codec implements Encoder.
func (e *H264Encoder) Codec() videocodec.Name { return videocodec.H264 }

// SetBitrate changes the target bitrate while encoding (x264_encoder_reconfig).
func (e *H264Encoder) SetBitrate(kbps int) error {
	return e.setBitrate(kbps, func() error {
		if rc := C.parlo_x264_set_bitrate(e.h, C.int(kbps)); rc < 0 {
			return fmt.Errorf("%w: x264 reconfig to %d kbps failed", ErrCodec, kbps)
		}
		e.opts.BitrateKbps = kbps
		return nil
	})
}

// Encode compresses one frame into an Annex-B access unit (SPS and PPS
// precede every IDR). data is nil when x264 produced nothing. forceKeyframe,
// or a pending RequestKeyframe, makes it an IDR.
func (e *H264Encoder) Encode(f *I420, forceKeyframe bool) (data []byte, keyframe bool, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, false, ErrClosed
	}
	if f == nil {
		return nil, false, fmt.Errorf("%w: no picture", ErrFrameSize)
	}
	if f.Width != e.opts.Width || f.Height != e.opts.Height {
		return nil, false, fmt.Errorf("%w: frame %dx%d, encoder %dx%d", ErrFrameSize, f.Width, f.Height, e.opts.Width, e.opts.Height)
	}
	if len(f.Y) < f.StrideY*f.Height || len(f.U) < f.StrideUV*((f.Height+1)/2) || len(f.V) < f.StrideUV*((f.Height+1)/2) {
		return nil, false, fmt.Errorf("%w: short planes", ErrFrameSize)
	}
	idr := 0
	if e.keyReq.Swap(false) || forceKeyframe {
		idr = 1
	}
	pts := e.pts // in frames (timebase 1/FPS)
	e.pts++
	var out *C.uchar
	var key C.int
	n := C.parlo_x264_encode(e.h,
		(*C.uchar)(unsafe.Pointer(&f.Y[0])), (*C.uchar)(unsafe.Pointer(&f.U[0])), (*C.uchar)(unsafe.Pointer(&f.V[0])),
		C.int(f.StrideY), C.int(f.StrideUV), C.longlong(pts), C.int(idr), &out, &key)
	if n < 0 {
		return nil, false, fmt.Errorf("%w: x264 encode failed", ErrCodec)
	}
	if n == 0 || out == nil {
		return nil, false, nil
	}
	return C.GoBytes(unsafe.Pointer(out), n), key != 0, nil
}

// EncodeFrame encodes a frame from a Source. x264 has no per-row hint like
// libvpx's active map, so it is Encode of the picture.
func (e *H264Encoder) EncodeFrame(f Frame, forceKeyframe bool) (data []byte, keyframe bool, err error) {
	return e.Encode(f.Image, forceKeyframe)
}

// Close frees the encoder. It is idempotent.
func (e *H264Encoder) Close() error {
	return e.closeOnce(func() {
		C.x264_encoder_close(e.h)
		e.h = nil
	})
}
