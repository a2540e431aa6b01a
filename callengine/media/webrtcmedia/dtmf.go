package webrtcmedia

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/parlo-voip/parlo/callengine/media"
)

// RFC 4733 timing: each tone lasts the asked duration (at least 40 ms), its
// end packet goes out three times (§2.5.1.4), and tones are 60 ms apart.
const (
	minToneDuration = 40 * time.Millisecond
	toneGap         = 60 * time.Millisecond
	endRepeats      = 3
	eventVolume     = 10 // -10 dBm0, a typical keypad level
)

// dtmfJob is one SendDTMF call, run by the send loop.
type dtmfJob struct {
	events   []uint8
	duration time.Duration
	done     chan error
}

// dtmfState is the send loop's progress through a job.
type dtmfState struct {
	job       *dtmfJob
	idx       int    // current tone
	startTS   uint32 // RTP timestamp of the current event (fixed for the event)
	elapsed   uint32 // duration so far, in clock units
	total     uint32 // the tone's duration in clock units
	ends      int    // end packets sent
	gapFrames int    // frames of plain audio before the next tone
	started   bool
}

// SendDTMF implements media.DTMFSender.
func (s *Session) SendDTMF(ctx context.Context, tones string, duration time.Duration) error {
	if _, ok := s.track.telephoneEvent(); !ok {
		return media.ErrNoTelephoneEvent
	}
	var events []uint8
	for _, r := range tones {
		ev, ok := media.DTMFEvent(r)
		if !ok {
			return fmt.Errorf("webrtcmedia: %q is not a DTMF tone", r)
		}
		events = append(events, ev)
	}
	if len(events) == 0 {
		return nil
	}
	job := &dtmfJob{events: events, duration: max(duration, minToneDuration), done: make(chan error, 1)}
	select {
	case s.dtmf <- job:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return media.ErrClosed
	}
	select {
	case err := <-job.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return media.ErrClosed
	}
}

// eventPayload is the 4-byte RFC 4733 §2.3 payload.
func eventPayload(event uint8, end bool, duration uint32) []byte {
	b := make([]byte, 4)
	b[0] = event
	b[1] = eventVolume
	if end {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], uint16(min(duration, 0xffff)))
	return b
}

// parseEvent reads an RFC 4733 payload.
func parseEvent(p []byte) (event uint8, end bool, ok bool) {
	if len(p) < 4 {
		return 0, false, false
	}
	return p[0], p[1]&0x80 != 0, true
}
