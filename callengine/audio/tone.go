package audio

import (
	"math"
	"sync"
)

// Tone is a Source producing a continuous sine wave.
type Tone struct {
	mu        sync.Mutex
	step      float64 // phase increment per sample, radians
	amplitude float64 // peak, in int16 units
	phase     float64
	closed    bool
}

// NewTone returns a Source that generates a sine of freqHz at amplitude (0..1
// of full scale). The phase carries over from one frame to the next, so the
// concatenated frames are one clean sine (no click every 20 ms, which a tone
// detector or a codec would otherwise see as broadband noise).
func NewTone(freqHz float64, amplitude float64) Source {
	amplitude = math.Max(0, math.Min(1, amplitude))
	return &Tone{
		step:      2 * math.Pi * freqHz / SampleRate,
		amplitude: amplitude * math.MaxInt16,
	}
}

// ReadFrame fills frame with the next len(frame) samples of the sine.
func (t *Tone) ReadFrame(frame []int16) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrClosed
	}
	for i := range frame {
		frame[i] = int16(math.Round(t.amplitude * math.Sin(t.phase)))
		t.phase += t.step
		// Keep the phase small so float precision does not degrade over
		// hours of generation.
		if t.phase >= 2*math.Pi {
			t.phase -= 2 * math.Pi
		}
	}
	return nil
}

// Close stops the source; later reads return ErrClosed. Close is idempotent.
func (t *Tone) Close() error {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	return nil
}
