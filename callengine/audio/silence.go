package audio

import "sync/atomic"

// SilenceSource is a Source of digital silence.
type SilenceSource struct {
	closed atomic.Bool
}

// Silence returns a Source that produces zeros, for a muted microphone or a
// call leg with nothing to send.
func Silence() Source { return &SilenceSource{} }

// ReadFrame zeroes frame.
func (s *SilenceSource) ReadFrame(frame []int16) error {
	if s.closed.Load() {
		return ErrClosed
	}
	clear(frame)
	return nil
}

// Close is idempotent.
func (s *SilenceSource) Close() error {
	s.closed.Store(true)
	return nil
}
