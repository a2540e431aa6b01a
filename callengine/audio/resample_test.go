package audio

import (
	"math"
	"testing"
)

// TestResamplerRoundTrip sends a tone 48k -> 8k -> 48k frame by frame, as the
// G.711 path does, and checks it comes back intact after the filter delay.
func TestResamplerRoundTrip(t *testing.T) {
	for _, freq := range []float64{300, 440, 1000, 3000} {
		down, up := NewResampler(48000, 8000), NewResampler(8000, 48000)
		in := sine(freq, 0.5, 50*FrameSamples, SampleRate)
		var mid, out []int16
		for f := 0; f < len(in); f += FrameSamples {
			mid = down.Process(in[f:f+FrameSamples], mid[:0])
			if len(mid) != 160 {
				t.Fatalf("48k frame gave %d samples at 8k, want 160", len(mid))
			}
			before := len(out)
			out = up.Process(mid, out)
			if len(out)-before != FrameSamples {
				t.Fatalf("160 samples gave %d at 48k, want %d", len(out)-before, FrameSamples)
			}
		}
		delay := down.Delay()*6 + up.Delay()
		if delay != math.Trunc(delay) {
			t.Errorf("round-trip delay %.2f is not a whole number of samples", delay)
		}
		// Compare with the input shifted by the filters' group delay, past
		// the filters' start-up.
		d := int(delay)
		var sig, noise float64
		for i := 1000; i < len(out); i++ {
			r := float64(in[i-d])
			e := float64(out[i]) - r
			sig += r * r
			noise += e * e
		}
		snr := 10 * math.Log10(sig/noise)
		if snr < 40 {
			t.Errorf("%v Hz: round-trip SNR %.1f dB at delay %d, want >= 40", freq, snr, d)
		}
		t.Logf("%v Hz: round trip delay %d samples (%.2f ms), SNR %.1f dB", freq, d, float64(d)/48, snr)
	}
}

// TestResamplerFrameBoundaries checks that cutting the input into frames
// changes nothing (the filter history carries over: no clicks).
func TestResamplerFrameBoundaries(t *testing.T) {
	for _, rates := range [][2]int{{48000, 8000}, {8000, 48000}, {44100, 48000}, {16000, 48000}} {
		in := sine(440, 0.7, rates[0], rates[0]) // 1 s
		whole := NewResampler(rates[0], rates[1]).Process(in, nil)
		chunked := NewResampler(rates[0], rates[1])
		var out []int16
		for i, step := 0, 0; i < len(in); i += step {
			step = min(len(in)-i, 1+(i*7)%331) // irregular chunks
			out = chunked.Process(in[i:i+step], out)
		}
		if len(out) != len(whole) {
			t.Fatalf("%v: chunked gave %d samples, whole %d", rates, len(out), len(whole))
		}
		for i := range out {
			if out[i] != whole[i] {
				t.Fatalf("%v: sample %d differs: %d vs %d", rates, i, out[i], whole[i])
			}
		}
		if want := rates[1]; math.Abs(float64(len(out)-want)) > 1 {
			t.Errorf("%v: 1 s gave %d samples", rates, len(out))
		}
	}
}

// TestResamplerResponse checks the anti-aliasing: pass-band tones keep their
// level, tones above 4 kHz do not fold back into the 8 kHz signal.
func TestResamplerResponse(t *testing.T) {
	for _, tc := range []struct {
		freq    float64
		minGain float64 // dB
		maxGain float64
	}{
		{440, -0.1, 0.1},
		{3000, -0.5, 0.1},
		{4200, math.Inf(-1), -60},  // would alias to 3800 Hz
		{6000, math.Inf(-1), -70},  // would alias to 2000 Hz
		{10000, math.Inf(-1), -70}, // would alias to 2000 Hz
	} {
		in := sine(tc.freq, 0.9, SampleRate, SampleRate)
		out := NewResampler(48000, 8000).Process(in, nil)
		out = out[400:] // skip the filter's start-up
		gain := 20 * math.Log10(math.Max(RMS(out), 1e-12)/(0.9/math.Sqrt2))
		if gain < tc.minGain || gain > tc.maxGain {
			t.Errorf("%v Hz: gain %.2f dB, want [%v, %v]", tc.freq, gain, tc.minGain, tc.maxGain)
		}
	}
}

func TestResamplerIdentity(t *testing.T) {
	in := sine(440, 0.5, 960, 48000)
	out := NewResampler(48000, 48000).Process(in, nil)
	if len(out) != len(in) || out[100] != in[100] {
		t.Error("same-rate resampler altered the signal")
	}
}

func BenchmarkResampleDown(b *testing.B) {
	r := NewResampler(48000, 8000)
	in := sine(440, 0.5, FrameSamples, SampleRate)
	out := make([]int16, 0, 160)
	for b.Loop() {
		out = r.Process(in, out[:0])
	}
}

func BenchmarkResampleUp(b *testing.B) {
	r := NewResampler(8000, 48000)
	in := sine(440, 0.5, 160, 8000)
	out := make([]int16, 0, FrameSamples)
	for b.Loop() {
		out = r.Process(in, out[:0])
	}
}

// TestResamplerOddRate: a header with a coprime rate must not make a filter
// with tens of thousands of phases.
func TestResamplerOddRate(t *testing.T) {
	for _, rate := range []int{44101, 767999, 1001} {
		r := NewResampler(rate, 48000)
		if len(r.phases) > maxPhases {
			t.Errorf("%d Hz: %d phases", rate, len(r.phases))
		}
		out := r.Process(sine(440, 0.5, rate, rate), nil)
		if math.Abs(float64(len(out)-48000)) > 250 {
			t.Errorf("%d Hz: 1 s became %d samples", rate, len(out))
		}
		if hz, _ := DominantFrequency(out[2000:], 48000); math.Abs(hz-440) > 3 {
			t.Errorf("%d Hz: tone came out at %.1f Hz", rate, hz)
		}
	}
}
