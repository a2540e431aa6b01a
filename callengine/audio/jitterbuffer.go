package audio

import (
	"sync"
	"time"
)

// Defaults for NewJitterBuffer.
const (
	DefaultJitterTarget = 60 * time.Millisecond
	// DefaultMaxPayload bounds one stored payload: an RTP packet in a
	// 1500-byte Ethernet MTU cannot carry more.
	DefaultMaxPayload = 1500
)

// JitterOption configures a JitterBuffer.
type JitterOption func(*jitterConfig)

type jitterConfig struct {
	target     time.Duration
	maxDelay   time.Duration
	frame      time.Duration
	maxPayload int
	adaptMin   time.Duration
	adaptMax   time.Duration
	clock      int
	now        func() time.Time
}

// WithAdaptiveDelay makes the target delay follow the network: it grows at
// once to the spread of the packets' transit delay over the last two
// seconds plus one frame (inserting concealed frames to build the depth),
// and comes back down a frame every half second once the spread has
// shrunk (dropping a buffered packet each time), within [lo, hi]. The
// target of WithTargetDelay is where it starts.
func WithAdaptiveDelay(lo, hi time.Duration) JitterOption {
	return func(c *jitterConfig) { c.adaptMin, c.adaptMax = lo, hi }
}

// WithClockRate sets the RTP clock rate of the stream's timestamps, which
// adaptation measures delay against. Default 48000 (Opus).
func WithClockRate(hz int) JitterOption {
	return func(c *jitterConfig) { c.clock = hz }
}

// withNow replaces the wall clock (tests).
func withNow(now func() time.Time) JitterOption {
	return func(c *jitterConfig) { c.now = now }
}

// WithTargetDelay sets the playout delay the buffer fills to before it starts
// (and restarts after an underrun) playing. Default 60 ms.
func WithTargetDelay(d time.Duration) JitterOption {
	return func(c *jitterConfig) { c.target = d }
}

// WithMaxDelay sets the delay above which the buffer discards its oldest
// packets to fall back to the target delay, so a burst after a network stall
// does not leave the call permanently late. Default three times the target.
func WithMaxDelay(d time.Duration) JitterOption {
	return func(c *jitterConfig) { c.maxDelay = d }
}

// WithFrameDuration sets the duration of one packet (the ptime). Default 20 ms.
func WithFrameDuration(d time.Duration) JitterOption {
	return func(c *jitterConfig) { c.frame = d }
}

// WithMaxPayload sets the largest payload stored; larger ones are dropped.
func WithMaxPayload(n int) JitterOption {
	return func(c *jitterConfig) { c.maxPayload = n }
}

// JitterStats are a JitterBuffer's counters since it was created (Reset
// does not clear them).
type JitterStats struct {
	Received   uint64 // packets pushed
	Played     uint64 // packets returned by Pop
	Lost       uint64 // sequence numbers never received in time; Pop returned ok=false
	Late       uint64 // packets that arrived after their playout time
	Duplicates uint64 // packets received twice while still buffered
	Dropped    uint64 // packets discarded: too big, out of window, or trimmed to cut delay
	Underruns  uint64 // times the buffer ran empty while playing and re-buffered
	Resyncs    uint64 // times the sequence jumped and the buffer restarted on it
	Stretched  uint64 // frames held back to grow the delay (adaptive)
	Depth      int    // packets buffered now
	// Target is the playout delay the buffer holds now.
	Target time.Duration
}

type jitterSlot struct {
	seq     uint16
	ts      uint32
	payload []byte
	valid   bool
}

// JitterBuffer reorders one RTP stream's packets and releases them at a
// steady pace. The network goroutine calls Push for each packet; the playout
// goroutine calls Pop every frame duration. One pusher and one popper may
// run concurrently; both calls return at once.
//
// Playout is driven by sequence number, not timestamp: RFC 3550 §5.1 makes the
// sequence number count packets, while the timestamp jumps over silence the
// sender did not send (DTX, RFC 7587 §3.1.3), so a seq-indexed ring of
// fixed size holds exactly the packets between the next one to play and the
// newest, and memory stays bounded whatever arrives.
//
// Behaviour:
//   - Pop returns nothing until the buffer holds the target delay of packets
//     (prefill), then one packet per call.
//   - A sequence number missing at its turn while later packets are present
//     is lost: Pop returns ok=false and the caller conceals it (PLC).
//   - If the buffer runs empty while playing (the sender paused, as on hold,
//     or the network stalled), Pop returns ok=false without advancing and
//     the buffer prefills again, so the stream resumes where it left off.
//   - Packets older than the next to play are late and dropped; duplicates
//     are dropped.
//   - A packet far outside the window (more than the ring's size ahead or
//     behind) is held on probation; if the next packet continues from it the
//     buffer restarts on the new sequence (as RFC 3550 Appendix A.1 does for
//     a source that restarts), otherwise it is dropped. A stray packet thus
//     cannot derail playout. Call Reset on an SSRC change.
//   - When the buffered delay exceeds the maximum, the oldest packets are
//     discarded down to the target.
type JitterBuffer struct {
	mu         sync.Mutex
	slots      []jitterSlot
	mask       uint16
	target     int // frames
	maxDepth   int // frames
	maxPayload int

	started bool   // a packet was pushed since the last (re)start
	playing bool   // prefill done
	popped  bool   // Pop has advanced since the last (re)start
	next    uint16 // next sequence number to play
	highest uint16 // newest sequence number buffered (when count > 0)
	count   int

	probation bool
	probSeq   uint16
	probTS    uint32
	probData  []byte

	// Adaptation (WithAdaptiveDelay); adaptive is false without it.
	adaptive          bool
	frame             time.Duration
	minTarget, maxTgt int // frames
	est               delayEstimator
	now               func() time.Time
	stretch           int // pops still to hold back to grow the depth
	shrink            int // packets to skip to cut the depth
	lastShrink        time.Time

	stats JitterStats
}

