package capture

/*
#cgo pkg-config: vpx
#include <stdlib.h>
#include <string.h>
#include <vpx/vpx_encoder.h>
#include <vpx/vp8cx.h>

// vpx_codec_control is a type-checking macro over a variadic function, which
// cgo cannot call: one wrapper per argument type.
static vpx_codec_err_t parlo_ctrl_int(vpx_codec_ctx_t *c, int id, int v) {
	return vpx_codec_control_(c, id, v);
}
static vpx_codec_err_t parlo_ctrl_uint(vpx_codec_ctx_t *c, int id, unsigned int v) {
	return vpx_codec_control_(c, id, v);
}

static vpx_codec_err_t parlo_enc_init(vpx_codec_ctx_t *c, vpx_codec_enc_cfg_t *cfg) {
	return vpx_codec_enc_init(c, vpx_codec_vp8_cx(), cfg, 0);
}

static vpx_codec_err_t parlo_enc_default(vpx_codec_enc_cfg_t *cfg) {
	return vpx_codec_enc_config_default(vpx_codec_vp8_cx(), cfg, 0);
}

// parlo_encode points a stack vpx_image_t at the caller's planes for the
// duration of the call only (cgo pointer rules): with g_lag_in_frames = 0
// libvpx copies the picture into its own buffers before returning.
static vpx_codec_err_t parlo_encode(vpx_codec_ctx_t *c, int w, int h,
		unsigned char *y, unsigned char *u, unsigned char *v, int sy, int suv,
		long long pts, unsigned long dur, long flags) {
	vpx_image_t img;
	memset(&img, 0, sizeof img);
	img.fmt = VPX_IMG_FMT_I420;
	img.w = img.d_w = w;
	img.h = img.d_h = h;
	img.x_chroma_shift = img.y_chroma_shift = 1;
	img.bps = 12;
	img.planes[VPX_PLANE_Y] = y;
	img.planes[VPX_PLANE_U] = u;
	img.planes[VPX_PLANE_V] = v;
	img.stride[VPX_PLANE_Y] = sy;
	img.stride[VPX_PLANE_U] = suv;
	img.stride[VPX_PLANE_V] = suv;
	return vpx_codec_encode(c, &img, pts, dur, flags, VPX_DL_REALTIME);
}

// parlo_set_active_map hands libvpx one byte per macroblock (1 = analyse and
// code, 0 = copy from the last frame without looking at it); map NULL turns
// the map off. vp8_set_active_map copies the map, so the caller's buffer is
// only borrowed for the call.
static vpx_codec_err_t parlo_set_active_map(vpx_codec_ctx_t *c, unsigned char *map,
		unsigned int rows, unsigned int cols) {
	vpx_active_map_t m;
	m.active_map = map;
	m.rows = rows;
	m.cols = cols;
	return vpx_codec_control_(c, VP8E_SET_ACTIVEMAP, &m);
}

// parlo_next_frame returns the next compressed frame packet, skipping stats
// packets; NULL when there is none.
static const vpx_codec_cx_pkt_t *parlo_next_frame(vpx_codec_ctx_t *c, vpx_codec_iter_t *it) {
	const vpx_codec_cx_pkt_t *p;
	while ((p = vpx_codec_get_cx_data(c, it)) != NULL) {
		if (p->kind == VPX_CODEC_CX_FRAME_PKT) return p;
	}
	return NULL;
}
static void *parlo_pkt_buf(const vpx_codec_cx_pkt_t *p) { return p->data.frame.buf; }
static size_t parlo_pkt_sz(const vpx_codec_cx_pkt_t *p) { return p->data.frame.sz; }
static int parlo_pkt_key(const vpx_codec_cx_pkt_t *p) { return (p->data.frame.flags & VPX_FRAME_IS_KEY) != 0; }
*/
import "C"

import (
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/parlo-voip/parlo/capture/videocodec"
)

// VP8Options configures a VP8Encoder: the options every encoder takes and
// libvpx's own. Zero values take the defaults.
type VP8Options struct {
	EncoderOptions
	// CPUUsed trades quality for speed (VP8E_SET_CPUUSED, -16..16; higher is
	// faster). Default 12: realtime 1080p on two cores (libvpx at its
	// default speed cost 57 ms a frame through pion/mediadevices).
	CPUUsed int
	// StaticThreshold is VP8E_SET_STATIC_THRESHOLD: macroblocks whose change
	// is below it are skipped. Default 1 with ScreenContent (any real change
	// is encoded, untouched blocks cost nothing), else 0.
	StaticThreshold int
}

