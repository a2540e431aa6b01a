package testpeers

import (
	"image"
	"math"
)

// MeanDiff is the mean absolute difference per channel (0..255) of a
// against the same-placed pixels of b (b may be larger: its top-left part
// is compared), sampled on a 5-pixel grid: how far a decoded share is from
// the picture on the shared monitor.
func MeanDiff(a, b image.Image) float64 {
	r := a.Bounds()
	var sum float64
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y += 5 {
		for x := r.Min.X; x < r.Max.X; x += 5 {
			ar, ag, ab, _ := a.At(x, y).RGBA()
			br, bg, bb, _ := b.At(x-r.Min.X+b.Bounds().Min.X, y-r.Min.Y+b.Bounds().Min.Y).RGBA()
			sum += math.Abs(float64(ar>>8)-float64(br>>8)) + math.Abs(float64(ag>>8)-float64(bg>>8)) + math.Abs(float64(ab>>8)-float64(bb>>8))
			n += 3
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}
