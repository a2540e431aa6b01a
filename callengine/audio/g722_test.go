package audio

import (
	"errors"
	"math"
	"testing"
)

// bestSNR is the SNR of got against ref at the delay (searched from lo to
// hi samples) that lines them up best: G.722's QMF filter bank adds a delay
// of its own to the two resamplers'.
func bestSNR(ref, got []int16, lo, hi, skip int) (snr float64, delay int) {
	snr = math.Inf(-1)
	for d := lo; d <= hi; d++ {
		if s := snrAt(ref, got, d, skip); s > snr {
			snr, delay = s, d
		}
	}
	return snr, delay
}

// TestG722RoundTrip sends tones through libavcodec's G.722 and back: a
// speech-band tone, and a 6 kHz one that G.711 (3.4 kHz) cannot carry and
// a wideband codec must. Each 20 ms frame is 160 bytes (64 kbit/s).
func TestG722RoundTrip(t *testing.T) {
	for _, tc := range []struct {
		freq   float64
		minSNR float64
	}{
		{440, 35},
		{1000, 35},
		{6000, 20},
	} {
		enc, err := NewEncoder(CodecG722)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := NewDecoder(CodecG722)
		if err != nil {
			t.Fatal(err)
		}
		in := readFrames(t, NewTone(tc.freq, 0.5), 50)
		out, sizes := encodeDecode(t, enc, dec, in)
		for i, s := range sizes {
			if s != 160 {
				t.Fatalf("%v Hz: payload %d is %d bytes, want 160", tc.freq, i, s)
			}
		}
		tail := out[5*FrameSamples:]
		if hz, _ := DominantFrequency(tail, SampleRate); math.Abs(hz-tc.freq) > 5 {
			t.Errorf("%v Hz: decoded %.2f Hz", tc.freq, hz)
		}
		if r := RMS(tail) / RMS(in[5*FrameSamples:]); r < 0.7 || r > 1.3 {
			t.Errorf("%v Hz: level ratio %.2f, want about 1", tc.freq, r)
		}
		base := int(NewResampler(SampleRate, g722SampleRate).Delay()*3 + NewResampler(g722SampleRate, SampleRate).Delay())
		snr, d := bestSNR(in, out, base, base+200, 5*FrameSamples)
		if snr < tc.minSNR {
			t.Errorf("%v Hz: SNR %.1f dB at delay %d, want >= %.0f", tc.freq, snr, d, tc.minSNR)
		}
		t.Logf("G.722 %v Hz: delay %d samples at 48 kHz, SNR %.1f dB", tc.freq, d, snr)
	}
}

// TestG722ClockRate pins the RFC 3551 §4.5.2 quirk: RTP clock 8000 for a
// 16 kHz codec.
func TestG722ClockRate(t *testing.T) {
	if r, err := ClockRate("g722"); err != nil || r != 8000 {
		t.Fatalf("ClockRate(g722) = %d, %v; want 8000", r, err)
	}
}

func TestG722Concealment(t *testing.T) {
	enc, err := NewG722Encoder()
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	dec, err := NewG722Decoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
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
		t.Errorf("concealment should end in silence: %v", levels)
	}
}

// TestG722HostilePayloads feeds the decoder what a network may send: odd
// sizes, a jumbo payload, random bytes. Nothing may panic; a payload longer
// than a frame is cut with ErrFrameSize.
func TestG722HostilePayloads(t *testing.T) {
	dec, err := NewG722Decoder()
	if err != nil {
		t.Fatal(err)
	}
	frame := make([]int16, FrameSamples)
	for _, tc := range []struct {
		name    string
		payload []byte
		tooLong bool
	}{
		{"one byte", []byte{0x55}, false},
		{"odd", make([]byte, 161), true},
		{"40 ms", make([]byte, 320), true},
		{"jumbo", make([]byte, 9000), true},
		{"noise", func() []byte {
			b := make([]byte, 160)
			for i := range b {
				b[i] = byte(i*131 + 7)
			}
			return b
		}(), false},
	} {
		_, err := dec.Decode(tc.payload, frame)
		if got := errors.Is(err, ErrFrameSize); got != tc.tooLong {
			t.Errorf("%s: err %v, want ErrFrameSize %v", tc.name, err, tc.tooLong)
		}
	}
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

// FuzzG722Decode: whatever a peer sends as a G.722 payload, the decoder
// (libavcodec, through cgo) returns a sample count within the frame and
// never writes past it.
func FuzzG722Decode(f *testing.F) {
	enc, err := NewG722Encoder()
	if err != nil {
		f.Fatal(err)
	}
	payload := make([]byte, 160)
	n, _ := enc.Encode(sine(440, 0.5, FrameSamples, SampleRate), payload)
	f.Add(payload[:n])
	f.Add([]byte{})
	f.Add([]byte{0xFF})
	f.Add(make([]byte, 2000))
	dec, err := NewG722Decoder()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		frame := make([]int16, FrameSamples+8)
		for i := range frame {
			frame[i] = 99
		}
		n, _ := dec.Decode(data, frame[:FrameSamples])
		if n < 0 || n > FrameSamples {
			t.Fatalf("Decode returned %d samples", n)
		}
		for i := FrameSamples; i < len(frame); i++ {
			if frame[i] != 99 {
				t.Fatalf("Decode wrote past the frame at %d", i)
			}
		}
	})
}