// VP8Encoder is a real-time VP8 encoder calling libvpx directly, so that it can
// set cpu-used and screen-content mode (pion/mediadevices v0.9.4 cannot). It is
// safe for concurrent use; Encode calls are serialised.
type VP8Encoder struct {
	encoderState
	ctx  *C.vpx_codec_ctx_t
	cfg  *C.vpx_codec_enc_cfg_t
	opts VP8Options
	pts  int64

	// EncodeFrame's active map: mbRows x mbCols macroblocks, the map last
	// given to libvpx and whether it is on.
	mbRows, mbCols int
	rows           *activeRows
	activeMap      []byte
	mapOn          bool
	partialFrames  atomic.Uint64
}

// NewVP8Encoder sets up libvpx for real-time, error-resilient encoding.
func NewVP8Encoder(o VP8Options) (*VP8Encoder, error) {
	if o.Width <= 0 || o.Height <= 0 {
		return nil, fmt.Errorf("%w: %dx%d", ErrFrameSize, o.Width, o.Height)
	}
	o.EncoderOptions = o.withDefaults()
	if o.CPUUsed == 0 {
		o.CPUUsed = 12
	}
	o.CPUUsed = max(-16, min(16, o.CPUUsed))
	if o.StaticThreshold == 0 && o.ScreenContent {
		o.StaticThreshold = 1
	}

	mbRows, mbCols := (o.Height+15)/16, (o.Width+15)/16
	e := &VP8Encoder{
		ctx:       (*C.vpx_codec_ctx_t)(C.calloc(1, C.sizeof_vpx_codec_ctx_t)),
		cfg:       (*C.vpx_codec_enc_cfg_t)(C.calloc(1, C.sizeof_vpx_codec_enc_cfg_t)),
		opts:      o,
		mbRows:    mbRows,
		mbCols:    mbCols,
		rows:      newActiveRows(mbRows),
		activeMap: make([]byte, mbRows*mbCols),
	}
	fail := func(what string, rc C.vpx_codec_err_t) (*VP8Encoder, error) {
		err := fmt.Errorf("%w: %s: %s", ErrCodec, what, C.GoString(C.vpx_codec_err_to_string(rc)))
		C.free(unsafe.Pointer(e.ctx))
		C.free(unsafe.Pointer(e.cfg))
		return nil, err
	}
	if rc := C.parlo_enc_default(e.cfg); rc != C.VPX_CODEC_OK {
		return fail("config default", rc)
	}
	cfg := e.cfg
	cfg.g_w = C.uint(o.Width)
	cfg.g_h = C.uint(o.Height)
	// Timestamps in microseconds of capture time.
	cfg.g_timebase.num = 1
	cfg.g_timebase.den = 1000000
	cfg.g_threads = C.uint(o.Threads)
	cfg.g_lag_in_frames = 0 // realtime: no look-ahead, and Encode may lend Go memory
	cfg.g_error_resilient = C.VPX_ERROR_RESILIENT_DEFAULT
	cfg.g_pass = C.VPX_RC_ONE_PASS
	cfg.rc_end_usage = C.VPX_CBR
	cfg.rc_target_bitrate = C.uint(o.BitrateKbps)
	cfg.rc_min_quantizer = 2
	cfg.rc_max_quantizer = 56
	cfg.rc_undershoot_pct = 100
	cfg.rc_overshoot_pct = 15
	cfg.rc_buf_initial_sz = 500
	cfg.rc_buf_optimal_sz = 600
	cfg.rc_buf_sz = 1000
	cfg.rc_dropframe_thresh = 0
	if o.KeyframeInterval > 0 {
		cfg.kf_mode = C.VPX_KF_AUTO
		cfg.kf_min_dist = 0
		cfg.kf_max_dist = C.uint(o.KeyframeInterval)
	} else {
		cfg.kf_mode = C.VPX_KF_DISABLED
	}
	if rc := C.parlo_enc_init(e.ctx, cfg); rc != C.VPX_CODEC_OK {
		return fail("init", rc)
	}
	controls := []struct {
		name string
		id   C.int
		v    int
	}{
		{"cpu-used", C.VP8E_SET_CPUUSED, o.CPUUsed},
		{"static threshold", C.VP8E_SET_STATIC_THRESHOLD, o.StaticThreshold},
		{"noise sensitivity", C.VP8E_SET_NOISE_SENSITIVITY, 0},
		// Token partitions let the decoder (and encoder) use several threads.
		{"token partitions", C.VP8E_SET_TOKEN_PARTITIONS, tokenPartitions(o.Threads)},
		// Cap keyframes at 3x an average frame so a refresh does not stall
		// the link for a second.
		{"max intra bitrate", C.VP8E_SET_MAX_INTRA_BITRATE_PCT, 300},
	}
	if o.ScreenContent {
		controls = append(controls, struct {
			name string
			id   C.int
			v    int
		}{"screen content", C.VP8E_SET_SCREEN_CONTENT_MODE, 1})
	}
	for _, c := range controls {
		if rc := C.parlo_ctrl_int(e.ctx, c.id, C.int(c.v)); rc != C.VPX_CODEC_OK {
			C.vpx_codec_destroy(e.ctx)
			return fail(c.name, rc)
		}
	}
	return e, nil
}

