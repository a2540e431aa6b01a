package audio

import "sync"

// pcmRing is a bounded FIFO of samples between a device callback thread and
// the media goroutine. Writes never block: when full, the oldest samples are
// overwritten, which keeps latency bounded if the consumer falls behind.
type pcmRing struct {
	mu      sync.Mutex
	buf     []int16
	r, n    int // read index, samples held
	dropped uint64
}

func newPCMRing(capacity int) *pcmRing {
	return &pcmRing{buf: make([]int16, capacity)}
}

// write appends samples, overwriting the oldest when full.
func (p *pcmRing) write(s []int16) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := len(p.buf)
	if len(s) > c {
		p.dropped += uint64(len(s) - c)
		s = s[len(s)-c:]
	}
	if over := p.n + len(s) - c; over > 0 {
		p.r = (p.r + over) % c
		p.n -= over
		p.dropped += uint64(over)
	}
	w := (p.r + p.n) % c
	k := copy(p.buf[w:], s)
	copy(p.buf, s[k:])
	p.n += len(s)
}

// read moves up to len(dst) samples into dst and returns how many.
func (p *pcmRing) read(dst []int16) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.readLocked(dst)
}

// readFull moves exactly len(dst) samples into dst if that many are held,
// else leaves the ring alone and returns false.
func (p *pcmRing) readFull(dst []int16) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n < len(dst) {
		return false
	}
	p.readLocked(dst)
	return true
}

func (p *pcmRing) readLocked(dst []int16) int {
	c := len(p.buf)
	m := min(len(dst), p.n)
	k := copy(dst[:m], p.buf[p.r:min(c, p.r+m)])
	copy(dst[k:m], p.buf[:m-k])
	p.r = (p.r + m) % c
	p.n -= m
	return m
}

// trim drops the oldest samples so that at most keep remain.
func (p *pcmRing) trim(keep int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if over := p.n - keep; over > 0 {
		p.r = (p.r + over) % len(p.buf)
		p.n = keep
		p.dropped += uint64(over)
	}
}

func (p *pcmRing) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}
