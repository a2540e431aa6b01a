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
	Millis  []float64 // seen − painted, one per change that appeared, in paint order
	Painted int       // changes painted in the window (and old enough to have arrived)
	Missed  int       // painted but never read on the receiving screen
	Bogus   int       // values read that were never painted (must be 0)
}

// Window returns the latencies of the changes painted in [from, to).
// A change still unseen is counted as missed only if it was painted more
// than grace before the last sighting overall, so a change in flight at
// the end of the window is not a miss.
func (l *BarcodeLog) Window(from, to time.Time, grace time.Duration) BarcodeLatency {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out BarcodeLatency
	var last time.Time
	for v, t := range l.seen {
		if t.After(last) {
			last = t
		}
		if _, ok := l.paint[v]; !ok {
			out.Bogus++
		}
	}
	var shown []time.Time // paint times of the changes seen, to order Millis
	for v, p := range l.paint {
		if p.Before(from) || !p.Before(to) {
			continue
		}
		s, ok := l.seen[v]
		switch {
		case ok:
			out.Painted++
			shown = append(shown, p)
			out.Millis = append(out.Millis, float64(s.Sub(p).Microseconds())/1000)
		case p.Add(grace).Before(last):
			out.Painted++
			out.Missed++
		}
	}
	sort.Sort(byTime{shown, out.Millis})
	return out
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
