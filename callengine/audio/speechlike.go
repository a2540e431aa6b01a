package audio

import (
	"math"
	"math/rand/v2"
	"sync"
)

// SpeechLike is a Source of speech-shaped noise: noise band-limited to the
// voice band (about 200-3400 Hz) under a syllabic envelope (syllables of
// 100-300 ms with short gaps, grouped in phrases of 1-2.5 s separated by
// pauses of 0.4-1.2 s, close to ITU-T P.59's talkspurts), the classic
// stand-in for talk when measuring an echo canceller (ITU-T P.501 uses the
// same idea). Unlike a tone it excites the whole band the canceller must
// model, and its pauses let the canceller learn the room's noise floor, as
// real talk does. The same seed gives the same signal.
type SpeechLike struct {
	mu        sync.Mutex
	rng       *rand.Rand
	amplitude float64
	// Band-pass as a high-pass and a low-pass biquad (RBJ cookbook).
	hp, lp biquad
	// Envelope state: samples left in the current burst or pause, and its
	// target gain, approached smoothly to avoid clicks.
	left        int
	phraseLeft  int // samples left in the current phrase
	target, env float64
	closed      bool
}

// NewSpeechLike returns speech-like noise with peak bursts near amplitude
// (0..1 of full scale).
func NewSpeechLike(seed uint64, amplitude float64) *SpeechLike {
	return &SpeechLike{
		rng:       rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		amplitude: math.Max(0, math.Min(1, amplitude)) * math.MaxInt16,
		hp:        newBiquad(SampleRate, 200, true),
		lp:        newBiquad(SampleRate, 3400, false),
	}
}

// ReadFrame fills frame with the next samples.
func (s *SpeechLike) ReadFrame(frame []int16) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	// A 10 ms time constant: fast enough for syllables, slow enough not
	// to click.
	const smooth = 1.0 / (0.010 * SampleRate)
	for i := range frame {
		if s.left <= 0 {
			if s.phraseLeft <= 0 && s.target > 0 {
				// The end of a phrase: a pause of 0.4-1.2 s.
				s.target = 0
				s.left = (400 + s.rng.IntN(800)) * SampleRate / 1000
				s.phraseLeft = (1000 + s.rng.IntN(1500)) * SampleRate / 1000
			} else if s.target > 0 {
				// A pause of 50-250 ms.
				s.target = 0
				s.left = (50 + s.rng.IntN(200)) * SampleRate / 1000
			} else {
				// A syllable of 100-300 ms at a varying loudness.
				s.target = 0.5 + 0.5*s.rng.Float64()
				s.left = (100 + s.rng.IntN(200)) * SampleRate / 1000
			}
		}
		s.left--
		s.phraseLeft--
		s.env += (s.target - s.env) * smooth
		// Noise with unit-ish variance, then the voice band. The band
		// keeps about 1/7 of white noise's power, hence the gain of 2.
		x := s.rng.NormFloat64() * 2
		x = s.lp.step(s.hp.step(x))
		frame[i] = clamp16(x * s.env * s.amplitude / 3)
	}
	return nil
}

// Close stops the source; later reads return ErrClosed. It is idempotent.
func (s *SpeechLike) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return nil
}

// biquad is a second-order Butterworth filter section (RBJ audio EQ
// cookbook, Q = 1/sqrt 2).
type biquad struct {
	b0, b1, b2, a1, a2 float64
	x1, x2, y1, y2     float64
}

func newBiquad(rate, cutoff float64, highPass bool) biquad {
	w := 2 * math.Pi * cutoff / rate
	alpha := math.Sin(w) / (2 * math.Sqrt2 / 2)
	cw := math.Cos(w)
	a0 := 1 + alpha
	var b0, b1, b2 float64
	if highPass {
		b0, b1, b2 = (1+cw)/2, -(1 + cw), (1+cw)/2
	} else {
		b0, b1, b2 = (1-cw)/2, 1-cw, (1-cw)/2
	}
	return biquad{b0: b0 / a0, b1: b1 / a0, b2: b2 / a0, a1: -2 * cw / a0, a2: (1 - alpha) / a0}
}

func (f *biquad) step(x float64) float64 {
	y := f.b0*x + f.b1*f.x1 + f.b2*f.x2 - f.a1*f.y1 - f.a2*f.y2
	f.x2, f.x1 = f.x1, x
	f.y2, f.y1 = f.y1, y
	return y
}
