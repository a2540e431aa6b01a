package headless

import (
	"sync"
	"time"

	"github.com/parlo-voip/parlo/callengine"
)

// eventForwarder copies the phone's events to stdout and remembers what it
// has written, so shutdown can wait until a call's onCallEnded or the
// onUnRegistered has actually reached the driver before closing the phone.
type eventForwarder struct {
	sub  *callengine.Subscription
	out  *lineWriter
	done chan struct{}

	mu         sync.Mutex
	changed    chan struct{} // closed and replaced after every event
	ended      map[string]bool
	registered bool
}

func newEventForwarder(sub *callengine.Subscription, out *lineWriter) *eventForwarder {
	return &eventForwarder{
		sub: sub, out: out,
		done:    make(chan struct{}),
		changed: make(chan struct{}),
		ended:   map[string]bool{},
	}
}

// run forwards until the subscription's channel closes (the phone's Close
// closes it); the server owns it and waits on done.
func (f *eventForwarder) run() {
	defer close(f.done)
	for ev := range f.sub.C() {
		f.out.event(ev.Name, ev.Session, ev.Payload)
		f.mu.Lock()
		switch ev.Name {
		case callengine.EventCallEnded:
			if ev.Session != nil {
				f.ended[ev.Session.SipCallID] = true
			}
		case callengine.EventRegistered:
			f.registered = true
		case callengine.EventUnregistered:
			f.registered = false
		}
		close(f.changed)
		f.changed = make(chan struct{})
		f.mu.Unlock()
	}
}

// waitEnded waits until onCallEnded of every id has been written, or
// timeout; it reports whether they all were.
func (f *eventForwarder) waitEnded(ids []string, timeout time.Duration) bool {
	return f.waitUntil(func() bool {
		for _, id := range ids {
			if !f.ended[id] {
				return false
			}
		}
		return true
	}, timeout)
}

// waitUnregistered waits until onUnRegistered has been written (or timeout).
func (f *eventForwarder) waitUnregistered(timeout time.Duration) bool {
	return f.waitUntil(func() bool { return !f.registered }, timeout)
}

// waitUntil polls cond (called under mu) after every forwarded event.
func (f *eventForwarder) waitUntil(cond func() bool, timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		f.mu.Lock()
		ok := cond()
		ch := f.changed
		f.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-f.done:
			return false
		case <-t.C:
			return false
		}
	}
}
