package audio

import (
	"errors"
	"fmt"
	"io"
	"os"

	"gopkg.in/hraban/opus.v2"
)

// ErrUnsupportedOgg is returned by ReadOggOpus for a file that is not
// Ogg/Opus.
var ErrUnsupportedOgg = errors.New("audio: not an Ogg/Opus file")

// ReadOggOpus decodes a whole Ogg/Opus file (RFC 7845; what OggOpusSink
// writes) to mono PCM at SampleRate with libopusfile, the counterpart of
// ReadWAV for recordings.
func ReadOggOpus(path string) ([]int16, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s, err := opus.NewStream(f)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrUnsupportedOgg, path, err)
	}
	defer s.Close()
	var pcm []int16
	// 120 ms at 48 kHz: the longest Opus packet (RFC 6716 §3.2.5).
	buf := make([]int16, 5760)
	for {
		n, err := s.Read(buf)
		if errors.Is(err, io.EOF) || (err == nil && n == 0) {
			return pcm, nil
		}
		if err != nil {
			return pcm, fmt.Errorf("%w: %s: %w", ErrUnsupportedOgg, path, err)
		}
		pcm = append(pcm, buf[:n]...)
	}
}