func tokenPartitions(threads int) int {
	switch {
	case threads >= 4:
		return 2 // VP8_FOUR_TOKENPARTITION
	case threads >= 2:
		return 1 // VP8_TWO_TOKENPARTITION
	}
	return 0
}

// Options returns the effective options (defaults filled in).
func (e *VP8Encoder) Options() VP8Options {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.opts
}

// Bitrate implements Encoder.
func (e *VP8Encoder) Bitrate() int { return e.Options().BitrateKbps }

// Codec implements Encoder.
func (e *VP8Encoder) Codec() videocodec.Name { return videocodec.VP8 }

// SetBitrate changes the target bitrate while encoding (congestion control,
// REMB/TMMBR).
func (e *VP8Encoder) SetBitrate(kbps int) error {
	return e.setBitrate(kbps, func() error {
		e.cfg.rc_target_bitrate = C.uint(kbps)
		if rc := C.vpx_codec_enc_config_set(e.ctx, e.cfg); rc != C.VPX_CODEC_OK {
			return fmt.Errorf("%w: set bitrate: %s", ErrCodec, C.GoString(C.vpx_codec_error(e.ctx)))
		}
		e.opts.BitrateKbps = kbps
		return nil
	})
}

// Encode compresses one frame. data is nil when the rate control dropped the
// frame. forceKeyframe, or a pending RequestKeyframe, makes it a keyframe.
// libvpx analyses the whole picture; EncodeFrame does better for frames from
// a Source.
func (e *VP8Encoder) Encode(f *I420, forceKeyframe bool) (data []byte, keyframe bool, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rows.reset()
	return e.encodeLocked(f, forceKeyframe, nil)
}

// EncodeFrame compresses a frame delivered by a Source, like Encode, but uses
// what the Source knows: rows outside Frame.Dirty did not change since the
// previous frame. When that previous frame was the last one encoded here
// (Seq one higher), libvpx gets an active map (VP8E_SET_ACTIVEMAP) that marks
// the macroblock rows outside the change inactive; they are coded as
// "unchanged, no residual" without motion search or mode decision. Typing one
// glyph on a 1080p screen then costs a couple of the 68 macroblock rows.
//
// Once a second (and on each Frame.Refresh) the rows that changed in the last
// few seconds are analysed again so that libvpx refines what it coded
// coarsely; rows that have been refined settlePasses times since their last
// change are left alone, which makes the refresh of a static screen nearly
// free. Keyframes, frames after a gap in Seq or after a plain Encode are
// analysed whole.
func (e *VP8Encoder) EncodeFrame(f Frame, forceKeyframe bool) (data []byte, keyframe bool, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := time.Now()
	mask, whole, pass := e.rows.plan(f, forceKeyframe, now)
	if whole {
		mask = nil
	}
	data, keyframe, err = e.encodeLocked(f.Image, forceKeyframe, mask)
	ok := err == nil && len(data) > 0
	e.rows.encoded(f, ok, keyframe, whole, pass, now)
	if ok && !whole && !keyframe {
		e.partialFrames.Add(1)
	}
	return data, keyframe, err
}

