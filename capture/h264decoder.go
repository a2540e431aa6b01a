package capture

/*
#cgo pkg-config: libavcodec libavutil
#include <stdlib.h>
#include <string.h>
#include <libavcodec/avcodec.h>
#include <libavutil/log.h>
#include <libavutil/pixfmt.h>

typedef struct {
	AVCodecContext *ctx;
	AVPacket *pkt;
	AVFrame *frm; // the newest picture
	AVFrame *tmp;
} parlo_h264dec;

static void parlo_h264dec_free(parlo_h264dec *d) {
	if (d == NULL) return;
	av_frame_free(&d->frm);
	av_frame_free(&d->tmp);
	av_packet_free(&d->pkt);
	avcodec_free_context(&d->ctx);
	free(d);
}

// parlo_h264dec_open opens libavcodec's H.264 decoder with slice threads
// only: frame threads would hold back one frame per thread, and a shared
// screen wants the newest picture now. The decoder is silenced because its
// complaints about broken network input would flood stderr.
static parlo_h264dec *parlo_h264dec_open(int threads, long long max_pixels) {
	av_log_set_level(AV_LOG_QUIET);
	const AVCodec *c = avcodec_find_decoder(AV_CODEC_ID_H264);
	if (c == NULL) return NULL;
	parlo_h264dec *d = calloc(1, sizeof *d);
	if (d == NULL) return NULL;
	d->ctx = avcodec_alloc_context3(c);
	d->pkt = av_packet_alloc();
	d->frm = av_frame_alloc();
	d->tmp = av_frame_alloc();
	if (d->ctx == NULL || d->pkt == NULL || d->frm == NULL || d->tmp == NULL) {
		parlo_h264dec_free(d);
		return NULL;
	}
	d->ctx->thread_count = threads;
	d->ctx->thread_type = FF_THREAD_SLICE;
	d->ctx->flags |= AV_CODEC_FLAG_LOW_DELAY;
	// libavcodec's own cap, checked when an SPS is activated, before any
	// picture is allocated: the backstop for an SPS the Go check could not
	// read.
	d->ctx->max_pixels = max_pixels;
	if (avcodec_open2(d->ctx, c, NULL) < 0) {
		parlo_h264dec_free(d);
		return NULL;
	}
	return d;
}

// parlo_h264dec_decode feeds one access unit (buf has
// AV_INPUT_BUFFER_PADDING_SIZE zero bytes after len) and leaves the newest
// picture it produced in d->frm. It returns 1 with a picture, 0 without,
// negative on error.
static int parlo_h264dec_decode(parlo_h264dec *d, unsigned char *buf, int len) {
	d->pkt->data = buf;
	d->pkt->size = len;
	int rc = avcodec_send_packet(d->ctx, d->pkt);
	d->pkt->data = NULL;
	d->pkt->size = 0;
	if (rc < 0 && rc != AVERROR(EAGAIN)) return rc;
	int got = 0;
	// Drain everything: only the newest picture matters, and a stream with
	// reordering may hand out more than one per packet.
	for (;;) {
		rc = avcodec_receive_frame(d->ctx, d->tmp);
		if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) break;
		if (rc < 0) return rc;
		av_frame_unref(d->frm);
		av_frame_move_ref(d->frm, d->tmp);
		got = 1;
	}
	return got;
}

static int parlo_frm_w(parlo_h264dec *d) { return d->frm->width; }
static int parlo_frm_h(parlo_h264dec *d) { return d->frm->height; }
static int parlo_frm_fmt(parlo_h264dec *d) { return d->frm->format; }
static unsigned char *parlo_frm_plane(parlo_h264dec *d, int i) { return d->frm->data[i]; }
static int parlo_frm_stride(parlo_h264dec *d, int i) { return d->frm->linesize[i]; }
static int parlo_yuv420(int f) { return f == AV_PIX_FMT_YUV420P || f == AV_PIX_FMT_YUVJ420P; }
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/parlo-voip/parlo/capture/videocodec"
)

// H264Decoder decodes an H.264 stream (Annex-B access units, as RFC 6184
// depacketisation yields them) with libavcodec. It is safe for concurrent
// use; calls are serialised.
type H264Decoder struct {
	codecState
	d      *C.parlo_h264dec
	buf    unsafe.Pointer // C copy of the input plus padding, reused
	bufLen int
}

// NewH264Decoder creates a decoder using up to threads slice threads (0:
// GOMAXPROCS, at most 4).
func NewH264Decoder(threads int) (*H264Decoder, error) {
	threads = decoderThreads(threads)
	d := C.parlo_h264dec_open(C.int(threads), C.longlong(MaxFramePixels))
	if d == nil {
		return nil, fmt.Errorf("%w: libavcodec H.264 decoder init failed", ErrCodec)
	}
	return &H264Decoder{d: d}, nil
}

// Codec implements Decoder.
func (d *H264Decoder) Codec() videocodec.Name { return videocodec.H264 }

// Decode decodes one access unit into a newly allocated picture; (nil, nil)
// when no picture came out.
func (d *H264Decoder) Decode(data []byte) (*I420, error) {
	return decodeNew(d.DecodeInto, data)
}

// DecodeInto decodes one access unit into dst, reusing its planes when the
// size is unchanged, and reports whether a picture came out. Corrupt input
// returns an error and never crashes (the data comes from the network);
// pictures that are not 8-bit 4:2:0 are refused, and an SPS declaring more
// than MaxFramePixels returns ErrFrameTooLarge without decoding.
func (d *H264Decoder) DecodeInto(dst *I420, data []byte) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.checkDecode(data); err != nil {
		return false, err
	}
	// A new SPS makes libavcodec allocate for the size it declares: check
	// it first. An SPS we cannot read is left to libavcodec (max_pixels).
	if w, h, ok, err := H264MaxSPSSize(data); err == nil && ok && !frameSizeOK(w, h) {
		return false, errTooLarge("H.264", w, h)
	}
	// libavcodec's bitstream readers may read past the end: the input
	// needs AV_INPUT_BUFFER_PADDING_SIZE zeroed bytes after it.
	need := len(data) + C.AV_INPUT_BUFFER_PADDING_SIZE
	if d.bufLen < need {
		C.free(d.buf)
		d.buf = C.malloc(C.size_t(need))
		d.bufLen = need
	}
	C.memcpy(d.buf, unsafe.Pointer(&data[0]), C.size_t(len(data)))
	C.memset(unsafe.Add(d.buf, len(data)), 0, C.AV_INPUT_BUFFER_PADDING_SIZE)
	rc := C.parlo_h264dec_decode(d.d, (*C.uchar)(d.buf), C.int(len(data)))
	if rc < 0 {
		return false, fmt.Errorf("%w: H.264 decode error %d", ErrCodec, int(rc))
	}
	if rc == 0 {
		return false, nil
	}
	if C.parlo_yuv420(C.parlo_frm_fmt(d.d)) == 0 {
		return false, fmt.Errorf("%w: H.264 pixel format %d is not 8-bit 4:2:0", ErrCodec, int(C.parlo_frm_fmt(d.d)))
	}
	w, h := int(C.parlo_frm_w(d.d)), int(C.parlo_frm_h(d.d))
	if w <= 0 || h <= 0 {
		return false, fmt.Errorf("%w: H.264 picture %dx%d", ErrCodec, w, h)
	}
	if !frameSizeOK(w, h) {
		return false, errTooLarge("H.264", w, h)
	}
	dst.ensure(w, h)
	copyPlane(dst.Y, dst.StrideY, C.parlo_frm_plane(d.d, 0), int(C.parlo_frm_stride(d.d, 0)), w, h)
	cw, ch := (w+1)/2, (h+1)/2
	copyPlane(dst.U, dst.StrideUV, C.parlo_frm_plane(d.d, 1), int(C.parlo_frm_stride(d.d, 1)), cw, ch)
	copyPlane(dst.V, dst.StrideUV, C.parlo_frm_plane(d.d, 2), int(C.parlo_frm_stride(d.d, 2)), cw, ch)
	return true, nil
}

// Close frees the decoder. It is idempotent.
func (d *H264Decoder) Close() error {
	return d.closeOnce(func() {
		C.parlo_h264dec_free(d.d)
		d.d = nil
		C.free(d.buf)
		d.buf = nil
	})
}
