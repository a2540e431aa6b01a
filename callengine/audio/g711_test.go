package audio

import (
	"errors"
	"testing"
)

// TestG711KnownBytes pins the companding against ITU-T G.711 values: silence
// encodes to 0xFF in mu-law and 0xD5 in A-law.
func TestG711KnownBytes(t *testing.T) {
	for _, tc := range []struct {
		law  G711Law
		want byte
	}{{MuLaw, 0xFF}, {ALaw, 0xD5}} {
		enc := NewG711Encoder(tc.law)
		payload := make([]byte, 160)
		n, err := enc.Encode(make([]int16, FrameSamples), payload)
		if err != nil || n != 160 {
			t.Fatalf("%v: Encode = %d, %v", tc.law, n, err)
		}
		for i, b := range payload {
			if b != tc.want {
				t.Fatalf("%v: silence byte %d = %#x, want %#x", tc.law, i, b, tc.want)
			}
		}
	}
}

func TestG711OddPayloads(t *testing.T) {
	dec := NewG711Decoder(ALaw)
	frame := make([]int16, FrameSamples)
	// 10 ms payload (ptime 10): half a frame.
	if n, err := dec.Decode(make([]byte, 80), frame); err != nil || n != FrameSamples/2 {
		t.Errorf("80-byte payload: %d, %v", n, err)
	}
	// 30 ms payload: fills the frame, reports the overflow.
	if n, err := dec.Decode(make([]byte, 240), frame); !errors.Is(err, ErrFrameSize) || n != FrameSamples {
		t.Errorf("240-byte payload: %d, %v", n, err)
	}
	// One sample a byte at 8 kHz, six at 48 kHz.
	for _, size := range []int{1, 7, 160} {
		if n, err := dec.Decode(make([]byte, size), frame); err != nil || n != size*6 {
			t.Errorf("%d-byte payload: %d samples, %v; want %d", size, n, err, size*6)
		}
	}
	enc := NewG711Encoder(ALaw)
	if _, err := enc.Encode(make([]int16, FrameSamples), make([]byte, 100)); !errors.Is(err, ErrFrameSize) {
		t.Errorf("short dst: %v", err)
	}
}

func BenchmarkG711Encode(b *testing.B) {
	enc := NewG711Encoder(MuLaw)
	pcm := sine(440, 0.5, FrameSamples, SampleRate)
	payload := make([]byte, 160)
	for b.Loop() {
		enc.Encode(pcm, payload)
	}
}
