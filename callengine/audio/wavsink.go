package audio

import (
	"fmt"
	"os"
	"sync"

	goaudio "github.com/go-audio/audio"
	"github.com/go-audio/wav"
)

// WAVSink is a Sink that records to a mono 16-bit WAV file at SampleRate.
type WAVSink struct {
	mu     sync.Mutex
	f      *os.File
	enc    *wav.Encoder
	buf    goaudio.IntBuffer
	closed bool
	err    error
}

// CreateWAVSink creates (or truncates) path and returns a Sink writing mono
// PCM16 at SampleRate into it. The RIFF and data sizes are written on Close;
// until then the file has placeholder sizes.
func CreateWAVSink(path string) (Sink, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	const wavPCM = 1
	s := &WAVSink{
		f:   f,
		enc: wav.NewEncoder(f, SampleRate, 16, 1, wavPCM),
		buf: goaudio.IntBuffer{
			Format:         &goaudio.Format{NumChannels: 1, SampleRate: SampleRate},
			SourceBitDepth: 16,
		},
	}
	// Write the header and open the data chunk now, so a sink closed without
	// any frame still leaves a valid, empty WAV file.
	if err := s.enc.Write(&s.buf); err != nil {
		f.Close()
		return nil, fmt.Errorf("audio: WAV header: %w", err)
	}
	return s, nil
}

// WriteFrame appends frame to the file.
func (s *WAVSink) WriteFrame(frame []int16) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.err != nil {
		return s.err
	}
	if cap(s.buf.Data) < len(frame) {
		s.buf.Data = make([]int, len(frame))
	}
	s.buf.Data = s.buf.Data[:len(frame)]
	for i, v := range frame {
		s.buf.Data[i] = int(v)
	}
	if err := s.enc.Write(&s.buf); err != nil {
		s.err = fmt.Errorf("audio: WAV write: %w", err)
		return s.err
	}
	return nil
}

// Close finalises the header and closes the file. It is idempotent.
func (s *WAVSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.enc.Close()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	return err
}
