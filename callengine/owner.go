package callengine

import (
	"context"
	"sync"
	"time"
)

// goOwner owns a set of goroutines: it starts them, refuses new ones once
// closed, and waits for them. Every goroutine a call starts (the dialer,
// ICE restarts, monitoring, transfers, shares) is owned by the call's
// goOwner and by the phone's, so that Hangup returns only once the call's
// goroutines are gone and Phone.Close only once every call's are.
//
// A plain sync.WaitGroup is not enough: Add must not race with Wait when
// the counter is zero, and a late SIP request may try to start a goroutine
// for a call that is ending. closed makes that start a no-op.
type goOwner struct {
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

// goRun starts f unless the owner is closed.
func (o *goOwner) goRun(f func()) {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return
	}
	o.wg.Add(1)
	o.mu.Unlock()
	go func() {
		defer o.wg.Done()
		f()
	}()
}

// close refuses new goroutines; the running ones go on.
func (o *goOwner) close() {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
}

// wait blocks until every goroutine started so far has returned. Called
// from a goroutine the owner runs, it would wait for itself: callers are
// the public API (Hangup, Close), never the call's own goroutines.
func (o *goOwner) wait() { o.wg.Wait() }

// goCall runs f as a goroutine of call c: owned by the call and by the
// phone. After the call ended (or the phone closed) f does not run; every
// such f must stop when c.done closes or the phone's context ends.
func (c *call) goCall(f func()) {
	po, co := &c.p.callOwner, &c.owner
	po.mu.Lock()
	co.mu.Lock()
	if po.closed || co.closed {
		co.mu.Unlock()
		po.mu.Unlock()
		return
	}
	po.wg.Add(1)
	co.wg.Add(1)
	co.mu.Unlock()
	po.mu.Unlock()
	go func() {
		defer po.wg.Done()
		defer co.wg.Done()
		f()
	}()
}

// callContext is a context for one request of call c: it ends after
// timeout, with the phone, or when the call ends, so that Hangup never
// waits for a request to a peer that is gone.
func (c *call) callContext(timeout time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(c.p.ctx, timeout)
	go func() { // lives no longer than ctx, which the caller cancels
		select {
		case <-c.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}
