package audio

/*
#cgo pkg-config: libavcodec libavutil
#include <stdlib.h>
#include <string.h>
#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>
#include <libavutil/log.h>

// parlo_g722 is one libavcodec G.722 (ITU-T G.722, 64 kbit/s mode)
// encoder or decoder with its frame, packet and a padded input buffer.
typedef struct {
	AVCodecContext *ctx;
	AVFrame *frm;
	AVPacket *pkt;
	uint8_t *in; // decoder input, AV_INPUT_BUFFER_PADDING_SIZE zeros past cap
	int cap;
} parlo_g722;

static void parlo_g722_free(parlo_g722 *g) {
	if (g == NULL) return;
	av_frame_free(&g->frm);
	av_packet_free(&g->pkt);
	avcodec_free_context(&g->ctx);
	av_free(g->in);
	free(g);
}

// parlo_g722_open opens the encoder (enc != 0) with frame_samples samples a
// frame, or the decoder with an input buffer of cap bytes. Both are mono
// 16 kHz signed 16-bit; libavcodec is silenced because the decoder would
// complain on stderr about whatever the network sends.
static parlo_g722 *parlo_g722_open(int enc, int frame_samples, int cap) {
	av_log_set_level(AV_LOG_QUIET);
	const AVCodec *c = enc ? avcodec_find_encoder(AV_CODEC_ID_ADPCM_G722)
	                       : avcodec_find_decoder(AV_CODEC_ID_ADPCM_G722);
	if (c == NULL) return NULL;
	parlo_g722 *g = calloc(1, sizeof *g);
	if (g == NULL) return NULL;
	g->ctx = avcodec_alloc_context3(c);
	g->frm = av_frame_alloc();
	g->pkt = av_packet_alloc();
	if (g->ctx == NULL || g->frm == NULL || g->pkt == NULL) {
		parlo_g722_free(g);
		return NULL;
	}
	g->ctx->sample_rate = 16000;
	g->ctx->sample_fmt = AV_SAMPLE_FMT_S16;
	av_channel_layout_default(&g->ctx->ch_layout, 1);
	if (enc) {
		g->ctx->frame_size = frame_samples;
	} else {
		g->cap = cap;
		g->in = av_mallocz(cap + AV_INPUT_BUFFER_PADDING_SIZE);
		if (g->in == NULL) {
			parlo_g722_free(g);
			return NULL;
		}
	}
	if (avcodec_open2(g->ctx, c, NULL) < 0) {
		parlo_g722_free(g);
		return NULL;
	}
	if (enc) {
		g->frm->nb_samples = g->ctx->frame_size;
		g->frm->format = AV_SAMPLE_FMT_S16;
		if (av_channel_layout_copy(&g->frm->ch_layout, &g->ctx->ch_layout) < 0 ||
		    av_frame_get_buffer(g->frm, 0) < 0) {
			parlo_g722_free(g);
			return NULL;
		}
	}
	return g;
}

// parlo_g722_encode encodes one frame of the opened size from pcm into out
// (cap bytes) and returns the payload length, or a negative error.
static int parlo_g722_encode(parlo_g722 *g, const int16_t *pcm, uint8_t *out, int cap) {
	if (av_frame_make_writable(g->frm) < 0) return -1;
	memcpy(g->frm->data[0], pcm, (size_t)g->frm->nb_samples * 2);
	if (avcodec_send_frame(g->ctx, g->frm) < 0) return -2;
	if (avcodec_receive_packet(g->ctx, g->pkt) < 0) return -3;
	int n = g->pkt->size;
	if (n > cap) {
		av_packet_unref(g->pkt);
		return -4;
	}
	memcpy(out, g->pkt->data, n);
	av_packet_unref(g->pkt);
	return n;
}

// parlo_g722_decode decodes len bytes of payload (len <= cap) into pcm
// (room for max samples) and returns the sample count, or a negative error.
static int parlo_g722_decode(parlo_g722 *g, const uint8_t *payload, int len, int16_t *pcm, int max) {
	memcpy(g->in, payload, len);
	memset(g->in + len, 0, AV_INPUT_BUFFER_PADDING_SIZE);
	g->pkt->data = g->in;
	g->pkt->size = len;
	int r = avcodec_send_packet(g->ctx, g->pkt);
	g->pkt->data = NULL;
	g->pkt->size = 0;
	if (r < 0) return -1;
	int total = 0;
	while (avcodec_receive_frame(g->ctx, g->frm) == 0) {
		int n = g->frm->nb_samples;
		if (n > max - total) n = max - total;
		if (n > 0) memcpy(pcm + total, g->frm->data[0], (size_t)n * 2);
		total += n;
		av_frame_unref(g->frm);
	}
	return total;
}
*/
import "C"

