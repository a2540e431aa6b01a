package callengine

import (
	"sync"

	"github.com/parlo-voip/parlo/callengine/share"
)

// shareRegistry knows which calls' screens are captured right now. It is
// the truth a sharing indicator must follow: a sender is capturing from
// before its capture starts until after its capture goroutine has ended,
// and a call is attached to it from before its leg gets a frame until
// after its leg stopped, so no frame is ever captured for a call while it
// says "not sharing". Events about sharing can be late (a front end that
// lags); this state cannot. One sender may serve several calls (a
// conference shares one capture with each leg).
type shareRegistry struct {
	mu      sync.Mutex
	senders map[*share.Sender]*shareEntry
	// changed is signalled (coalesced, never blocking) on every change.
	changed chan struct{}
	once    sync.Once
}

type shareEntry struct {
	capturing bool
	monitor   string
	calls     map[string]bool
}

func (r *shareRegistry) init() {
	r.once.Do(func() {
		r.senders = map[*share.Sender]*shareEntry{}
		r.changed = make(chan struct{}, 1)
	})
}

// entry returns s's entry, made if new; mu is held.
func (r *shareRegistry) entry(s *share.Sender) *shareEntry {
	e := r.senders[s]
	if e == nil {
		e = &shareEntry{monitor: s.Monitor().Name, calls: map[string]bool{}}
		r.senders[s] = e
	}
	return e
}

// capturing records that s's capture started (before the first grab) or
// ended (after the last).
func (r *shareRegistry) capturing(s *share.Sender, on bool) {
	r.init()
	r.mu.Lock()
	if on {
		r.entry(s).capturing = true
	} else {
		delete(r.senders, s)
	}
	r.mu.Unlock()
	r.signal()
}

// attach lists callID as shared by s, before its leg gets a frame.
func (r *shareRegistry) attach(s *share.Sender, callID string) {
	r.init()
	r.mu.Lock()
	r.entry(s).calls[callID] = true
	r.mu.Unlock()
	r.signal()
}

// detach takes callID off s, after its leg stopped.
func (r *shareRegistry) detach(s *share.Sender, callID string) {
	r.init()
	r.mu.Lock()
	e := r.senders[s]
	ok := e != nil && e.calls[callID]
	if ok {
		delete(e.calls, callID)
		if !e.capturing && len(e.calls) == 0 {
			delete(r.senders, s) // a share that never started
		}
	}
	r.mu.Unlock()
	if ok {
		r.signal()
	}
}

func (r *shareRegistry) signal() {
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// snapshot maps call IDs to the monitor each one captures.
func (r *shareRegistry) snapshot() map[string]string {
	r.init()
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]string{}
	for _, e := range r.senders {
		if !e.capturing {
			continue
		}
		for id := range e.calls {
			out[id] = e.monitor
		}
	}
	return out
}

// ScreenSharing returns the calls whose screen is being captured right now,
// each with the name of its monitor. It is derived from the capture itself
// (a call is listed from before its first frame is grabbed until after its
// last), not from events, so a front end that re-reads it can never show
// "not sharing" while frames are captured, even if it lost events.
func (p *Phone) ScreenSharing() map[string]string { return p.shares.snapshot() }

// Sharing reports whether callID's screen is being captured right now, and
// which monitor (see ScreenSharing).
func (p *Phone) Sharing(callID string) (monitor string, capturing bool) {
	monitor, capturing = p.shares.snapshot()[callID]
	return monitor, capturing
}

// ScreenSharingChanged is signalled (coalesced: one pending signal stands
// for any number of changes) whenever ScreenSharing changes. Unlike the
// event bus it cannot lose a change: its reader re-reads ScreenSharing.
// It has room for one reader (the GUI); others poll ScreenSharing.
func (p *Phone) ScreenSharingChanged() <-chan struct{} {
	p.shares.init()
	return p.shares.changed
}
