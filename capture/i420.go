package capture

import (
	"image"
	"runtime"
	"sync"
)

// I420 is a planar YUV 4:2:0 picture (BT.601 limited range), the input of the
// VP8 encoder and the output of the decoder. Chroma planes are
// ceil(Width/2) x ceil(Height/2).
type I420 struct {
	Y, U, V  []byte
	Width    int
	Height   int
	StrideY  int
	StrideUV int
}

// NewI420 allocates a w x h picture with tight strides.
func NewI420(w, h int) *I420 {
	f := &I420{}
	f.ensure(w, h)
	return f
}

// ensure (re)allocates the planes when the size changes.
func (f *I420) ensure(w, h int) {
	if f.Width == w && f.Height == h && len(f.Y) >= w*h {
		return
	}
	cw, ch := (w+1)/2, (h+1)/2
	f.Width, f.Height, f.StrideY, f.StrideUV = w, h, w, cw
	f.Y = make([]byte, w*h)
	f.U = make([]byte, cw*ch)
	f.V = make([]byte, cw*ch)
}

// Clone returns a deep copy, for consumers that keep a frame past the callback
// or decode call that lent it to them.
func (f *I420) Clone() *I420 {
	c := *f
	c.Y = append([]byte(nil), f.Y...)
	c.U = append([]byte(nil), f.U...)
	c.V = append([]byte(nil), f.V...)
	return &c
}

// ToImage wraps the planes (no copy) as an *image.YCbCr, which image/png can
// encode. Note that the standard library converts YCbCr as full-range JFIF;
// use ToRGBA for exact BT.601 limited-range colours.
func (f *I420) ToImage() *image.YCbCr {
	return &image.YCbCr{
		Y: f.Y, Cb: f.U, Cr: f.V,
		YStride: f.StrideY, CStride: f.StrideUV,
		SubsampleRatio: image.YCbCrSubsampleRatio420,
		Rect:           image.Rect(0, 0, f.Width, f.Height),
	}
}

// ToRGBA converts to RGBA with the BT.601 limited-range matrix used by
// BGRAToI420 (for snapshots and remote-video rendering), with libyuv unless
// built with -tags parlo_nolibyuv.
func (f *I420) ToRGBA() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, f.Width, f.Height))
	i420ToRGBA(img, f)
	return img
}

// ToRGBAFit converts to RGBA no larger than maxW x maxH, the aspect kept:
// a picture shown scaled down (the receiving window's fit view) is scaled
// here, in I420 with libyuv's box filter, before it is converted and handed
// to the GUI. The scaling costs the caller about 1.5 ms more than a
// full-size conversion at 1080p, but the GUI thread then uploads a texture
// of the size it draws (0.38 of the pixels at the bench's 0.62× view) on a
// renderer that is often software, and the box filter averages every
// source pixel where OpenGL's linear sampling, without mipmaps, skips some
// of a thin text stroke. A picture that fits already (or a build without
// libyuv) is converted at its own size. scratch (nil for a fresh one)
// holds the scaled planes; a caller converting frame after frame passes the
// same one.
func (f *I420) ToRGBAFit(maxW, maxH int, scratch *I420) *image.RGBA {
	w, h := fitSize(f.Width, f.Height, maxW, maxH)
	if w == f.Width && h == f.Height {
		return f.ToRGBA()
	}
	if scratch == nil {
		scratch = &I420{}
	}
	scratch.ensure(w, h)
	if !scaleI420(scratch, f) {
		return f.ToRGBA()
	}
	return scratch.ToRGBA()
}

// fitSize is w x h scaled down to fit maxW x maxH with its aspect kept
// (rounded to even sizes, at least 2x2); unchanged when it fits or when
// a bound is not positive.
func fitSize(w, h, maxW, maxH int) (int, int) {
	if maxW <= 0 || maxH <= 0 || (w <= maxW && h <= maxH) {
		return w, h
	}
	scale := min(float64(maxW)/float64(w), float64(maxH)/float64(h))
	sw := max(2, int(float64(w)*scale+0.5)&^1)
	sh := max(2, int(float64(h)*scale+0.5)&^1)
	return sw, sh
}

// i420ToRGBAGo is ToRGBA's portable conversion, 8-bit fixed point.
func i420ToRGBAGo(img *image.RGBA, f *I420) {
	for y := 0; y < f.Height; y++ {
		yr := f.Y[y*f.StrideY : y*f.StrideY+f.Width]
		ur := f.U[(y/2)*f.StrideUV:]
		vr := f.V[(y/2)*f.StrideUV:]
		out := img.Pix[y*img.Stride : y*img.Stride+f.Width*4]
		for x := range yr {
			c := 298 * (int(yr[x]) - 16)
			d := int(ur[x/2]) - 128
			e := int(vr[x/2]) - 128
			o := out[x*4 : x*4+4 : x*4+4]
			o[0] = clamp8((c + 409*e + 128) >> 8)
			o[1] = clamp8((c - 100*d - 208*e + 128) >> 8)
			o[2] = clamp8((c + 516*d + 128) >> 8)
			o[3] = 0xff
		}
	}
}

