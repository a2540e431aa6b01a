package bench

import (
	"image"
	"image/color"
)

// Barcode geometry: a row of BarcodeBits square blocks, each white for a 1
// bit and black for a 0. The 24-bit value is followed by its complement, so
// a picture caught mid-paint or smeared by the codec does not decode into a
// wrong time (it decodes to nothing). Blocks are 32 px and placed on the
// 16-px macroblock grid, so a VP8 encoder at real-time speed keeps them
// clean.
const (
	BarcodeValueBits = 24
	BarcodeBits      = 2 * BarcodeValueBits
	BarcodeBlock     = 32
	BarcodeWidth     = BarcodeBits * BarcodeBlock
	BarcodeHeight    = BarcodeBlock
	barcodeMask      = 1<<BarcodeValueBits - 1
)

// BarcodeBitsOf returns the blocks of v, most significant first: true is
// white.
func BarcodeBitsOf(v uint32) [BarcodeBits]bool {
	var out [BarcodeBits]bool
	v &= barcodeMask
	for i := 0; i < BarcodeValueBits; i++ {
		bit := v>>(BarcodeValueBits-1-i)&1 == 1
		out[i] = bit
		out[BarcodeValueBits+i] = !bit
	}
	return out
}

// ReadBarcode reads a barcode whose top-left corner is at (x0, y0) in img
// (any image: the engine has handed out *image.YCbCr and *image.RGBA). It
// averages the grey level of the centre 8x8 of each block and thresholds at
// mid-grey. ok is false when the value and its complement disagree.
func ReadBarcode(img image.Image, x0, y0 int) (v uint32, ok bool) {
	if !image.Rect(x0, y0, x0+BarcodeWidth, y0+BarcodeHeight).In(img.Bounds()) {
		return 0, false
	}
	var bits [BarcodeBits]bool
	for i := range bits {
		cx := x0 + i*BarcodeBlock + BarcodeBlock/2
		cy := y0 + BarcodeBlock/2
		sum := 0
		for y := cy - 4; y < cy+4; y++ {
			for x := cx - 4; x < cx+4; x++ {
				sum += int(color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y)
			}
		}
		bits[i] = sum/64 >= 128
	}
	for i := 0; i < BarcodeValueBits; i++ {
		if bits[i] == bits[BarcodeValueBits+i] {
			return 0, false
		}
		v <<= 1
		if bits[i] {
			v |= 1
		}
	}
	return v, true
}
