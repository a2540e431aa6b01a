package audio

import (
	"fmt"
	"sync"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4/pkg/media/oggwriter"
)

// recordingBitrate is the Opus bitrate of recordings: 32 kbit/s mono is
// transparent for speech and costs 14 MB an hour.
const recordingBitrate = 32000

// OggOpusSink is a Sink that encodes to Opus and writes an Ogg/Opus file
// (RFC 7845), the compact format call recorders use. pion's oggwriter
// writes the container (headers, pages, granule positions from the RTP
// timestamps we give it); libopus encodes.
type OggOpusSink struct {
	mu     sync.Mutex
	w      *oggwriter.OggWriter
	enc    Encoder
	buf    []byte
	ts     uint32
	seq    uint16
	closed bool
}

// CreateOggOpusSink creates (or truncates) path for mono 48 kHz Opus.
func CreateOggOpusSink(path string) (Sink, error) {
	enc, err := NewOpusEncoder(recordingBitrate)
	if err != nil {
		return nil, err
	}
	w, err := oggwriter.New(path, SampleRate, 1)
	if err != nil {
		return nil, fmt.Errorf("audio: ogg file: %w", err)
	}
	return &OggOpusSink{w: w, enc: enc, buf: make([]byte, 1275)}, nil
}

// WriteFrame encodes one frame and appends it as one Ogg packet.
func (s *OggOpusSink) WriteFrame(frame []int16) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	n, err := s.enc.Encode(frame, s.buf)
	if err != nil {
		return err
	}
	s.ts += FrameSamples
	s.seq++
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: s.seq, Timestamp: s.ts}, Payload: s.buf[:n]}
	if err := s.w.WriteRTP(pkt); err != nil {
		return fmt.Errorf("audio: ogg write: %w", err)
	}
	return nil
}

// Close finishes the file (last page flagged end of stream). Idempotent.
func (s *OggOpusSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.w.Close(); err != nil {
		return fmt.Errorf("audio: ogg close: %w", err)
	}
	return nil
}
