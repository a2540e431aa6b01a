package bench

import (
	"sort"
	"sync"
	"time"
)

// BarcodeLog records when each barcode value was painted on the sending
// screen and when it first appeared on the receiving one. Safe for
// concurrent use.
type BarcodeLog struct {
	mu    sync.Mutex
	paint map[uint32]time.Time
	seen  map[uint32]time.Time
}

func (l *BarcodeLog) painted(v uint32, t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.paint == nil {
		l.paint = map[uint32]time.Time{}
	}
	l.paint[v] = t
}

// Seen records that v was read at t on the receiving screen; only the
// first sighting counts.
func (l *BarcodeLog) Seen(v uint32, t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil {
		l.seen = map[uint32]time.Time{}
	}
	if _, ok := l.seen[v]; !ok {
		l.seen[v] = t
	}
}

// BarcodeLatency is the outcome of the changes painted in a window.
type BarcodeLatency struct {
	// Millis holds, per change, the time from its paint until the
	// receiving screen first showed it or a later value (a viewer that
	// skips a frame shows the newer state, which is when the user sees the
	// change), in paint order. A lost change counts with the time until
	// the wait for it ended: a lower bound.
	Millis  []float64
	Painted int // changes painted in the window
	Skipped int // of those, changes never shown themselves (a later value came first)
	Lost    int // changes after which nothing as new was shown before the wait ended
	Bogus   int // values read that were never painted (must be 0)
}

// Window returns the latencies of the changes painted in [from, to), as
// far as the receiving screen had shown them by until.
func (l *BarcodeLog) Window(from, to, until time.Time) BarcodeLatency {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out BarcodeLatency
	var maxV uint32
	for v := range l.seen {
		if _, ok := l.paint[v]; !ok {
			out.Bogus++
		}
		maxV = max(maxV, v)
	}
	for v := range l.paint {
		maxV = max(maxV, v)
	}
	// firstAtLeast[v]: when any value ≥ v was first seen (values are
	// painted 1, 2, 3, …, so "≥ v" is "as new as v or newer").
	firstAtLeast := make([]time.Time, maxV+2)
	for v := int(maxV); v >= 1; v-- {
		t := firstAtLeast[v+1]
		if s, ok := l.seen[uint32(v)]; ok && (t.IsZero() || s.Before(t)) {
			t = s
		}
		firstAtLeast[v] = t
	}
	var painted []time.Time // to order Millis
	for v, p := range l.paint {
		if p.Before(from) || !p.Before(to) {
			continue
		}
		out.Painted++
		painted = append(painted, p)
		s := firstAtLeast[v]
		if s.IsZero() || s.After(until) {
			out.Lost++
			out.Millis = append(out.Millis, float64(until.Sub(p).Microseconds())/1000)
			continue
		}
		if _, ok := l.seen[v]; !ok {
			out.Skipped++
		}
		out.Millis = append(out.Millis, float64(s.Sub(p).Microseconds())/1000)
	}
	sort.Sort(byTime{painted, out.Millis})
	return out
}

// LastPaintedBefore is the newest value painted before t (0 for none).
func (l *BarcodeLog) LastPaintedBefore(t time.Time) uint32 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var last uint32
	for v, p := range l.paint {
		if p.Before(t) && v > last {
			last = v
		}
	}
	return last
}

// ShownAtLeast reports whether v or a newer value has been seen.
func (l *BarcodeLog) ShownAtLeast(v uint32) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for s := range l.seen {
		if s >= v {
			return true
		}
	}
	return false
}

// byTime sorts latencies by their paint times.
type byTime struct {
	t  []time.Time
	ms []float64
}

func (b byTime) Len() int           { return len(b.t) }
func (b byTime) Less(i, j int) bool { return b.t[i].Before(b.t[j]) }
func (b byTime) Swap(i, j int) {
	b.t[i], b.t[j] = b.t[j], b.t[i]
	b.ms[i], b.ms[j] = b.ms[j], b.ms[i]
}

// Halves returns the median latency of the first and the second half of
// the changes (in paint order): a backlog that builds up shows as a
// second half slower than the first.
func (l BarcodeLatency) Halves() (first, second float64) {
	n := len(l.Millis)
	if n < 2 {
		return 0, 0
	}
	return Median(l.Millis[:n/2]), Median(l.Millis[n/2:])
}
