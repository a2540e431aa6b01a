package rtpmedia

import (
	"sync"
	"time"
)

// pacingFactor is the pacer's rate over the encoder's target. libwebrtc
// paces video at 2.5 times its target, with a delay-based estimate that
// sees a queue build; ours is loss-based (receiver reports), so the pacer
// stays near the target: a burst well above the estimate would overflow a
// bottleneck's queue and lose the tail of a frame, a loss the receiver
// reports cannot show (RFC 3550 §6.4.1 counts losses up to the highest
// sequence number received only).
const pacingFactor = 2.5

// pacerBurst is the time's worth of bytes the pacer lets out at once, as
// libwebrtc's pacer does in its 5 ms processing interval.
const pacerBurst = 5 * time.Millisecond

// minPacerBurstBytes lets at least two full-size packets through together.
const minPacerBurstBytes = 2 * 1200

// Pacer spreads a frame's packets over time at a rate that follows the
// encoder's target (a token bucket, RFC 2698's single-rate idea), so a
// keyframe of a text page (tens of kilobytes) reaches a slow link as a
// stream it can queue rather than a burst it drops. Wait blocks the
// sending goroutine (the capture's), which is what lowers the frame rate
// before the picture's resolution or quality on a slow link.
type Pacer struct {
	mu     sync.Mutex
	rate   float64 // bytes per second
	tokens float64
	last   time.Time
	sleep  func(time.Duration)
	now    func() time.Time
}

// NewPacer makes a pacer for an encoder target of kbps.
func NewPacer(kbps int) *Pacer {
	p := &Pacer{sleep: time.Sleep, now: time.Now}
	p.SetTarget(kbps)
	p.tokens = p.burst()
	return p
}

// SetTarget follows a new encoder target; the time until now is credited
// at the old rate.
func (p *Pacer) SetTarget(kbps int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rate > 0 {
		p.refill(p.now())
	}
	p.rate = float64(kbps) * 1000 / 8 * pacingFactor
}

func (p *Pacer) refill(now time.Time) {
	if !p.last.IsZero() {
		p.tokens = min(p.tokens+now.Sub(p.last).Seconds()*p.rate, p.burst())
	}
	p.last = now
}

func (p *Pacer) burst() float64 {
	return max(p.rate*pacerBurst.Seconds(), minPacerBurstBytes)
}

// Wait returns when n more bytes may leave.
func (p *Pacer) Wait(n int) {
	p.mu.Lock()
	p.refill(p.now())
	p.tokens -= float64(n)
	var wait time.Duration
	if p.tokens < 0 {
		wait = time.Duration(-p.tokens / p.rate * float64(time.Second))
	}
	p.mu.Unlock()
	if wait > 0 {
		p.sleep(wait)
	}
}
