package callengine

import (
	"sync"

	"github.com/parlo-voip/parlo/callengine/share"
)

// shareRegistry knows which screen senders are capturing right now. It is
// the truth a sharing indicator must follow: a sender enters it before its
// capture starts and leaves it only after its capture goroutine has ended,
// so no frame is ever captured while it says "not sharing". Events about
// sharing can be late (a front end that lags); this state cannot.
type shareRegistry struct {
	mu      sync.Mutex
	senders map[*share.Sender]shareEntry
	// changed is signalled (coalesced, never blocking) on every change.
	changed chan struct{}
	once    sync.Once
}

type shareEntry struct {
	callID  string
	monitor string
}

func (r *shareRegistry) init() {
	r.once.Do(func() {
		r.senders = map[*share.Sender]shareEntry{}
		r.changed = make(chan struct{}, 1)
	})
}

func (r *shareRegistry) add(s *share.Sender, e shareEntry) {
	r.init()
	r.mu.Lock()
	r.senders[s] = e
	r.mu.Unlock()
	r.signal()
}

func (r *shareRegistry) remove(s *share.Sender) {
	r.init()
	r.mu.Lock()
	_, ok := r.senders[s]
	delete(r.senders, s)
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
	out := make(map[string]string, len(r.senders))
	for _, e := range r.senders {
		out[e.callID] = e.monitor
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
