package audio

import (
	"slices"
	"time"
)

// delayWindow is how far back the estimator looks: long enough to see the
// spread of a jittery path, short enough that the delay comes back down a
// few seconds after the jitter ends.
const delayWindow = 2 * time.Second

// spreadOutliers is how many of the latest packets of the window (at most
// one in twenty) the spread leaves out.
const spreadOutliers = 2

// delaySample is one packet's arrival against its RTP timestamp.
type delaySample struct {
	at  time.Time
	rel time.Duration // arrival minus media time, against the first packet
}

// delayEstimator measures the spread of one stream's transit delay: for
// each packet, arrival time minus media time (its RTP timestamp over the
// clock rate), as RFC 3550 §6.4.1 does for interarrival jitter. The spread
// (latest minus earliest over the window) is the playout delay that would
// have caught every packet. Media time, not the sequence number, so the
// gaps of DTX (RFC 7587 §3.1.3) are not taken for delay.
type delayEstimator struct {
	clock   int
	started bool
	t0      time.Time
	ts0     uint32
	samples []delaySample // oldest first, within delayWindow
	sorted  []time.Duration
}

func (e *delayEstimator) reset() {
	e.started = false
	e.samples = e.samples[:0]
}

// add notes a packet with RTP timestamp ts arriving at now.
func (e *delayEstimator) add(now time.Time, ts uint32) {
	if e.clock <= 0 {
		return
	}
	if !e.started {
		e.started, e.t0, e.ts0 = true, now, ts
	}
	media := time.Duration(int32(ts-e.ts0)) * time.Second / time.Duration(e.clock)
	e.samples = append(e.samples, delaySample{at: now, rel: now.Sub(e.t0) - media})
	i := 0
	for i < len(e.samples) && now.Sub(e.samples[i].at) > delayWindow {
		i++
	}
	e.samples = append(e.samples[:0], e.samples[i:]...)
}

// spread is the delay between the earliest packet of the window and the
// latest but the spreadOutliers latest, relative to their media time: one
// packet held up by a stall (a scheduler hiccup, a GC pause on either end)
// must not set the delay of the next two seconds.
func (e *delayEstimator) spread() time.Duration {
	if len(e.samples) < 2 {
		return 0
	}
	rel := e.sorted[:0]
	for _, s := range e.samples {
		rel = append(rel, s.rel)
	}
	slices.Sort(rel)
	e.sorted = rel
	hi := len(rel) - 1 - min(spreadOutliers, len(rel)/20)
	return rel[hi] - rel[0]
}
