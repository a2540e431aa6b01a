package callengine

import (
	"net"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxTrackedSources bounds the per-source table: a spoofed-source flood
// must not grow it without end. Beyond it, sources idle for a while are
// forgotten; if none is, new sources share one overflow bucket.
const maxTrackedSources = 4096

// sourceIdle is how long a source must be quiet before its bucket may be
// forgotten (a full bucket then equals a fresh one).
const sourceIdle = time.Minute

// sourceLimiter is a token bucket per source IP address for requests that
// start something new (out-of-dialog requests: INVITE, MESSAGE, OPTIONS…),
// so one stranger cannot make the phone ring, log or allocate for 300
// requests in a second. Requests within an established dialog are not
// counted: they are matched to a dialog first and cost little.
type sourceLimiter struct {
	limit rate.Limit
	burst int

	mu       sync.Mutex
	sources  map[string]*sourceBucket
	overflow *rate.Limiter
}

type sourceBucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// newSourceLimiter allows perSecond requests per source with bursts of
// burst; perSecond < 0 disables the limit (nil limiter).
func newSourceLimiter(perSecond float64, burst int) *sourceLimiter {
	if perSecond < 0 {
		return nil
	}
	return &sourceLimiter{
		limit:    rate.Limit(perSecond),
		burst:    burst,
		sources:  map[string]*sourceBucket{},
		overflow: rate.NewLimiter(rate.Limit(perSecond), burst),
	}
}

// allow takes one token for the request's source address ("ip:port").
func (l *sourceLimiter) allow(source string) bool {
	if l == nil {
		return true
	}
	ip := source
	if h, _, err := net.SplitHostPort(source); err == nil {
		ip = h
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	// The clock is read under the lock: handlers run concurrently, and a
	// bucket fed times out of order refills twice for the same interval.
	now := time.Now()
	b := l.sources[ip]
	if b == nil {
		if len(l.sources) >= maxTrackedSources {
			l.forgetIdle(now)
		}
		if len(l.sources) >= maxTrackedSources {
			return l.overflow.AllowN(now, 1)
		}
		b = &sourceBucket{lim: rate.NewLimiter(l.limit, l.burst)}
		l.sources[ip] = b
	}
	b.seen = now
	return b.lim.AllowN(now, 1)
}

func (l *sourceLimiter) forgetIdle(now time.Time) {
	for ip, b := range l.sources {
		if now.Sub(b.seen) > sourceIdle {
			delete(l.sources, ip)
		}
	}
}
