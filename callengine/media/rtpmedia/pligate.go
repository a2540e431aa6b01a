package rtpmedia

import (
	"sync"
	"time"
)

// MinPLIInterval spaces our keyframe requests: a burst of loss must not
// make the sender encode a keyframe per lost packet (RFC 4585 §3.4 leaves
// the rate to the application; 300 ms is about one round trip plus a
// keyframe's encode time).
const MinPLIInterval = 300 * time.Millisecond

// PLIGate throttles the PLIs one session sends for the peer's video.
type PLIGate struct {
	mu   sync.Mutex
	last time.Time
}

// Allow reports whether a PLI may go out now, and if so counts it as sent.
func (g *PLIGate) Allow() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := time.Now()
	if now.Sub(g.last) < MinPLIInterval {
		return false
	}
	g.last = now
	return true
}