// NewJitterBuffer returns an empty JitterBuffer.
func NewJitterBuffer(opts ...JitterOption) *JitterBuffer {
	cfg := jitterConfig{target: DefaultJitterTarget, frame: FrameDurationMs * time.Millisecond, maxPayload: DefaultMaxPayload}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.frame <= 0 {
		cfg.frame = FrameDurationMs * time.Millisecond
	}
	target := int((cfg.target + cfg.frame - 1) / cfg.frame)
	target = max(1, min(target, 500)) // at most 10 s of 20 ms frames
	maxDepth := 3 * target
	if cfg.maxDelay > 0 {
		maxDepth = int(cfg.maxDelay / cfg.frame)
	}
	maxDepth = max(maxDepth, target+1)
	// The ring must hold everything up to maxDepth plus packets that arrive
	// ahead before Pop trims; twice maxDepth, at least 64 (1.28 s at 20 ms).
	size := 64
	for size < 2*maxDepth {
		size *= 2
	}
	if cfg.maxPayload <= 0 {
		cfg.maxPayload = DefaultMaxPayload
	}
	j := &JitterBuffer{
		slots:      make([]jitterSlot, size),
		mask:       uint16(size - 1),
		target:     target,
		maxDepth:   maxDepth,
		maxPayload: cfg.maxPayload,
		frame:      cfg.frame,
		now:        cfg.now,
	}
	if j.now == nil {
		j.now = time.Now
	}
	if cfg.adaptMax > 0 {
		j.adaptive = true
		j.minTarget = max(1, int(cfg.adaptMin/cfg.frame))
		// The ring holds twice the largest depth allowed (Pop).
		j.maxTgt = max(j.minTarget, min(int(cfg.adaptMax/cfg.frame), len(j.slots)/4))
		j.est.clock = cfg.clock
		if j.est.clock <= 0 {
			j.est.clock = SampleRate
		}
	}
	return j
}

// SetClockRate changes the RTP clock rate adaptation measures against (the
// codec changed); the delay measurement starts again.
func (j *JitterBuffer) SetClockRate(hz int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.est.clock = hz
	j.est.reset()
}

// adapt moves the target towards the measured spread (under mu).
func (j *JitterBuffer) adapt() {
	if !j.adaptive {
		return
	}
	spread := j.est.spread()
	want := int((spread+j.frame-1)/j.frame) + 1
	want = max(j.minTarget, min(want, j.maxTgt))
	now := j.now()
	switch {
	case want > j.target:
		if j.playing {
			j.stretch += want - j.target
		}
		j.target = want
		j.lastShrink = now
	case want < j.target && now.Sub(j.lastShrink) >= 500*time.Millisecond:
		j.target--
		j.shrink = 1
		j.lastShrink = now
	}
}

// Capacity returns the number of packets the ring can hold.
func (j *JitterBuffer) Capacity() int { return len(j.slots) }

