package audio

import (
	"math"
	"testing"
)

// sine returns n samples of a sine at freq Hz sampled at rate, peak amp (0..1).
func sine(freq, amp float64, n, rate int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(math.Round(amp * math.MaxInt16 * math.Sin(2*math.Pi*freq*float64(i)/float64(rate))))
	}
	return out
}

// readFrames reads n frames from src and concatenates them.
func readFrames(t testing.TB, src Source, n int) []int16 {
	t.Helper()
	out := make([]int16, 0, n*FrameSamples)
	frame := make([]int16, FrameSamples)
	for range n {
		if err := src.ReadFrame(frame); err != nil {
			t.Fatalf("ReadFrame: %v", err)
		}
		out = append(out, frame...)
	}
	return out
}

// snrAt returns the SNR in dB of got against ref delayed by d samples,
// ignoring the first skip samples of got.
func snrAt(ref, got []int16, d, skip int) float64 {
	var sig, noise float64
	for i := skip; i < len(got) && i-d < len(ref); i++ {
		r := float64(ref[i-d])
		e := float64(got[i]) - r
		sig += r * r
		noise += e * e
	}
	return 10 * math.Log10(sig/math.Max(noise, 1e-9))
}
