package capture

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// codecState is the lifecycle every codec wrapper shares: one mutex that
// serialises calls into the C library (none of them is safe for concurrent
// use), and a Close that frees once.
type codecState struct {
	mu     sync.Mutex
	closed bool
}

// closeOnce runs free under the lock the first time; later calls do
// nothing, so Close is idempotent.
func (s *codecState) closeOnce(free func()) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	free()
	return nil
}

// checkDecode refuses a decode on a closed decoder or of an empty frame;
// the caller holds mu.
func (s *codecState) checkDecode(data []byte) error {
	if s.closed {
		return ErrClosed
	}
	if len(data) == 0 {
		return fmt.Errorf("%w: empty frame", ErrCodec)
	}
	return nil
}

// decodeNew is Decoder.Decode on top of DecodeInto: a newly allocated
// picture, or (nil, nil) when the frame produced none.
func decodeNew(into func(*I420, []byte) (bool, error), data []byte) (*I420, error) {
	f := &I420{}
	ok, err := into(f, data)
	if err != nil || !ok {
		return nil, err
	}
	return f, nil
}

// encoderState adds what every encoder has: a pending keyframe request.
type encoderState struct {
	codecState
	keyReq atomic.Bool
}

// RequestKeyframe makes the next Encode produce a keyframe (RTCP PLI/FIR,
// RFC 4585 §6.3.1, or a peer that joined late).
func (e *encoderState) RequestKeyframe() { e.keyReq.Store(true) }

// setBitrate refuses a target of 0 or less, and otherwise runs apply under
// the lock on an open encoder.
func (e *encoderState) setBitrate(kbps int, apply func() error) error {
	if kbps <= 0 {
		return fmt.Errorf("capture: bitrate %d kbps", kbps)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	return apply()
}