// Push stores one received packet. It copies payload.
func (j *JitterBuffer) Push(seq uint16, ts uint32, payload []byte) {
	if len(payload) > j.maxPayload {
		j.mu.Lock()
		j.stats.Received++
		j.stats.Dropped++
		j.mu.Unlock()
		return
	}
	p := append([]byte(nil), payload...)

	j.mu.Lock()
	defer j.mu.Unlock()
	j.stats.Received++
	if j.adaptive {
		j.est.add(j.now(), ts)
		j.adapt()
	}
	if !j.started {
		j.restart(seq)
		j.insert(seq, ts, p)
		return
	}
	span := len(j.slots)
	d := int(int16(seq - j.next))
	if d < 0 && !j.popped && j.count > 0 && int(uint16(j.highest-seq)) < span {
		// Reordered before playout began: start from the earlier packet.
		j.next = seq
		d = 0
	}
	switch {
	case d >= 0 && d < span:
		j.clearProbation()
		j.insert(seq, ts, p)
	case d < 0 && d >= -span:
		j.stats.Late++
	default:
		if j.probation && seq == j.probSeq+1 {
			pseq, pts, pdata := j.probSeq, j.probTS, j.probData
			j.probation, j.probData = false, nil
			j.flush()
			j.restart(pseq)
			j.insert(pseq, pts, pdata)
			j.insert(seq, ts, p)
			j.stats.Resyncs++
			return
		}
		j.clearProbation()
		j.probation, j.probSeq, j.probTS, j.probData = true, seq, ts, p
	}
}

// Pop returns the next packet's payload, or ok=false when there is none to
// play now: during prefill, when its packet was lost, or on underrun. The
// caller owns the returned slice.
func (j *JitterBuffer) Pop() (payload []byte, ok bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !j.started || j.count == 0 {
		if j.playing {
			j.stats.Underruns++
			j.playing = false
		}
		return nil, false
	}
	depth := int(uint16(j.highest-j.next)) + 1
	if !j.playing {
		if depth < j.target {
			return nil, false
		}
		j.playing = true
		j.stretch = 0
	}
	if j.stretch > 0 {
		// Growing the delay: hold playout back one frame (the caller
		// conceals it) so the buffer deepens.
		j.stretch--
		j.stats.Stretched++
		return nil, false
	}
	if j.shrink > 0 && depth > j.target {
		// The target came down: play one packet less to shorten the
		// delay by a frame.
		j.shrink--
		s := &j.slots[j.next&j.mask]
		if s.valid && s.seq == j.next {
			*s = jitterSlot{}
			j.count--
			j.stats.Dropped++
			j.next++
			depth--
		}
	}
	if depth > max(j.maxDepth, 2*j.target) {
		// Too much delay built up: skip the oldest down to the target.
		for ; depth > j.target; depth-- {
			s := &j.slots[j.next&j.mask]
			if s.valid && s.seq == j.next {
				*s = jitterSlot{}
				j.count--
				j.stats.Dropped++
			} else {
				j.stats.Lost++
			}
			j.next++
		}
	}
	j.popped = true
	s := &j.slots[j.next&j.mask]
	seq := j.next
	j.next++
	if s.valid && s.seq == seq {
		payload = s.payload
		*s = jitterSlot{}
		j.count--
		j.stats.Played++
		return payload, true
	}
	j.stats.Lost++
	return nil, false
}

// Peek returns the payload Pop would return next without taking it, if it
// is buffered: after a loss, the packet whose in-band FEC can rebuild the
// lost one (RFC 7587 §3.3).
func (j *JitterBuffer) Peek() (payload []byte, ok bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !j.started || j.count == 0 {
		return nil, false
	}
	s := &j.slots[j.next&j.mask]
	if s.valid && s.seq == j.next {
		return s.payload, true
	}
	return nil, false
}

// Reset empties the buffer; the next Push starts a new stream. Call it when
// the SSRC changes. The counters are kept.
func (j *JitterBuffer) Reset() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.flush()
	j.clearProbation()
	j.started = false
	j.est.reset()
	j.stretch, j.shrink = 0, 0
}

// Stats returns a snapshot of the counters.
func (j *JitterBuffer) Stats() JitterStats {
	j.mu.Lock()
	defer j.mu.Unlock()
	s := j.stats
	s.Depth = j.count
	s.Target = time.Duration(j.target) * j.frame
	return s
}

func (j *JitterBuffer) restart(seq uint16) {
	j.started, j.playing, j.popped = true, false, false
	j.next, j.highest = seq, seq
}

func (j *JitterBuffer) flush() {
	for i := range j.slots {
		j.slots[i] = jitterSlot{}
	}
	j.count = 0
	j.playing = false
}

func (j *JitterBuffer) clearProbation() {
	if j.probation {
		j.stats.Dropped++
	}
	j.probation, j.probData = false, nil
}

// insert stores a packet whose seq is within [next, next+len(slots)).
func (j *JitterBuffer) insert(seq uint16, ts uint32, p []byte) {
	s := &j.slots[seq&j.mask]
	if s.valid {
		if s.seq == seq {
			j.stats.Duplicates++
			return
		}
		// Cannot happen while the window invariant holds; replace to be safe.
		j.count--
	}
	*s = jitterSlot{seq: seq, ts: ts, payload: p, valid: true}
	if j.count == 0 || int16(seq-j.highest) > 0 {
		j.highest = seq
	}
	j.count++
}
