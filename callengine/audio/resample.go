package audio

import "math"

// Resampler converts a stream of mono PCM from one sample rate to another
// with a polyphase windowed-sinc FIR filter (rational factor L/M).
//
// For G.711 the two cases that matter are 48 kHz -> 8 kHz (L=1, M=6: a
// low-pass FIR then keep every 6th sample) and 8 kHz -> 48 kHz (L=6, M=1:
// zero-stuff by 6 then the same low-pass, computed per phase so the zeros cost
// nothing). The filter cuts at 0.45 of the lower rate's Nyquist-side band
// (3.6 kHz for 8 kHz) with a Kaiser window for about 80 dB of stop-band
// rejection, so speech up to ~3.1 kHz passes flat and nothing above 4 kHz
// folds back.
//
// A Resampler keeps the filter history between calls, so a signal cut into
// 20 ms frames comes out exactly as if it had been processed in one piece: no
// clicks at frame boundaries. It is not safe for concurrent use; give each
// stream its own.
type Resampler struct {
	inRate, outRate int
	l, m            int         // interpolation and decimation factors
	taps            int         // taps per phase
	length          int         // prototype filter length (taps*L or one less)
	phases          [][]float64 // phases[p][k] = h[p + k*L] * L
	hist            []float64   // last taps-1 input samples, oldest first
	buf             []float64   // scratch: hist followed by the current input
	phase           int         // phase of the next output
	next            int         // index (relative to the next input) of the newest sample the next output needs
}

// maxPhases bounds the interpolation factor L, and so the filter's size.
const maxPhases = 480

// NewResampler returns a Resampler from inRate to outRate (Hz, both > 0).
func NewResampler(inRate, outRate int) *Resampler {
	if inRate <= 0 || outRate <= 0 {
		panic("audio: NewResampler needs positive rates") // programming error, never network input
	}
	g := gcd(inRate, outRate)
	if outRate/g > maxPhases {
		// A rate like 44101 Hz would need 48000 filter phases (hundreds of
		// MB for a file header's whim); treat it as the nearest multiple of
		// 100 Hz instead, a pitch error below 0.25%.
		approx := max(100, (inRate+50)/100*100)
		g = gcd(approx, outRate)
		if outRate/g <= maxPhases {
			inRate = approx
		}
	}
	l, m := outRate/g, inRate/g
	r := &Resampler{inRate: inRate, outRate: outRate, l: l, m: m}
	if l == 1 && m == 1 {
		return r
	}

	// Design the prototype low-pass at the upsampled rate inRate*L.
	low := float64(min(inRate, outRate))
	fsUp := float64(inRate) * float64(l)
	cutoff := 0.45 * low      // -6 dB point
	transition := 0.125 * low // pass-band edge to stop-band edge
	const attenuation = 80.0  // dB
	beta := 0.1102 * (attenuation - 8.7)
	n := int(math.Ceil((attenuation - 8) / (2.285 * 2 * math.Pi * transition / fsUp)))
	taps := (n + l - 1) / l
	if taps < 2 {
		taps = 2
	}
	total := taps * l
	// An odd-length prototype has an integer group delay, so a round trip
	// through two resamplers is a whole number of samples late (the last
	// coefficient of an even total is left zero).
	length := total - (1 - total%2)
	h := make([]float64, total)
	fc := cutoff / fsUp // normalised cutoff, cycles per sample
	centre := float64(length-1) / 2
	i0b := besselI0(beta)
	for i := range length {
		x := float64(i) - centre
		var sinc float64
		if x == 0 {
			sinc = 2 * fc
		} else {
			sinc = math.Sin(2*math.Pi*fc*x) / (math.Pi * x)
		}
		ratio := 2*float64(i)/float64(length-1) - 1
		w := besselI0(beta*math.Sqrt(max(0, 1-ratio*ratio))) / i0b
		h[i] = sinc * w
	}
	// Normalise DC gain to L so that every phase has unity gain after the
	// (implicit) zero-stuffing.
	var sum float64
	for _, v := range h {
		sum += v
	}
	scale := float64(l) / sum
	r.taps = taps
	r.length = length
	r.phases = make([][]float64, l)
	for p := range l {
		r.phases[p] = make([]float64, taps)
		for k := range taps {
			r.phases[p][k] = h[p+k*l] * scale
		}
	}
	r.hist = make([]float64, taps-1)
	return r
}

// InRate returns the input sample rate.
func (r *Resampler) InRate() int { return r.inRate }

// OutRate returns the output sample rate.
func (r *Resampler) OutRate() int { return r.outRate }

// Delay returns the group delay of the filter in output samples.
func (r *Resampler) Delay() float64 {
	if r.phases == nil {
		return 0
	}
	return float64(r.length-1) / 2 / float64(r.m)
}

// Reset clears the filter history, as for a new stream.
func (r *Resampler) Reset() {
	clear(r.hist)
	r.phase, r.next = 0, 0
}

// Process resamples in and appends the result to out, returning the extended
// slice. For 48000->8000 a 960-sample frame gives exactly 160 samples, and
// 160 give 960 the other way.
func (r *Resampler) Process(in []int16, out []int16) []int16 {
	if r.phases == nil {
		return append(out, in...)
	}
	h := len(r.hist)
	need := h + len(in)
	if cap(r.buf) < need {
		r.buf = make([]float64, need)
	}
	buf := r.buf[:need]
	copy(buf, r.hist)
	for i, s := range in {
		buf[h+i] = float64(s)
	}
	// Output n sits at upsampled position u = n*M; its newest input sample is
	// j0 = u div L and its phase p = u mod L:
	//   y = sum_k x[j0-k] * h[p + k*L].
	for r.next < len(in) {
		coeffs := r.phases[r.phase]
		end := h + r.next // buf index of x[j0]
		var acc float64
		for k, c := range coeffs {
			acc += buf[end-k] * c
		}
		out = append(out, clamp16(acc))
		r.phase += r.m
		r.next += r.phase / r.l
		r.phase %= r.l
	}
	r.next -= len(in)
	copy(r.hist, buf[need-h:])
	return out
}

func clamp16(v float64) int16 {
	v = math.Round(v)
	if v > math.MaxInt16 {
		return math.MaxInt16
	}
	if v < math.MinInt16 {
		return math.MinInt16
	}
	return int16(v)
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// besselI0 is the zeroth-order modified Bessel function of the first kind,
// by its power series (converges fast for the betas a Kaiser window uses).
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	q := x * x / 4
	for k := 1; k < 50; k++ {
		term *= q / float64(k*k)
		sum += term
		if term < sum*1e-12 {
			break
		}
	}
	return sum
}
