package callengine

import (
	"sync"
	"sync/atomic"
	"time"
)

// maxQueuedEvents bounds one subscriber's backlog. Past it, new events are
// dropped and counted: a stuck subscriber must never stall SIP handling.
// Events a front end must never miss (lossless) are kept even then: they
// push out the oldest droppable event instead.
const maxQueuedEvents = 4096

// lossless reports whether an event may never be dropped: the screen-share
// events (an indicator that missed one could hide a running capture or show
// a stopped one) and a call's end (a front end that missed it would keep a
// ghost call). They are few (at most a handful per call), while what
// floods a queue (MESSAGE, DTMF, progress) is droppable.
func lossless(name string) bool {
	switch name {
	case EventScreenShareStarted, EventScreenShareEnding, EventScreenShareEnded,
		EventCallEnded, EventCallRejected, EventCallCanceled, EventCallError:
		return true
	}
	return false
}

// Subscription delivers the phone's events, in emission order, on C().
// Each subscription has its own queue and pump goroutine, so a slow consumer
// only delays itself.
type Subscription struct {
	ch       chan Event
	draining chan struct{} // closed by the phone's Close: deliver what is queued, then stop
	mu       sync.Mutex
	queue    []Event
	wake     chan struct{}
	done     chan struct{}
	closed   atomic.Bool
	dropped  atomic.Uint64
	bus      *eventBus
	stopped  chan struct{}
}

// C is the channel of events. It is closed after Close (or the phone's
// Close) once the pump stops.
func (s *Subscription) C() <-chan Event { return s.ch }

// Dropped is the number of events lost because the subscriber lagged more
// than maxQueuedEvents behind.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Close stops delivery; idempotent.
func (s *Subscription) Close() {
	if s.closed.CompareAndSwap(false, true) {
		close(s.done)
		s.bus.remove(s)
	}
	<-s.stopped
}

func (s *Subscription) push(ev Event) {
	if s.closed.Load() {
		return
	}
	s.mu.Lock()
	if len(s.queue) >= maxQueuedEvents {
		if !lossless(ev.Name) {
			s.mu.Unlock()
			s.dropped.Add(1)
			return
		}
		// With nothing droppable left to evict, a lossless event is queued
		// past the bound: there are at most a few per call.
		s.evictLocked()
	}
	s.queue = append(s.queue, ev)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// evictLocked drops the oldest droppable event to make room for a lossless
// one, and reports whether there was one. queue[0] is never evicted: the
// pump may be delivering it.
func (s *Subscription) evictLocked() bool {
	for i := 1; i < len(s.queue); i++ {
		if !lossless(s.queue[i].Name) {
			copy(s.queue[i:], s.queue[i+1:])
			s.queue[len(s.queue)-1] = Event{}
			s.queue = s.queue[:len(s.queue)-1]
			s.dropped.Add(1)
			return true
		}
	}
	return false
}

// pump moves queued events to the channel one at a time, so the queue's
// length is the real backlog that maxQueuedEvents bounds; it owns s.ch.
func (s *Subscription) pump() {
	defer close(s.stopped)
	defer close(s.ch)
	for {
		s.mu.Lock()
		if len(s.queue) > 0 {
			ev := s.queue[0]
			s.mu.Unlock()
			select {
			case s.ch <- ev:
			case <-s.done:
				return
			}
			s.mu.Lock()
			s.queue[0] = Event{}
			s.queue = s.queue[1:]
			s.mu.Unlock()
			continue
		}
		s.mu.Unlock()
		select {
		case <-s.wake:
		case <-s.done:
			return
		case <-s.draining:
			// Queue empty and the phone is closed: nothing more will come.
			s.mu.Lock()
			empty := len(s.queue) == 0
			s.mu.Unlock()
			if empty {
				return
			}
		}
	}
}

// eventBus fans events out to subscriptions.
type eventBus struct {
	mu   sync.Mutex
	subs map[*Subscription]struct{}
}

func newEventBus() *eventBus { return &eventBus{subs: map[*Subscription]struct{}{}} }

func (b *eventBus) subscribe() *Subscription {
	s := &Subscription{
		ch:       make(chan Event),
		draining: make(chan struct{}),
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
		stopped:  make(chan struct{}),
		bus:      b,
	}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	go s.pump()
	return s
}

func (b *eventBus) remove(s *Subscription) {
	b.mu.Lock()
	delete(b.subs, s)
	b.mu.Unlock()
}

// emit never blocks. Holding b.mu while pushing keeps one global order of
// events across subscribers.
func (b *eventBus) emit(ev Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		s.push(ev)
	}
}

// closeAll ends every subscription after it delivered what was queued
// (the last onCallEnded and onUnRegistered of a Close must reach the
// subscriber), waiting at most drainTimeout for a subscriber that stopped
// reading.
func (b *eventBus) closeAll() {
	b.mu.Lock()
	subs := make([]*Subscription, 0, len(b.subs))
	for s := range b.subs {
		subs = append(subs, s)
	}
	b.mu.Unlock()
	for _, s := range subs {
		close(s.draining)
	}
	deadline := time.After(drainTimeout)
	for _, s := range subs {
		select {
		case <-s.stopped:
		case <-deadline:
		}
		s.Close()
	}
}

// drainTimeout bounds how long Close waits for subscribers to take their
// last events.
const drainTimeout = 2 * time.Second
