package capture

/*
#cgo pkg-config: vpx
#include <stdlib.h>
#include <string.h>
#include <vpx/vpx_decoder.h>
#include <vpx/vp8dx.h>

static vpx_codec_err_t parlo_dec_init(vpx_codec_ctx_t *c, unsigned int threads) {
	vpx_codec_dec_cfg_t cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.threads = threads;
	return vpx_codec_dec_init(c, vpx_codec_vp8_dx(), &cfg, 0);
}

static vpx_image_t *parlo_get_frame(vpx_codec_ctx_t *c) {
	vpx_codec_iter_t it = NULL;
	return vpx_codec_get_frame(c, &it);
}
static unsigned char *parlo_plane(vpx_image_t *img, int i) { return img->planes[i]; }
static int parlo_stride(vpx_image_t *img, int i) { return img->stride[i]; }
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/parlo-voip/parlo/capture/videocodec"
)

// VP8Decoder decodes a VP8 stream (the receive side of a shared screen) with
// libvpx. It is safe for concurrent use; calls are serialised.
type VP8Decoder struct {
	codecState
	ctx    *C.vpx_codec_ctx_t
	buf    unsafe.Pointer // C copy of the input, reused
	bufLen int
}

// NewVP8Decoder creates a decoder using up to threads threads (0: GOMAXPROCS,
// at most 4).
func NewVP8Decoder(threads int) (*VP8Decoder, error) {
	threads = decoderThreads(threads)
	d := &VP8Decoder{ctx: (*C.vpx_codec_ctx_t)(C.calloc(1, C.sizeof_vpx_codec_ctx_t))}
	if rc := C.parlo_dec_init(d.ctx, C.uint(threads)); rc != C.VPX_CODEC_OK {
		C.free(unsafe.Pointer(d.ctx))
		return nil, fmt.Errorf("%w: decoder init: %s", ErrCodec, C.GoString(C.vpx_codec_err_to_string(rc)))
	}
	return d, nil
}

// Codec implements Decoder.
func (d *VP8Decoder) Codec() videocodec.Name { return videocodec.VP8 }

// Decode decodes one complete VP8 frame (reassembled from RTP, RFC 7741)
// into a newly allocated picture. It returns (nil, nil) when the frame
// produced no picture.
func (d *VP8Decoder) Decode(data []byte) (*I420, error) {
	return decodeNew(d.DecodeInto, data)
}

// DecodeInto decodes one frame into dst, reusing its planes when the size is
// unchanged. It reports whether a picture came out. Corrupt input returns an
// error and never crashes (the data comes from the network); a keyframe
// larger than MaxFramePixels returns ErrFrameTooLarge without decoding.
func (d *VP8Decoder) DecodeInto(dst *I420, data []byte) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.checkDecode(data); err != nil {
		return false, err
	}
	// libvpx allocates its reference frames for the size a keyframe
	// claims (up to 16383x16383): check it first.
	if w, h, ok := VP8KeyframeSize(data); ok && !frameSizeOK(w, h) {
		return false, errTooLarge("VP8", w, h)
	}
	// libvpx reads the input during the call only, but copying into C memory
	// keeps the cgo pointer rules obvious; frames are small.
	if d.bufLen < len(data) {
		C.free(d.buf)
		d.buf = C.malloc(C.size_t(len(data)))
		d.bufLen = len(data)
	}
	C.memcpy(d.buf, unsafe.Pointer(&data[0]), C.size_t(len(data)))
	if rc := C.vpx_codec_decode(d.ctx, (*C.uint8_t)(d.buf), C.uint(len(data)), nil, 0); rc != C.VPX_CODEC_OK {
		return false, fmt.Errorf("%w: decode: %s", ErrCodec, C.GoString(C.vpx_codec_error(d.ctx)))
	}
	img := C.parlo_get_frame(d.ctx)
	if img == nil {
		return false, nil
	}
	w, h := int(img.d_w), int(img.d_h)
	if !frameSizeOK(w, h) {
		return false, errTooLarge("VP8", w, h)
	}
	dst.ensure(w, h)
	copyPlane(dst.Y, dst.StrideY, C.parlo_plane(img, 0), int(C.parlo_stride(img, 0)), w, h)
	cw, ch := (w+1)/2, (h+1)/2
	copyPlane(dst.U, dst.StrideUV, C.parlo_plane(img, 1), int(C.parlo_stride(img, 1)), cw, ch)
	copyPlane(dst.V, dst.StrideUV, C.parlo_plane(img, 2), int(C.parlo_stride(img, 2)), cw, ch)
	return true, nil
}

func copyPlane(dst []byte, dstStride int, src *C.uchar, srcStride, w, h int) {
	s := unsafe.Slice((*byte)(unsafe.Pointer(src)), (h-1)*srcStride+w)
	for y := 0; y < h; y++ {
		copy(dst[y*dstStride:y*dstStride+w], s[y*srcStride:y*srcStride+w])
	}
}

// Close frees the decoder. It is idempotent.
func (d *VP8Decoder) Close() error {
	return d.closeOnce(func() {
		C.vpx_codec_destroy(d.ctx)
		C.free(unsafe.Pointer(d.ctx))
		C.free(d.buf)
	})
}
