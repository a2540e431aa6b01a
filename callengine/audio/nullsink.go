package audio

import "sync/atomic"

// NullSink is a Sink that discards audio and counts the frames it got.
type NullSink struct {
	frames atomic.Int64
	closed atomic.Bool
}

// Null returns a Sink that discards everything written to it. The concrete
// type is *NullSink; assert to it to read Frames.
func Null() Sink { return &NullSink{} }

// WriteFrame discards frame.
func (n *NullSink) WriteFrame(frame []int16) error {
	if n.closed.Load() {
		return ErrClosed
	}
	n.frames.Add(1)
	return nil
}

// Frames returns how many frames were written.
func (n *NullSink) Frames() int64 { return n.frames.Load() }

// Close is idempotent.
func (n *NullSink) Close() error {
	n.closed.Store(true)
	return nil
}
