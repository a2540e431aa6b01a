package audio

import (
	"errors"
	"testing"
)

// TestG722ClockRate pins the RFC 3551 §4.5.2 quirk: RTP clock 8000 for a
// 16 kHz codec.
func TestG722ClockRate(t *testing.T) {
	if r, err := ClockRate("g722"); err != nil || r != 8000 {
		t.Fatalf("ClockRate(g722) = %d, %v; want 8000", r, err)
	}
}

// TestG722CloseIdempotent: Close frees libavcodec's context once; a second
// Close is harmless and Decode after it fails with ErrClosed.
func TestG722CloseIdempotent(t *testing.T) {
	dec, err := NewG722Decoder()
	if err != nil {
		t.Fatal(err)
	}
	frame := make([]int16, FrameSamples)
	if err := dec.Close(); err != nil {
		t.Fatal(err)
	}
	if err := dec.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := dec.Decode([]byte{1, 2}, frame); !errors.Is(err, ErrClosed) {
		t.Errorf("Decode after Close: %v, want ErrClosed", err)
	}
}