import (
	"fmt"
	"runtime"
	"sync"
	"unsafe"
)

// G.722 samples at 16 kHz but is signalled with an 8000 Hz RTP clock: an
// erratum of the original RFC 1890 kept by RFC 3551 §4.5.2 for
// compatibility, so its RTP timestamps advance 160 per 20 ms frame while
// the frame carries 320 samples in 160 bytes (4 bits a sample, 64 kbit/s).
const (
	g722SampleRate   = 16000
	g722ClockRate    = 8000
	g722FrameSamples = g722SampleRate * FrameDurationMs / 1000
	g722FrameBytes   = g722FrameSamples / 2
	// g722MaxPayload bounds what one packet may carry (a 1500-byte MTU is
	// 187 ms): anything longer is cut, never a reason to allocate.
	g722MaxPayload = 1500
)

// g722Codec owns one libavcodec context; Close frees it, and a cleanup frees
// it if a caller that only holds an Encoder or Decoder drops it.
type g722Codec struct {
	mu sync.Mutex
	g  *C.parlo_g722
}

func openG722(enc bool) (*g722Codec, error) {
	e, what := C.int(0), "decoder"
	if enc {
		e, what = 1, "encoder"
	}
	g := C.parlo_g722_open(e, g722FrameSamples, g722MaxPayload)
	if g == nil {
		return nil, fmt.Errorf("%w: libavcodec cannot open its G.722 %s", ErrUnknownCodec, what)
	}
	return &g722Codec{g: g}, nil
}

// Close frees the libavcodec context. It is idempotent.
func (c *g722Codec) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.g != nil {
		C.parlo_g722_free(c.g)
		c.g = nil
	}
	return nil
}

// G722Encoder encodes 48 kHz frames to G.722 (RFC 3551 §4.5.2) with
// libavcodec, resampling to 16 kHz with a filter that keeps its history
// across frames.
type G722Encoder struct {
	c   *g722Codec
	rs  *Resampler
	pcm []int16
}

// NewG722Encoder returns a G.722 encoder. Close frees it; a dropped one is
// freed by the garbage collector.
func NewG722Encoder() (*G722Encoder, error) {
	c, err := openG722(true)
	if err != nil {
		return nil, err
	}
	e := &G722Encoder{c: c, rs: NewResampler(SampleRate, g722SampleRate), pcm: make([]int16, 0, g722FrameSamples)}
	runtime.AddCleanup(e, func(c *g722Codec) { _ = c.Close() }, c)
	return e, nil
}

// Close frees the libavcodec encoder. It is idempotent.
func (e *G722Encoder) Close() error { return e.c.Close() }

// Encode encodes one frame of FrameSamples into dst (at least 160 bytes).
func (e *G722Encoder) Encode(frame []int16, dst []byte) (int, error) {
	if len(frame) != FrameSamples {
		return 0, fmt.Errorf("%w: G.722 encode of %d samples", ErrFrameSize, len(frame))
	}
	if len(dst) < g722FrameBytes {
		return 0, fmt.Errorf("%w: G.722 payload needs %d bytes, have %d", ErrFrameSize, g722FrameBytes, len(dst))
	}
	e.pcm = e.rs.Process(frame, e.pcm[:0])
	if len(e.pcm) != g722FrameSamples {
		return 0, fmt.Errorf("%w: resampler gave %d samples", ErrFrameSize, len(e.pcm))
	}
	e.c.mu.Lock()
	defer e.c.mu.Unlock()
	if e.c.g == nil {
		return 0, ErrClosed
	}
	n := C.parlo_g722_encode(e.c.g, (*C.int16_t)(unsafe.Pointer(&e.pcm[0])), (*C.uint8_t)(unsafe.Pointer(&dst[0])), C.int(len(dst)))
	if n < 0 {
		return 0, fmt.Errorf("%w: G.722 encode failed (%d)", ErrFrameSize, int(n))
	}
	return int(n), nil
}

