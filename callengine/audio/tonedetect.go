package audio

import (
	"math"
	"math/cmplx"
	"sync"
	"time"
)

// DominantFrequency returns the frequency of the strongest spectral peak in
// pcm (sampled at rate) and the share of the signal's energy in that peak
// (0..1: near 1 for a clean tone, low for noise or speech). Silence gives
// (0, 0).
//
// It windows the signal with a Hann window, zero-pads to at least 4x and at
// least 2^16 points, and refines the peak bin by Gaussian interpolation of
// the log magnitudes, which is exact for a Gaussian-shaped peak and within
// a fraction of a hertz for Hann: a 440 Hz tone over 0.5 s comes out within
// 1 Hz, and a 100 ms window within a few hertz. Frequencies below 20 Hz
// (DC, rumble) are ignored.
func DominantFrequency(pcm []int16, rate int) (hz float64, power float64) {
	n := len(pcm)
	if n < 16 || rate <= 0 {
		return 0, 0
	}
	var mean float64
	for _, s := range pcm {
		mean += float64(s)
	}
	mean /= float64(n)
	size := 1
	for size < 4*n || size < 1<<16 {
		size <<= 1
	}
	x := make([]complex128, size)
	var energy float64
	for i, s := range pcm {
		w := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n-1))
		v := (float64(s) - mean) * w
		energy += v * v
		x[i] = complex(v, 0)
	}
	if energy < 1e-9 {
		return 0, 0
	}
	fft(x)
	half := size / 2
	mag := make([]float64, half)
	var total float64
	for i := range half {
		m := cmplx.Abs(x[i])
		mag[i] = m
		total += m * m
	}
	lo := max(1, int(20*float64(size)/float64(rate)))
	peak := lo
	for i := lo; i < half-1; i++ {
		if mag[i] > mag[peak] {
			peak = i
		}
	}
	if mag[peak] == 0 {
		return 0, 0
	}
	offset := 0.0
	if peak > 0 && peak < half-1 && mag[peak-1] > 0 && mag[peak+1] > 0 {
		a, b, c := math.Log(mag[peak-1]), math.Log(mag[peak]), math.Log(mag[peak+1])
		if den := a - 2*b + c; den != 0 {
			offset = 0.5 * (a - c) / den
		}
	}
	hz = (float64(peak) + offset) * float64(rate) / float64(size)

	// Energy of the peak: the Hann main lobe is 4 bins wide before padding,
	// i.e. 4*size/n bins here.
	width := int(math.Ceil(2*float64(size)/float64(n))) + 1
	var peakEnergy float64
	for i := max(0, peak-width); i <= min(half-1, peak+width); i++ {
		peakEnergy += mag[i] * mag[i]
	}
	return hz, peakEnergy / total
}

// RMS returns the root mean square of pcm as a fraction of full scale (0..1).
func RMS(pcm []int16) float64 {
	if len(pcm) == 0 {
		return 0
	}
	var sum float64
	for _, s := range pcm {
		v := float64(s) / 32768
		sum += v * v
	}
	return math.Sqrt(sum / float64(len(pcm)))
}

// DefaultToneHistory is how much audio a ToneDetector keeps.
const DefaultToneHistory = 10 * time.Second

// ToneDetector is a Sink that keeps the last few seconds of what it received
// so a test can ask which tone is playing. It is safe for concurrent use: the
// media goroutine writes while the test polls.
type ToneDetector struct {
	mu     sync.Mutex
	ring   []int16
	pos    int // next write index
	filled int // valid samples in ring
	frames int64
	closed bool
}

// NewToneDetector returns a ToneDetector keeping history of audio (at
// SampleRate); 0 means DefaultToneHistory.
func NewToneDetector(history time.Duration) *ToneDetector {
	if history <= 0 {
		history = DefaultToneHistory
	}
	n := max(FrameSamples, int(history.Seconds()*SampleRate))
	return &ToneDetector{ring: make([]int16, n)}
}

// WriteFrame records frame.
func (t *ToneDetector) WriteFrame(frame []int16) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrClosed
	}
	for len(frame) > 0 {
		n := copy(t.ring[t.pos:], frame)
		frame = frame[n:]
		t.pos = (t.pos + n) % len(t.ring)
		t.filled = min(len(t.ring), t.filled+n)
	}
	t.frames++
	return nil
}

// Frames returns how many frames were written.
func (t *ToneDetector) Frames() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.frames
}

// Last returns a copy of the most recent window of audio (less if less was
// received).
func (t *ToneDetector) Last(window time.Duration) []int16 {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := min(t.filled, int(window.Seconds()*SampleRate))
	out := make([]int16, n)
	start := (t.pos - n + len(t.ring)) % len(t.ring)
	c := copy(out, t.ring[start:min(len(t.ring), start+n)])
	copy(out[c:], t.ring[:n-c])
	return out
}

// Frequency returns the dominant frequency and the RMS level (fraction of
// full scale) of the last window of audio received. With no audio it
// returns (0, 0).
func (t *ToneDetector) Frequency(window time.Duration) (hz, rms float64) {
	pcm := t.Last(window)
	rms = RMS(pcm)
	hz, _ = DominantFrequency(pcm, SampleRate)
	return hz, rms
}

// Close stops recording; later writes return ErrClosed. The recorded audio
// stays readable. Close is idempotent.
func (t *ToneDetector) Close() error {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	return nil
}

// ToneLevel is the amplitude (fraction of full scale, as a sine's peak) of
// the component at hz in pcm, by the Goertzel algorithm over the whole
// slice: a test can check that each of several tones mixed together is
// there, which the dominant frequency alone cannot tell.
func ToneLevel(pcm []int16, rate int, hz float64) float64 {
	if len(pcm) == 0 {
		return 0
	}
	w := 2 * math.Pi * hz / float64(rate)
	coeff := 2 * math.Cos(w)
	var s1, s2 float64
	for _, x := range pcm {
		s := float64(x)/32768 + coeff*s1 - s2
		s2, s1 = s1, s
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2
	return 2 * math.Sqrt(max(0, power)) / float64(len(pcm))
}
