package audio

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// recordQueue bounds the frames waiting for the recorder's writer: 5 s
// (under 0.5 MB), so a disk stalled longer costs frames of the recording,
// never the call's send loop.
const recordQueue = 250

// ErrRecorderBehind counts as the recorder's error when its writer could
// not keep up and frames were dropped from the file.
var ErrRecorderBehind = errors.New("audio: recorder fell behind, frames dropped")

// Recorder mixes what a call sends and what it receives into one mono
// track written to a Sink (a WAV or Ogg/Opus file). It is clocked by the
// call's send loop: each sent frame is mixed with the oldest received frame
// waiting, so the two directions stay aligned within a frame or two. A
// goroutine it owns does the encoding and writing; Close stops and awaits
// it and closes the sink.
type Recorder struct {
	mu      sync.Mutex
	paused  bool
	closed  bool
	rx      frameQueue
	dropped int
	frames  int64

	// The file keeps to the wall clock: a send loop that skipped ticks
	// (a loaded machine) leaves silence in its place, so a minute of call
	// is a minute of file. start is when recording (or the last resume)
	// began; base the frames written before it.
	now   func() time.Time
	start time.Time
	base  int64

	q    chan []int16
	done chan struct{}
	out  Sink
	err  error // the writer's first error; read after done
}

// NewRecorder starts a recorder writing to out.
func NewRecorder(out Sink) *Recorder {
	r := &Recorder{q: make(chan []int16, recordQueue), done: make(chan struct{}), out: out, now: time.Now}
	r.start = r.now()
	go r.write()
	return r
}

func (r *Recorder) write() {
	defer close(r.done)
	for f := range r.q {
		if r.err != nil {
			continue
		}
		if err := r.out.WriteFrame(f); err != nil {
			r.err = fmt.Errorf("audio: recording: %w", err)
		}
	}
}

// SetPaused pauses (true) or resumes the recording. Paused time is left out
// of the file.
func (r *Recorder) SetPaused(p bool) {
	r.mu.Lock()
	if r.paused && !p {
		r.start, r.base = r.now(), r.frames
	}
	r.paused = p
	r.rx = frameQueue{}
	r.mu.Unlock()
}

// Paused reports whether the recording is paused.
func (r *Recorder) Paused() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.paused
}

// Frames returns how many frames went to the file so far.
func (r *Recorder) Frames() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.frames
}

func (r *Recorder) received(frame []int16) {
	r.mu.Lock()
	if !r.paused && !r.closed {
		r.rx.push(frame)
	}
	r.mu.Unlock()
}

func (r *Recorder) sent(frame []int16) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.paused || r.closed {
		return
	}
	// Frames the send loop never produced since the start: silence, at
	// most a second's worth at a time.
	due := r.base + int64(r.now().Sub(r.start)/(FrameDurationMs*time.Millisecond))
	for gap := min(due-r.frames-1, 50); gap > 0; gap-- {
		r.enqueue(make([]int16, len(frame)))
	}
	mixed := append([]int16(nil), frame...)
	if f, ok := r.rx.pop(); ok {
		mixInto(mixed, f)
	}
	r.enqueue(mixed)
}

// enqueue hands one frame to the writer (under mu).
func (r *Recorder) enqueue(f []int16) {
	select {
	case r.q <- f:
		r.frames++
	default:
		r.dropped++
	}
}

// Close stops recording, waits for the writer and closes the file. It
// returns the writer's error, ErrRecorderBehind if frames were dropped, or
// the sink's Close error. Idempotent (later calls return nil).
func (r *Recorder) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	dropped := r.dropped
	close(r.q)
	r.mu.Unlock()
	<-r.done
	err := r.err
	if cerr := r.out.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("audio: recording: %w", cerr)
	}
	if err == nil && dropped > 0 {
		err = fmt.Errorf("%w: %d", ErrRecorderBehind, dropped)
	}
	return err
}