// G722Decoder decodes G.722 payloads to 48 kHz frames.
type G722Decoder struct {
	c    *g722Codec
	rs   *Resampler
	pcm  []int16 // 16 kHz samples of the payload being decoded
	out  []int16 // 48 kHz samples
	last []int16 // the last good 16 kHz frame, for concealment
	lost int
}

// NewG722Decoder returns a G.722 decoder. Close frees it; a dropped one is
// freed by the garbage collector.
func NewG722Decoder() (*G722Decoder, error) {
	c, err := openG722(false)
	if err != nil {
		return nil, err
	}
	d := &G722Decoder{c: c, rs: NewResampler(g722SampleRate, SampleRate), pcm: make([]int16, 2*g722MaxPayload)}
	runtime.AddCleanup(d, func(c *g722Codec) { _ = c.Close() }, c)
	return d, nil
}

// Close frees the libavcodec decoder. It is idempotent.
func (d *G722Decoder) Close() error { return d.c.Close() }

// Decode decodes payload (160 bytes for 20 ms) into frame and returns the
// samples written. A nil payload conceals one lost frame the way the G.711
// decoder does (the last frame again, 6 dB quieter each time, then
// silence): libavcodec's G.722 has no PLC. A payload that decodes to more
// than frame holds fills frame and returns ErrFrameSize.
func (d *G722Decoder) Decode(payload []byte, frame []int16) (int, error) {
	if len(payload) == 0 {
		return d.conceal(frame), nil
	}
	cut := false
	if len(payload) > g722MaxPayload {
		payload, cut = payload[:g722MaxPayload], true
	}
	d.c.mu.Lock()
	if d.c.g == nil {
		d.c.mu.Unlock()
		return 0, ErrClosed
	}
	d.pcm = d.pcm[:cap(d.pcm)]
	n := C.parlo_g722_decode(d.c.g, (*C.uint8_t)(unsafe.Pointer(&payload[0])), C.int(len(payload)),
		(*C.int16_t)(unsafe.Pointer(&d.pcm[0])), C.int(len(d.pcm)))
	d.c.mu.Unlock()
	if n < 0 {
		d.pcm = d.pcm[:0]
		return 0, fmt.Errorf("%w: G.722 decode failed (%d)", ErrFrameSize, int(n))
	}
	d.pcm = d.pcm[:int(n)]
	d.lost = 0
	d.last = append(d.last[:0], d.pcm...)
	w, err := d.emit(frame)
	if err == nil && cut {
		err = fmt.Errorf("%w: G.722 payload of %d bytes", ErrFrameSize, len(payload))
	}
	return w, err
}

func (d *G722Decoder) conceal(frame []int16) int {
	want := len(frame) / (SampleRate / g722SampleRate)
	d.pcm = d.pcm[:0]
	if d.lost < 4 {
		d.lost++
	}
	for i := range want {
		var s int16
		if d.lost <= 3 && len(d.last) > 0 {
			s = d.last[i%len(d.last)] >> d.lost
		}
		d.pcm = append(d.pcm, s)
	}
	n, _ := d.emit(frame)
	return n
}

func (d *G722Decoder) emit(frame []int16) (int, error) {
	d.out = d.rs.Process(d.pcm, d.out[:0])
	n := copy(frame, d.out)
	if len(d.out) > len(frame) {
		return n, fmt.Errorf("%w: G.722 payload of %d samples", ErrFrameSize, len(d.pcm))
	}
	return n, nil
}
