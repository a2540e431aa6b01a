package callengine

import (
	"context"
	"fmt"
	"time"
)

// EndResumeFailed means that after the machine slept the call's session refresh
// failed: the peer or the path is gone.
const EndResumeFailed EndReason = "resume-failed"

const (
	// clockPollInterval is how often wall and monotonic time are compared.
	clockPollInterval = time.Second
	// sleepThreshold is the smallest wall-clock jump taken for a sleep:
	// over any scheduling delay of a loaded machine.
	sleepThreshold = 5 * time.Second
	// resumeRefreshTimeout bounds a call's refresh after a sleep.
	resumeRefreshTimeout = 5 * time.Second
)

// watchClock notices the machine waking up. Go's monotonic clock is
// CLOCK_MONOTONIC on Linux, which stops while the machine is suspended;
// the wall clock does not. A tick whose wall-clock step exceeds its
// monotonic step by more than sleepThreshold follows a sleep (or a wall
// clock set forward, where re-registering does no harm). Owned by the
// phone (p.wg), stopped by Close.
func (p *Phone) watchClock() {
	defer p.wg.Done()
	t := time.NewTicker(clockPollInterval)
	defer t.Stop()
	prev := time.Now()
	prevWall := p.wallNow(prev)
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-t.C:
			now := time.Now() // the tick's time may be stale under load
			wall := p.wallNow(now)
			gap := wall.Sub(prevWall) - now.Sub(prev)
			prev, prevWall = now, wall
			if gap > sleepThreshold {
				p.onResume(gap)
			}
		}
	}
}

// wallNow is t's wall-clock reading (monotonic part stripped), shifted by
// the test hook clockSkew.
func (p *Phone) wallNow(t time.Time) time.Time {
	return t.Round(0).Add(time.Duration(p.clockSkew.Load()))
}

// onResume re-registers at once (the registrar may have dropped us, the
// NAT binding surely expired) and refreshes every established call: a
// session refresh (RFC 4028 §7.4; a re-INVITE when no timer was
// negotiated) that, when it fails, ends the call with EndResumeFailed
// rather than leaving a dead call on screen.
func (p *Phone) onResume(gap time.Duration) {
	p.log.Info("the machine slept; re-registering and refreshing calls", "slept", gap.Round(time.Second))
	p.mu.Lock()
	reg := p.reg
	calls := make([]*call, 0, len(p.calls))
	for _, c := range p.calls {
		calls = append(calls, c)
	}
	p.mu.Unlock()
	if reg != nil {
		reg.reRegister()
	}
	p.emit(Event{Name: EventSystemResumed, Payload: SystemResumedPayload{SleptSeconds: int(gap / time.Second)}})
	for _, c := range calls {
		if !c.snapshot().IsEstablished() {
			continue
		}
		c.goCall(c.refreshAfterResume)
	}
}

// refreshAfterResume refreshes one call after a sleep, or ends it.
func (c *call) refreshAfterResume() {
	c.mu.Lock()
	st := c.timer
	c.mu.Unlock()
	var err error
	if st != nil {
		err = c.refreshSession(st, resumeRefreshTimeout)
		if err == nil {
			st.sent.Add(1)
			st.refreshed()
		}
	} else {
		ctx, cancel := context.WithTimeout(c.p.ctx, resumeRefreshTimeout)
		c.opMu.Lock()
		if c.snapshot().IsEstablished() {
			err = c.reinvite(ctx, localDirection(c.snapshot().Paused), nil)
		}
		c.opMu.Unlock()
		cancel()
	}
	if err != nil && c.p.ctx.Err() == nil {
		c.endWithReason(EndResumeFailed, fmt.Sprintf("refreshing the call after the machine slept: %v", err))
	}
}
