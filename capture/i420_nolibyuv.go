//go:build parlo_nolibyuv

package capture

import "image"

// I420Converter names the BGRA→I420 implementation built in: "go" here
// (built with -tags parlo_nolibyuv), "libyuv" by default.
const I420Converter = "go"

func bgraToI420Rows(dst *I420, src []byte, stride, y0, y1 int) {
	bgraToI420RowsGo(dst, src, stride, y0, y1)
}

func i420ToRGBA(img *image.RGBA, f *I420) { i420ToRGBAGo(img, f) }

// scaleI420 is not built without libyuv: ToRGBAFit converts at full size.
func scaleI420(_, _ *I420) bool { return false }
