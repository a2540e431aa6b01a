package audio

import (
	"errors"
	"math"
	"testing"

	"gopkg.in/hraban/opus.v2"
)

// encodeDecode runs frames of src through enc and dec and returns the decoded
// PCM and the payload sizes.
func encodeDecode(t testing.TB, enc Encoder, dec Decoder, in []int16) ([]int16, []int) {
	t.Helper()
	var out []int16
	var sizes []int
	payload := make([]byte, 1500)
	frame := make([]int16, FrameSamples)
	for f := 0; f+FrameSamples <= len(in); f += FrameSamples {
		n, err := enc.Encode(in[f:f+FrameSamples], payload)
		if err != nil {
			t.Fatalf("Encode frame %d: %v", f/FrameSamples, err)
		}
		sizes = append(sizes, n)
		got, err := dec.Decode(payload[:n], frame)
		if err != nil {
			t.Fatalf("Decode frame %d: %v", f/FrameSamples, err)
		}
		if got != FrameSamples {
			t.Fatalf("Decode gave %d samples, want %d", got, FrameSamples)
		}
		out = append(out, frame...)
	}
	return out, sizes
}

func TestOpusRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		freq    float64
		bitrate int
	}{
		{440, 32000},
		{440, 16000},
		{1000, 32000},
	} {
		enc, err := NewOpusEncoder(tc.bitrate)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := NewOpusDecoder()
		if err != nil {
			t.Fatal(err)
		}
		in := readFrames(t, NewTone(tc.freq, 0.5), 50) // 1 s
		out, sizes := encodeDecode(t, enc, dec, in)
		// Skip the first 200 ms: codec delay and the encoder's ramp-up.
		tail := out[10*FrameSamples:]
		hz, power := DominantFrequency(tail, SampleRate)
		if math.Abs(hz-tc.freq) > 5 {
			t.Errorf("%v Hz at %d b/s: decoded %.2f Hz", tc.freq, tc.bitrate, hz)
		}
		if power < 0.9 {
			t.Errorf("%v Hz at %d b/s: tone holds only %.3f of the energy", tc.freq, tc.bitrate, power)
		}
		if rms := RMS(tail); math.Abs(rms-0.5/math.Sqrt2) > 0.05 {
			t.Errorf("%v Hz at %d b/s: rms %.3f, want ~%.3f", tc.freq, tc.bitrate, rms, 0.5/math.Sqrt2)
		}
		var total int
		for _, s := range sizes[10:] {
			total += s
		}
		kbps := float64(total*8) / (float64(len(sizes)-10) * 0.02) / 1000
		if kbps > float64(tc.bitrate)/1000*1.3 {
			t.Errorf("bitrate %d: payloads average %.1f kb/s", tc.bitrate, kbps)
		}
		t.Logf("%v Hz @ %d b/s: %.2f Hz, power %.3f, %.1f kb/s", tc.freq, tc.bitrate, hz, power, kbps)
	}
}

func TestOpusPLC(t *testing.T) {
	enc, _ := NewOpusEncoder(32000)
	dec, _ := NewOpusDecoder()
	in := readFrames(t, NewTone(440, 0.5), 20)
	encodeDecode(t, enc, dec, in)
	// Lose three packets: PLC continues the tone, then fades.
	frame := make([]int16, FrameSamples)
	var concealed []int16
	for range 3 {
		n, err := dec.Decode(nil, frame)
		if err != nil || n != FrameSamples {
			t.Fatalf("Decode(nil) = %d, %v", n, err)
		}
		concealed = append(concealed, frame...)
	}
	if hz, _ := DominantFrequency(concealed[:FrameSamples], SampleRate); math.Abs(hz-440) > 20 {
		t.Errorf("PLC continued at %.1f Hz, want ~440", hz)
	}
	if RMS(concealed[:FrameSamples]) < 0.05 {
		t.Error("first concealed frame is silent")
	}
	// Empty (not nil) payloads also mean loss.
	if n, err := dec.Decode([]byte{}, frame); err != nil || n != FrameSamples {
		t.Errorf("Decode(empty) = %d, %v", n, err)
	}
	// A decoder that never got a packet conceals with silence.
	fresh, _ := NewOpusDecoder()
	if n, err := fresh.Decode(nil, frame); err != nil || n != FrameSamples || RMS(frame) != 0 {
		t.Errorf("fresh Decode(nil) = %d, %v, rms %v", n, err, RMS(frame))
	}
}

