package capture

// SSIMY is the mean SSIM of two pictures' luma planes over 8x8 windows
// (Wang et al. 2004, the constants for 8-bit samples). It is what the live
// pipeline child and the codec tests report for the picture a receiver
// would show; ffmpeg's ssim filter, used for the benchmark's encoder pairs,
// computes the same measure.
func SSIMY(a, b *I420) float64 {
	const c1, c2 = (0.01 * 255) * (0.01 * 255), (0.03 * 255) * (0.03 * 255)
	var sum float64
	n := 0
	for y0 := 0; y0+8 <= min(a.Height, b.Height); y0 += 8 {
		for x0 := 0; x0+8 <= min(a.Width, b.Width); x0 += 8 {
			var sa, sb, saa, sbb, sab float64
			for y := y0; y < y0+8; y++ {
				ra, rb := a.Y[y*a.StrideY+x0:y*a.StrideY+x0+8], b.Y[y*b.StrideY+x0:y*b.StrideY+x0+8]
				for x := range 8 {
					pa, pb := float64(ra[x]), float64(rb[x])
					sa, sb = sa+pa, sb+pb
					saa, sbb, sab = saa+pa*pa, sbb+pb*pb, sab+pa*pb
				}
			}
			ma, mb := sa/64, sb/64
			va, vb, cov := saa/64-ma*ma, sbb/64-mb*mb, sab/64-ma*mb
			sum += ((2*ma*mb + c1) * (2*cov + c2)) / ((ma*ma + mb*mb + c1) * (va + vb + c2))
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}