// setActiveMap makes libvpx analyse the macroblock rows set in mask only;
// nil turns the map off.
func (e *VP8Encoder) setActiveMap(mask []bool) error {
	if mask == nil {
		if !e.mapOn {
			return nil
		}
		if rc := C.parlo_set_active_map(e.ctx, nil, C.uint(e.mbRows), C.uint(e.mbCols)); rc != C.VPX_CODEC_OK {
			return fmt.Errorf("%w: clear active map: %s", ErrCodec, C.GoString(C.vpx_codec_error(e.ctx)))
		}
		e.mapOn = false
		return nil
	}
	for r, on := range mask {
		v := byte(0)
		if on {
			v = 1
		}
		row := e.activeMap[r*e.mbCols : (r+1)*e.mbCols]
		for i := range row {
			row[i] = v
		}
	}
	if rc := C.parlo_set_active_map(e.ctx, (*C.uchar)(unsafe.Pointer(&e.activeMap[0])), C.uint(e.mbRows), C.uint(e.mbCols)); rc != C.VPX_CODEC_OK {
		return fmt.Errorf("%w: set active map: %s", ErrCodec, C.GoString(C.vpx_codec_error(e.ctx)))
	}
	e.mapOn = true
	return nil
}

// PartialFrames counts the frames EncodeFrame sent with an active map (some
// macroblock rows not analysed).
func (e *VP8Encoder) PartialFrames() uint64 { return e.partialFrames.Load() }

// encodeLocked encodes f with the macroblock rows in mask active (nil: all).
// at is the capture time that becomes the frame's timestamp (zero: now).
// libvpx's rate control derives the frame rate from timestamps, so a frame
// encoded late (busy machine) or a recorded frame encoded faster than real
// time still gets its share of the bitrate.
func (e *VP8Encoder) encodeLocked(f *I420, forceKeyframe bool, mask []bool) (data []byte, keyframe bool, err error) {
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
	if err := e.setActiveMap(mask); err != nil {
		return nil, false, err
	}
	var flags C.long
	if e.keyReq.Swap(false) || forceKeyframe {
		flags |= C.VPX_EFLAG_FORCE_KF
	}
	// Timestamps count frames at the nominal rate, whatever the wall clock
	// says: libvpx sets each frame's budget, and caps a keyframe at 300 % of
	// it, from target / the frame rate it reads off pts. A still screen
	// sends a frame every few seconds, which libvpx would read as 0.3 fps
	// and answer with 200 kB keyframes no slow link can carry.
	dur := C.ulong(1000000 / e.opts.FPS)
	pts := e.pts
	e.pts += int64(dur)
	rc := C.parlo_encode(e.ctx, C.int(f.Width), C.int(f.Height),
		(*C.uchar)(unsafe.Pointer(&f.Y[0])), (*C.uchar)(unsafe.Pointer(&f.U[0])), (*C.uchar)(unsafe.Pointer(&f.V[0])),
		C.int(f.StrideY), C.int(f.StrideUV), C.longlong(pts), dur, flags)
	if rc != C.VPX_CODEC_OK {
		return nil, false, fmt.Errorf("%w: encode: %s", ErrCodec, C.GoString(C.vpx_codec_error(e.ctx)))
	}
	var it C.vpx_codec_iter_t
	for {
		p := C.parlo_next_frame(e.ctx, &it)
		if p == nil {
			break
		}
		data = append(data, C.GoBytes(C.parlo_pkt_buf(p), C.int(C.parlo_pkt_sz(p)))...)
		keyframe = keyframe || C.parlo_pkt_key(p) != 0
	}
	return data, keyframe, nil
}

// Close frees the libvpx encoder. It is idempotent.
func (e *VP8Encoder) Close() error {
	return e.closeOnce(func() {
		C.vpx_codec_destroy(e.ctx)
		C.free(unsafe.Pointer(e.ctx))
		C.free(unsafe.Pointer(e.cfg))
	})
}
