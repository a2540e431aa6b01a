package audio

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// WAVSource is a Source that plays a WAV file, converted to mono at
// SampleRate, then silence once the file is over.
type WAVSource struct {
	mu        sync.Mutex
	f         *os.File
	r         *wavReader
	rs        *Resampler
	in        []int16 // one read's worth of file samples
	fifo      []int16 // converted samples not yet handed out
	eof       bool
	closed    bool
	exhausted bool
}

// OpenWAVSource opens a WAV file (see ReadWAV for the formats) as a Source.
// Stereo and multichannel files are mixed down; other rates are resampled to
// SampleRate. After the end of the file ReadFrame returns silence, so a call
// playing a prompt does not stop sending RTP.
func OpenWAVSource(path string) (Source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r, err := newWAVReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &WAVSource{
		f:  f,
		r:  r,
		rs: NewResampler(r.rate, SampleRate),
		in: make([]int16, max(r.rate/50, 1)), // 20 ms of file audio per read
	}, nil
}

// ReadFrame fills frame with the next samples of the file, or silence past
// its end.
func (s *WAVSource) ReadFrame(frame []int16) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	for len(s.fifo) < len(frame) && !s.exhausted {
		if s.eof {
			// Push the filter's tail out with a block of zeros, once.
			clear(s.in)
			s.fifo = s.rs.Process(s.in, s.fifo)
			s.exhausted = true
			break
		}
		n, err := s.r.read(s.in)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				return err
			}
			s.eof = true
		}
		s.fifo = s.rs.Process(s.in[:n], s.fifo)
	}
	n := copy(frame, s.fifo)
	clear(frame[n:])
	s.fifo = s.fifo[:copy(s.fifo, s.fifo[n:])]
	return nil
}

// Close closes the file. It is idempotent.
func (s *WAVSource) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.f.Close()
}