// TestOpusDecodeStereoPackets: RFC 7587 lets the sender code stereo; the mono
// decoder must take such packets.
func TestOpusDecodeStereoPackets(t *testing.T) {
	enc, err := opus.NewEncoder(SampleRate, 2, opus.AppAudio)
	if err != nil {
		t.Fatal(err)
	}
	dec, _ := NewOpusDecoder()
	mono := readFrames(t, NewTone(440, 0.5), 30)
	stereo := make([]int16, 2*FrameSamples)
	payload := make([]byte, 1500)
	frame := make([]int16, FrameSamples)
	var out []int16
	for f := 0; f < len(mono); f += FrameSamples {
		for i := range FrameSamples {
			stereo[2*i], stereo[2*i+1] = mono[f+i], mono[f+i]
		}
		n, err := enc.Encode(stereo, payload)
		if err != nil {
			t.Fatal(err)
		}
		got, err := dec.Decode(payload[:n], frame)
		if err != nil || got != FrameSamples {
			t.Fatalf("Decode stereo packet = %d, %v", got, err)
		}
		out = append(out, frame...)
	}
	if hz, _ := DominantFrequency(out[10*FrameSamples:], SampleRate); math.Abs(hz-440) > 5 {
		t.Errorf("stereo packets decoded to %.2f Hz", hz)
	}
}

// TestOpusLongPacket: a 60 ms packet (a peer with ptime 60) must not write
// past the 20 ms frame.
func TestOpusLongPacket(t *testing.T) {
	enc, _ := opus.NewEncoder(SampleRate, 1, opus.AppVoIP)
	pcm := sine(440, 0.5, 3*FrameSamples, SampleRate)
	payload := make([]byte, 1500)
	n, err := enc.Encode(pcm, payload)
	if err != nil {
		t.Fatal(err)
	}
	dec, _ := NewOpusDecoder()
	buf := make([]int16, 2*FrameSamples)
	for i := range buf {
		buf[i] = 7
	}
	got, err := dec.Decode(payload[:n], buf[:FrameSamples])
	if !errors.Is(err, ErrFrameSize) || got != FrameSamples {
		t.Errorf("Decode of 60 ms packet = %d, %v; want %d, ErrFrameSize", got, err, FrameSamples)
	}
	if buf[FrameSamples] != 7 {
		t.Error("decoder wrote past the frame")
	}
}

func TestOpusEncodeWrongFrame(t *testing.T) {
	enc, _ := NewOpusEncoder(0)
	if _, err := enc.Encode(make([]int16, 100), make([]byte, 1500)); !errors.Is(err, ErrFrameSize) {
		t.Errorf("Encode of 100 samples = %v, want ErrFrameSize", err)
	}
}

func FuzzOpusDecode(f *testing.F) {
	enc, _ := NewOpusEncoder(32000)
	payload := make([]byte, 1500)
	n, _ := enc.Encode(sine(440, 0.5, FrameSamples, SampleRate), payload)
	f.Add(payload[:n])
	f.Add([]byte{})
	f.Add([]byte{0xFC, 0xFF, 0xFE}) // code 3, many frames
	f.Add([]byte{0x7B})
	dec, _ := NewOpusDecoder()
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

func BenchmarkOpusEncode(b *testing.B) {
	enc, _ := NewOpusEncoder(32000)
	pcm := readFrames(b, NewTone(440, 0.5), 50)
	payload := make([]byte, 1500)
	i := 0
	for b.Loop() {
		f := (i % 50) * FrameSamples
		if _, err := enc.Encode(pcm[f:f+FrameSamples], payload); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkOpusDecode(b *testing.B) {
	enc, _ := NewOpusEncoder(32000)
	pcm := readFrames(b, NewTone(440, 0.5), 50)
	var packets [][]byte
	for f := 0; f < len(pcm); f += FrameSamples {
		p := make([]byte, 1500)
		n, _ := enc.Encode(pcm[f:f+FrameSamples], p)
		packets = append(packets, p[:n])
	}
	dec, _ := NewOpusDecoder()
	frame := make([]int16, FrameSamples)
	i := 0
	for b.Loop() {
		if _, err := dec.Decode(packets[i%len(packets)], frame); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
