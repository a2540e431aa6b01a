package audio

import (
	"math"
	"math/rand/v2"
	"sync"
)

// Hiss is a Source of steady white noise, the background a noise
// suppressor must remove (and what a test mixes into a microphone).
type Hiss struct {
	mu     sync.Mutex
	rng    *rand.Rand
	rms    float64
	closed bool
}

// NewHiss returns white noise of the given RMS level (0..1 of full scale).
func NewHiss(seed uint64, rms float64) *Hiss {
	return &Hiss{rng: rand.New(rand.NewPCG(seed, ^seed)), rms: math.Max(0, math.Min(1, rms)) * math.MaxInt16}
}

// ReadFrame fills frame with noise.
func (h *Hiss) ReadFrame(frame []int16) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return ErrClosed
	}
	for i := range frame {
		frame[i] = clamp16(h.rng.NormFloat64() * h.rms)
	}
	return nil
}

// Close stops the source. It is idempotent.
func (h *Hiss) Close() error {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	return nil
}
