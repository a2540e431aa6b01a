package audio

import "sync"

// relayFrames bounds what one leg holds of another leg's received audio
// before mixing it into what it sends: the two legs' send and playout loops
// tick at 20 ms each but are not in phase, so a few frames absorb their
// drift; older frames are dropped rather than letting delay grow.
const relayFrames = 5

// CallTap is a call's audio mixing point between its media session and its
// devices. On its own it passes audio through. Linked to other calls' taps
// (a local conference) it adds what each linked far end says to what this
// call sends, so every party hears the others (mix-minus: nobody hears
// themselves). With a Recorder set it hands the recorder what this call
// sends and receives. It is safe for concurrent use: the media session's
// send loop reads through it while its playout loop writes through it.
type CallTap struct {
	mu       sync.Mutex
	micMuted bool
	// in holds, per linked tap, that call's received audio waiting to be
	// mixed into what this call sends.
	in map[*CallTap]*frameQueue
	// out are the linked taps this call's received audio goes to.
	out []*CallTap
	rec *Recorder
}

// NewCallTap returns a pass-through tap.
func NewCallTap() *CallTap { return &CallTap{in: map[*CallTap]*frameQueue{}} }

// Source wraps a call's microphone: what it returns is what the call sends.
func (t *CallTap) Source(mic Source) Source { return &tapSource{t: t, mic: mic} }

// Sink wraps a call's speaker: what is written to it is what the call
// received.
func (t *CallTap) Sink(spk Sink) Sink { return &tapSink{t: t, spk: spk} }

// SetMicMuted silences the microphone in what this call sends while audio
// relayed from linked calls still goes through (a muted conference host
// still bridges the other two parties).
func (t *CallTap) SetMicMuted(m bool) {
	t.mu.Lock()
	t.micMuted = m
	t.mu.Unlock()
}

// SetRecorder makes the tap feed r (nil stops feeding).
func (t *CallTap) SetRecorder(r *Recorder) {
	t.mu.Lock()
	t.rec = r
	t.mu.Unlock()
}

// Link connects two calls' taps both ways: each far end hears the other.
func Link(a, b *CallTap) {
	if a == b {
		return
	}
	a.addOut(b)
	b.addOut(a)
}

// Unlink disconnects every link of t.
func (t *CallTap) Unlink() {
	t.mu.Lock()
	outs := t.out
	t.out = nil
	t.in = map[*CallTap]*frameQueue{}
	t.mu.Unlock()
	for _, o := range outs {
		o.mu.Lock()
		delete(o.in, t)
		for i, x := range o.out {
			if x == t {
				o.out = append(o.out[:i], o.out[i+1:]...)
				break
			}
		}
		o.mu.Unlock()
	}
}

// Linked reports how many calls t is linked to.
func (t *CallTap) Linked() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.out)
}

func (t *CallTap) addOut(to *CallTap) {
	t.mu.Lock()
	for _, x := range t.out {
		if x == to {
			t.mu.Unlock()
			return
		}
	}
	t.out = append(t.out, to)
	t.mu.Unlock()
	to.mu.Lock()
	to.in[t] = &frameQueue{}
	to.mu.Unlock()
}

// received is called with each frame the call played.
func (t *CallTap) received(frame []int16) {
	t.mu.Lock()
	outs := t.out
	rec := t.rec
	t.mu.Unlock()
	for _, o := range outs {
		o.mu.Lock()
		if q := o.in[t]; q != nil {
			q.push(frame)
		}
		o.mu.Unlock()
	}
	if rec != nil {
		rec.received(frame)
	}
}

// sending turns the microphone's frame into what the call sends.
func (t *CallTap) sending(frame []int16) {
	t.mu.Lock()
	if t.micMuted {
		clear(frame)
	}
	for _, q := range t.in {
		if f, ok := q.pop(); ok {
			mixInto(frame, f)
		}
	}
	rec := t.rec
	t.mu.Unlock()
	if rec != nil {
		rec.sent(frame)
	}
}

// mixInto adds src to dst, saturating at the int16 range.
func mixInto(dst, src []int16) {
	for i := range min(len(dst), len(src)) {
		s := int32(dst[i]) + int32(src[i])
		dst[i] = int16(max(-32768, min(32767, s)))
	}
}

type tapSource struct {
	t   *CallTap
	mic Source
}

func (s *tapSource) ReadFrame(frame []int16) error {
	if err := s.mic.ReadFrame(frame); err != nil {
		return err
	}
	s.t.sending(frame)
	return nil
}

func (s *tapSource) Close() error { return s.mic.Close() }

type tapSink struct {
	t   *CallTap
	spk Sink
}

func (s *tapSink) WriteFrame(frame []int16) error {
	s.t.received(frame)
	return s.spk.WriteFrame(frame)
}

func (s *tapSink) Close() error { return s.spk.Close() }

// frameQueue is a bounded FIFO of frames that drops the oldest when full.
type frameQueue struct {
	frames [][]int16
}

func (q *frameQueue) push(f []int16) {
	if len(q.frames) >= relayFrames {
		q.frames = q.frames[1:]
	}
	q.frames = append(q.frames, append([]int16(nil), f...))
}

func (q *frameQueue) pop() ([]int16, bool) {
	if len(q.frames) == 0 {
		return nil, false
	}
	f := q.frames[0]
	q.frames = q.frames[1:]
	return f, true
}
