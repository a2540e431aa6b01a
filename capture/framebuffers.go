package capture

import (
	"sync"
	"time"
)

// FrameBuffers keeps what a damage-driven monitor Source that ended had
// set up, for the next Source on the same display: its picture buffers
// (the damage mirror and the I420 picture, 11 MB at 1080p) and its
// display connection with its shared-memory segment and damage tracking
// (8 MB more, mapped by us and by the X server). Memory a process has
// touched before is fast to touch again; fresh memory is not on a virtual
// machine (20–70 µs for the first touch of each 4-kB page on the test VM):
// a fresh segment, written by the server and read by us, and fresh buffers
// delayed a share's first frame by 100 ms and more. A parked connection
// grabs nothing; its damage events (one at most: NonEmpty reporting) are
// drained by its event pump. The owner releases everything with Drop.
// Safe for concurrent use; the zero value is empty and ready.
type FrameBuffers struct {
	mu     sync.Mutex
	mirror []byte
	img    *I420
	g      grabber // a damage-tracking root grabber, parked
	disp   string  // g's display
	since  time.Time
	closed bool
}

// takeGrabber hands out the parked grabber of display, if there is one.
func (b *FrameBuffers) takeGrabber(display string) grabber {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.g == nil || b.disp != display {
		return nil
	}
	g := b.g
	b.g = nil
	return g
}

// putGrabber parks g (a damage-tracking root grabber of display); false
// when the caller must close it itself.
func (b *FrameBuffers) putGrabber(display string, g grabber) bool {
	if b == nil {
		return false
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return false
	}
	old := b.g
	b.g, b.disp, b.since = g, display, time.Now()
	b.mu.Unlock()
	if old != nil {
		_ = old.Close()
	}
	return true
}

// take hands out the kept buffers for a w x h capture (nil when none fit);
// they are the caller's until it puts them back.
func (b *FrameBuffers) take(w, h int) (mirror []byte, img *I420) {
	if b == nil {
		return nil, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.mirror) == w*h*4 {
		mirror = b.mirror
	}
	if b.img != nil && b.img.Width == w && b.img.Height == h {
		img = b.img
	}
	b.mirror, b.img = nil, nil
	return mirror, img
}

// put keeps a finished capture's buffers, replacing older ones.
func (b *FrameBuffers) put(mirror []byte, img *I420) {
	if b == nil || (mirror == nil && img == nil) {
		return
	}
	b.mu.Lock()
	if !b.closed {
		b.mirror, b.img, b.since = mirror, img, time.Now()
	}
	b.mu.Unlock()
}

// Drop releases the buffers kept for at least idle (all of them when idle
// is 0).
func (b *FrameBuffers) Drop(idle time.Duration) {
	if b == nil {
		return
	}
	var g grabber
	b.mu.Lock()
	if time.Since(b.since) >= idle {
		b.mirror, b.img = nil, nil
		g, b.g = b.g, nil
	}
	b.mu.Unlock()
	if g != nil {
		_ = g.Close()
	}
}

// Close releases everything and keeps nothing handed back later.
// Idempotent.
func (b *FrameBuffers) Close() {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.Drop(0)
}

// Kept reports whether buffers are kept.
func (b *FrameBuffers) Kept() bool {
	if b == nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.mirror != nil || b.img != nil || b.g != nil
}
