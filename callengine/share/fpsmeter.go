package share

import (
	"sync"
	"time"
)

// fpsMeter measures a frame rate over the last two seconds.
type fpsMeter struct {
	mu    sync.Mutex
	times []time.Time
}

func (m *fpsMeter) tick(t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.times = append(m.times, t)
	cut := 0
	for cut < len(m.times) && t.Sub(m.times[cut]) > 2*time.Second {
		cut++
	}
	m.times = m.times[cut:]
}

func (m *fpsMeter) rate() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.times) < 2 {
		return 0
	}
	if time.Since(m.times[len(m.times)-1]) > 2*time.Second {
		return 0
	}
	span := m.times[len(m.times)-1].Sub(m.times[0]).Seconds()
	if span <= 0 {
		return 0
	}
	return float64(len(m.times)-1) / span
}