func clamp8(v int) byte {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return byte(v)
}

// parallelMinRows is the picture height from which BGRAToI420Go splits the work
// across GOMAXPROCS goroutines; below it, goroutine start-up costs more than
// it saves. On the 2-core test machine 1080p went from about 3.6 ms to 3.0 ms.
const parallelMinRows = 128

// BGRAToI420 converts a w x h BGRX picture (stride bytes per row) to I420 with
// the BT.601 limited-range matrix and 2x2 chroma averaging. dst is resized if
// needed. Odd sizes replicate the last column/row into the chroma average.
// It uses libyuv's SIMD ARGBToI420 unless built with the parlo_nolibyuv tag
// (see I420Converter); both agree with the float reference within 2.
func BGRAToI420(dst *I420, src []byte, stride, w, h int) {
	dst.ensure(w, h)
	bgraToI420Rows(dst, src, stride, 0, h)
}

// BGRAToI420Go is the portable Go conversion: the fallback when libyuv is
// not built in and the reference the libyuv path is tested against.
func BGRAToI420Go(dst *I420, src []byte, stride, w, h int) {
	dst.ensure(w, h)
	bgraToI420RowsGo(dst, src, stride, 0, h)
}

// bgraToI420RowsGo converts rows [y0, y1) (y0 even) in Go, in parallel when
// the span is tall enough.
func bgraToI420RowsGo(dst *I420, src []byte, stride, y0, y1 int) {
	y0 &^= 1
	if y1 > dst.Height {
		y1 = dst.Height
	}
	n := runtime.GOMAXPROCS(0)
	if n < 2 || y1-y0 < parallelMinRows {
		convertPairs(dst, src, stride, y0, y1)
		return
	}
	pairs := (y1 - y0 + 1) / 2
	per := (pairs + n - 1) / n
	var wg sync.WaitGroup
	for start := y0; start < y1; start += per * 2 {
		end := min(start+per*2, y1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			convertPairs(dst, src, stride, start, end)
		}()
	}
	wg.Wait()
}

// convertPairs converts rows [y0, y1) two at a time; y0 must be even.
func convertPairs(dst *I420, src []byte, stride, y0, y1 int) {
	w := dst.Width
	h := dst.Height
	half := w / 2
	for y := y0; y < y1; y += 2 {
		rowA := src[y*stride : y*stride+w*4]
		rowB := rowA
		yA := dst.Y[y*dst.StrideY : y*dst.StrideY+w]
		yB := yA
		if y+1 < h {
			rowB = src[(y+1)*stride : (y+1)*stride+w*4]
			yB = dst.Y[(y+1)*dst.StrideY : (y+1)*dst.StrideY+w]
		}
		cy := y / 2
		u := dst.U[cy*dst.StrideUV : cy*dst.StrideUV+(w+1)/2]
		v := dst.V[cy*dst.StrideUV : cy*dst.StrideUV+(w+1)/2]
		for cx := 0; cx < half; cx++ {
			i := cx * 8
			a := rowA[i : i+8 : i+8]
			b := rowB[i : i+8 : i+8]
			b0, g0, r0 := int32(a[0]), int32(a[1]), int32(a[2])
			b1, g1, r1 := int32(a[4]), int32(a[5]), int32(a[6])
			b2, g2, r2 := int32(b[0]), int32(b[1]), int32(b[2])
			b3, g3, r3 := int32(b[4]), int32(b[5]), int32(b[6])
			ya := yA[cx*2 : cx*2+2 : cx*2+2]
			yb := yB[cx*2 : cx*2+2 : cx*2+2]
			ya[0] = byte((66*r0+129*g0+25*b0+128)>>8 + 16)
			ya[1] = byte((66*r1+129*g1+25*b1+128)>>8 + 16)
			yb[0] = byte((66*r2+129*g2+25*b2+128)>>8 + 16)
			yb[1] = byte((66*r3+129*g3+25*b3+128)>>8 + 16)
			sr, sg, sb := r0+r1+r2+r3, g0+g1+g2+g3, b0+b1+b2+b3
			// The sums are 4x the average: fold the /4 into the shift.
			u[cx] = byte((-38*sr-74*sg+112*sb+512)>>10 + 128)
			v[cx] = byte((112*sr-94*sg-18*sb+512)>>10 + 128)
		}
		if w&1 == 1 {
			i := (w - 1) * 4
			b0, g0, r0 := int32(rowA[i]), int32(rowA[i+1]), int32(rowA[i+2])
			b2, g2, r2 := int32(rowB[i]), int32(rowB[i+1]), int32(rowB[i+2])
			yA[w-1] = byte((66*r0+129*g0+25*b0+128)>>8 + 16)
			yB[w-1] = byte((66*r2+129*g2+25*b2+128)>>8 + 16)
			sr, sg, sb := 2*(r0+r2), 2*(g0+g2), 2*(b0+b2)
			u[half] = byte((-38*sr-74*sg+112*sb+512)>>10 + 128)
			v[half] = byte((112*sr-94*sg-18*sb+512)>>10 + 128)
		}
	}
}
