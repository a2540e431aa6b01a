package rtpmedia

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/pion/interceptor/pkg/report"
)

// reportTicker fires at intervals drawn uniformly from [0.5, 1.5] times its
// mean, as RFC 3550 §6.3.1 asks of RTCP transmission times "to avoid
// unintended synchronization" between participants.
//
// Synchronization is not only a scaling problem on a two-party line: with a
// fixed period our sender reports and the peer's receiver reports keep the
// phase they started with. When the peer's report goes out within 1/65536 s
// of receiving our SR, its DLSR (§6.4.1) is 0, which pion's stats treat as
// "no SR received", and a fixed phase makes that true of every report for
// the whole call: no round-trip time ever. A random draw per report breaks
// the lock after one interval.
type reportTicker struct {
	mean time.Duration
	c    chan time.Time

	mu      sync.Mutex
	timer   *time.Timer
	stopped bool
}

// NewReportTicker is a report.TickerFactory (report.SenderTicker) whose
// ticks come at random waits around mean.
func NewReportTicker(mean time.Duration) report.Ticker {
	t := &reportTicker{mean: mean, c: make(chan time.Time, 1)}
	t.mu.Lock()
	t.timer = time.AfterFunc(t.next(), t.fire)
	t.mu.Unlock()
	return t
}

// next draws the wait before the next report.
func (t *reportTicker) next() time.Duration {
	return t.mean/2 + rand.N(t.mean+1)
}

func (t *reportTicker) fire() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	// Like time.Ticker, drop a tick the reader has not taken yet.
	select {
	case t.c <- time.Now():
	default:
	}
	t.timer.Reset(t.next())
}

// Ch delivers the ticks.
func (t *reportTicker) Ch() <-chan time.Time { return t.c }

// Stop ends the ticks; it may be called more than once.
func (t *reportTicker) Stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped = true
	t.timer.Stop()
}
