package audio

import (
	"errors"
	"math"
	"testing"
)

func TestG711RoundTrip(t *testing.T) {
	for _, name := range []string{"PCMU", "PCMA"} {
		for _, freq := range []float64{440, 1000} {
			enc, err := NewEncoder(name)
			if err != nil {
				t.Fatal(err)
			}
			dec, err := NewDecoder(name)
			if err != nil {
				t.Fatal(err)
			}
			in := readFrames(t, NewTone(freq, 0.5), 50)
			out, sizes := encodeDecode(t, enc, dec, in)
			for i, s := range sizes {
				if s != 160 {
					t.Fatalf("%s: payload %d is %d bytes, want 160", name, i, s)
				}
			}
			tail := out[5*FrameSamples:]
			if hz, _ := DominantFrequency(tail, SampleRate); math.Abs(hz-freq) > 5 {
				t.Errorf("%s %v Hz: decoded %.2f Hz", name, freq, hz)
			}
			// The two resampling filters delay the signal by a whole 242
			// samples (5 ms); G.711 itself has ~38 dB of quantisation SNR for
			// a -9 dBFS tone.
			d := int(NewResampler(SampleRate, 8000).Delay()*6 + NewResampler(8000, SampleRate).Delay())
			snr := snrAt(in, out, d, 5*FrameSamples)
			if snr < 30 {
				t.Errorf("%s %v Hz: SNR %.1f dB at delay %d, want >= 30", name, freq, snr, d)
			}
			t.Logf("%s %v Hz: delay %d, SNR %.1f dB", name, freq, d, snr)
		}
	}
}

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

func TestG711Concealment(t *testing.T) {
	enc, dec := NewG711Encoder(MuLaw), NewG711Decoder(MuLaw)
	encodeDecode(t, enc, dec, readFrames(t, NewTone(440, 0.5), 10))
	frame := make([]int16, FrameSamples)
	var levels []float64
	for range 5 {
		n, err := dec.Decode(nil, frame)
		if err != nil || n != FrameSamples {
			t.Fatalf("Decode(nil) = %d, %v", n, err)
		}
		levels = append(levels, RMS(frame))
	}
	if levels[0] < 0.1 || levels[1] >= levels[0] || levels[2] >= levels[1] {
		t.Errorf("concealment should fade: %v", levels)
	}
	if levels[4] > 0.001 {
		t.Errorf("after 4 lost frames still rms %.4f, want silence", levels[4])
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
	enc := NewG711Encoder(ALaw)
	if _, err := enc.Encode(make([]int16, FrameSamples), make([]byte, 100)); !errors.Is(err, ErrFrameSize) {
		t.Errorf("short dst: %v", err)
	}
}

func FuzzG711Decode(f *testing.F) {
	f.Add(byte(0), make([]byte, 160))
	f.Add(byte(1), []byte{0xD5, 0x55, 0x2A})
	f.Add(byte(0), []byte{})
	f.Fuzz(func(t *testing.T, law byte, data []byte) {
		dec := NewG711Decoder(G711Law(law & 1))
		frame := make([]int16, FrameSamples+4)
		n, err := dec.Decode(data, frame[:FrameSamples])
		if n < 0 || n > FrameSamples {
			t.Fatalf("Decode returned %d", n)
		}
		if err == nil && len(data) > 0 && n != len(data)*6 {
			t.Fatalf("%d bytes decoded to %d samples", len(data), n)
		}
		if frame[FrameSamples] != 0 {
			t.Fatal("Decode wrote past the frame")
		}
	})
}

func BenchmarkG711Encode(b *testing.B) {
	enc := NewG711Encoder(MuLaw)
	pcm := sine(440, 0.5, FrameSamples, SampleRate)
	payload := make([]byte, 160)
	for b.Loop() {
		enc.Encode(pcm, payload)
	}
}
