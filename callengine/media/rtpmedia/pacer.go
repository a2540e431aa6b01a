package rtpmedia

import (
	"sync"
	"time"
)

// pacingFactor is the pacer's rate over the encoder's target while nothing
// says the path is slower: libwebrtc's 2.5, so an encoder's overshoot (a
// scene change, a keyframe of 3x an average frame) costs no frame rate.
//
// congestedPacingFactor takes over once the path has shown it is the
// bottleneck (the estimate came down: a queue built or packets were lost).
// A delay-based estimate sits just under the bottleneck's rate (GCC backs
// off to 0.85 of what arrived, draft-ietf-rmcat-gcc-02 §5.5), and a text
// page's keyframe is tens of kilobytes whatever the target: sent at 2.5x
// it overflows a bottleneck queue of a few kilobytes and loses its tail, a
// loss the receiver cannot even NACK until the next frame shows the gap.
// At 1.2x the keyframe leaves at about the path's rate and the capture
// waits, which is what lowers the frame rate before the picture's quality.
const (
	pacingFactor          = 2.5
	congestedPacingFactor = 1.2
)

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
	mu        sync.Mutex
	kbps      int
	congested bool
	rate      float64 // bytes per second
	tokens    float64
	last      time.Time
	sleep     func(time.Duration)
	now       func() time.Time
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
	p.kbps = kbps
	p.setRate()
}

// SetCongested switches between pacingFactor and congestedPacingFactor.
func (p *Pacer) SetCongested(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.congested = on
	p.setRate()
}

// setRate runs with mu held.
func (p *Pacer) setRate() {
	if p.rate > 0 {
		p.refill(p.now())
	}
	f := pacingFactor
	if p.congested {
		f = congestedPacingFactor
	}
	p.rate = float64(p.kbps) * 1000 / 8 * f
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
