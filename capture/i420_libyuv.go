//go:build !parlo_nolibyuv

package capture

/*
#cgo LDFLAGS: -lyuv
#include <libyuv/convert_from_argb.h>
#include <libyuv/convert_argb.h>
#include <libyuv/scale.h>
*/
import "C"

import (
	"image"
	"unsafe"
)

// I420Converter names the BGRA→I420 implementation built in: "libyuv" (SIMD,
// the converter WebRTC uses) or "go" (built with -tags parlo_nolibyuv).
const I420Converter = "libyuv"

// bgraToI420Rows converts rows [y0, y1) (y0 even) with libyuv's ARGBToI420
// (libyuv's "ARGB" is B,G,R,A in memory: X11's 32-bit little-endian layout).
// The Source calls it for the changed rows only. It runs on the calling
// goroutine: at about half a millisecond for a whole 1080p frame, splitting
// it across cores would cost more in hand-offs than it saves in CPU.
func bgraToI420Rows(dst *I420, src []byte, stride, y0, y1 int) {
	y0 &^= 1
	// A pair of rows shares its chroma row: convert the partner of an odd
	// last row too, as the Go version does.
	y1 = min((y1+1)&^1, dst.Height)
	if y1 <= y0 || dst.Width == 0 {
		return
	}
	h := y1 - y0
	if len(src) < (y1-1)*stride+dst.Width*4 {
		panic("capture: BGRA source shorter than its geometry")
	}
	cy := y0 / 2
	C.ARGBToI420(
		(*C.uint8_t)(unsafe.Pointer(&src[y0*stride])), C.int(stride),
		(*C.uint8_t)(unsafe.Pointer(&dst.Y[y0*dst.StrideY])), C.int(dst.StrideY),
		(*C.uint8_t)(unsafe.Pointer(&dst.U[cy*dst.StrideUV])), C.int(dst.StrideUV),
		(*C.uint8_t)(unsafe.Pointer(&dst.V[cy*dst.StrideUV])), C.int(dst.StrideUV),
		C.int(dst.Width), C.int(h))
}

// i420ToRGBA converts f into img (same size) with libyuv's I420ToABGR:
// libyuv's "ABGR" is R,G,B,A in memory, Go's RGBA, and its I420 matrix is
// BT.601 limited range, the one BGRAToI420 encodes with. 0.39 ms for a
// 1080p frame where the Go loop takes 7.0 ms (make bench's micro rows): the
// receiving window pays it for every frame it shows.
func i420ToRGBA(img *image.RGBA, f *I420) {
	if f.Width == 0 || f.Height == 0 {
		return
	}
	C.I420ToABGR(
		(*C.uint8_t)(unsafe.Pointer(&f.Y[0])), C.int(f.StrideY),
		(*C.uint8_t)(unsafe.Pointer(&f.U[0])), C.int(f.StrideUV),
		(*C.uint8_t)(unsafe.Pointer(&f.V[0])), C.int(f.StrideUV),
		(*C.uint8_t)(unsafe.Pointer(&img.Pix[0])), C.int(img.Stride),
		C.int(f.Width), C.int(f.Height))
}

// scaleI420 scales src into dst (its size set) with libyuv's box filter,
// the one that keeps thin text strokes when shrinking.
func scaleI420(dst, src *I420) bool {
	if src.Width == 0 || src.Height == 0 || dst.Width == 0 || dst.Height == 0 {
		return false
	}
	return C.I420Scale(
		(*C.uint8_t)(unsafe.Pointer(&src.Y[0])), C.int(src.StrideY),
		(*C.uint8_t)(unsafe.Pointer(&src.U[0])), C.int(src.StrideUV),
		(*C.uint8_t)(unsafe.Pointer(&src.V[0])), C.int(src.StrideUV),
		C.int(src.Width), C.int(src.Height),
		(*C.uint8_t)(unsafe.Pointer(&dst.Y[0])), C.int(dst.StrideY),
		(*C.uint8_t)(unsafe.Pointer(&dst.U[0])), C.int(dst.StrideUV),
		(*C.uint8_t)(unsafe.Pointer(&dst.V[0])), C.int(dst.StrideUV),
		C.int(dst.Width), C.int(dst.Height), C.kFilterBox) == 0
}
