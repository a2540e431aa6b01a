package audio

import (
	"errors"
	"io"
	"math"
	"testing"
)

// concealment is what a decoder does with a lost packet (Decode(nil)).
type concealment int

const (
	// concealFade repeats the last frame, quieter each time, to silence
	// (G.711 Appendix I style; Parlo's G.711 and G.722 decoders).
	concealFade concealment = iota
	// concealModel lets the codec's own model continue the signal (Opus PLC,
	// RFC 6716 §4.4).
	concealModel
)

// voiceCodec is one row of the conformance table: a codec a call can
// negotiate (codec.go) and what it promises.
type voiceCodec struct {
	name string
	// payloadBytes is the size of a 20 ms payload; 0 for a variable-rate codec.
	payloadBytes int
	tones        []float64
	// minSNR is the waveform SNR (dB) the round trip keeps at the best delay
	// within [delay, delay+delaySlack]; 0 for Opus, a perceptual codec whose
	// waveform may shift phase.
	minSNR     float64
	delay      func() int
	delaySlack int
	conceal    concealment
}

// voiceCodecs is the table every voice codec meets; a codec added to
// NewEncoder gets a row here and, with it, the round trip, concealment,
// hostile-payload and fuzz checks below.
var voiceCodecs = []voiceCodec{
	{
		name: CodecPCMU, payloadBytes: 160, tones: []float64{440, 1000},
		// ~38 dB of quantisation SNR for a -9 dBFS tone; the two resamplers
		// delay it by a whole 242 samples (5 ms).
		minSNR: 30, delay: g711Delay, conceal: concealFade,
	},
	{
		name: CodecPCMA, payloadBytes: 160, tones: []float64{440, 1000},
		minSNR: 30, delay: g711Delay, conceal: concealFade,
	},
	{
		// The 6 kHz tone is one G.711 (3.4 kHz) cannot carry and a wideband
		// codec must; G.722's QMF filter bank adds a delay of its own.
		name: CodecG722, payloadBytes: 160, tones: []float64{440, 1000, 6000},
		minSNR: 20, delay: g722Delay, delaySlack: 200, conceal: concealFade,
	},
	{
		name: CodecOpus, tones: []float64{440, 1000},
		conceal: concealModel,
	},
}

func g711Delay() int {
	return int(NewResampler(SampleRate, 8000).Delay()*6 + NewResampler(8000, SampleRate).Delay())
}

func g722Delay() int {
	return int(NewResampler(SampleRate, g722SampleRate).Delay()*3 + NewResampler(g722SampleRate, SampleRate).Delay())
}

func (c voiceCodec) pair(t testing.TB) (Encoder, Decoder) {
	t.Helper()
	enc, err := NewEncoder(c.name)
	if err != nil {
		t.Fatalf("%s encoder: %v", c.name, err)
	}
	dec, err := NewDecoder(c.name)
	if err != nil {
		t.Fatalf("%s decoder: %v", c.name, err)
	}
	t.Cleanup(func() { closeCodec(enc); closeCodec(dec) })
	return enc, dec
}

// closeCodec closes the codecs that hold C memory (libavcodec, libopus).
func closeCodec(c any) {
	if cl, ok := c.(io.Closer); ok {
		_ = cl.Close()
	}
}

// encodeDecode runs frames of in through enc and dec and returns the decoded
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

// bestSNR is the SNR of got against ref at the delay (searched from lo to
// hi samples) that lines them up best.
func bestSNR(ref, got []int16, lo, hi, skip int) (snr float64, delay int) {
	snr = math.Inf(-1)
	for d := lo; d <= hi; d++ {
		if s := snrAt(ref, got, d, skip); s > snr {
			snr, delay = s, d
		}
	}
	return snr, delay
}

// TestVoiceCodecRoundTrip sends tones through each codec and back: the
// frequency and level survive, fixed-rate payloads have their size, and the
// waveform codecs keep their SNR.
func TestVoiceCodecRoundTrip(t *testing.T) {
	for _, c := range voiceCodecs {
		for _, freq := range c.tones {
			enc, dec := c.pair(t)
			in := readFrames(t, NewTone(freq, 0.5), 50) // 1 s
			out, sizes := encodeDecode(t, enc, dec, in)
			for i, s := range sizes {
				if c.payloadBytes > 0 && s != c.payloadBytes {
					t.Fatalf("%s: payload %d is %d bytes, want %d", c.name, i, s, c.payloadBytes)
				}
			}
			// Skip 200 ms: codec delay and Opus's ramp-up.
			skip := 10 * FrameSamples
			tail := out[skip:]
			hz, power := DominantFrequency(tail, SampleRate)
			if math.Abs(hz-freq) > 5 {
				t.Errorf("%s %v Hz: decoded %.2f Hz", c.name, freq, hz)
			}
			if power < 0.9 {
				t.Errorf("%s %v Hz: the tone holds only %.3f of the energy", c.name, freq, power)
			}
			if r := RMS(tail) / RMS(in[skip:]); r < 0.7 || r > 1.3 {
				t.Errorf("%s %v Hz: level ratio %.2f, want about 1", c.name, freq, r)
			}
			if c.minSNR == 0 {
				continue
			}
			base := c.delay()
			snr, d := bestSNR(in, out, base, base+c.delaySlack, skip)
			if snr < c.minSNR {
				t.Errorf("%s %v Hz: SNR %.1f dB at delay %d, want >= %.0f", c.name, freq, snr, d, c.minSNR)
			}
			t.Logf("%s %v Hz: delay %d samples at 48 kHz, SNR %.1f dB", c.name, freq, d, snr)
		}
	}
}

// TestVoiceCodecConcealment loses five packets after a tone: the first
// concealed frame carries the tone on, fading codecs fade to silence, and a
// decoder that never got a packet conceals with silence. Empty (not nil)
// payloads are loss too.
func TestVoiceCodecConcealment(t *testing.T) {
	for _, c := range voiceCodecs {
		enc, dec := c.pair(t)
		encodeDecode(t, enc, dec, readFrames(t, NewTone(440, 0.5), 20))
		frame := make([]int16, FrameSamples)
		var levels []float64
		for i := range 5 {
			n, err := dec.Decode(nil, frame)
			if err != nil || n != FrameSamples {
				t.Fatalf("%s: Decode(nil) = %d, %v", c.name, n, err)
			}
			if i == 0 {
				if hz, _ := DominantFrequency(frame, SampleRate); math.Abs(hz-440) > 20 {
					t.Errorf("%s: concealment continued at %.1f Hz, want ~440", c.name, hz)
				}
			}
			levels = append(levels, RMS(frame))
		}
		if levels[0] < 0.05 {
			t.Errorf("%s: first concealed frame is silent: %v", c.name, levels)
		}
		if c.conceal == concealFade {
			if levels[1] >= levels[0] || levels[2] >= levels[1] {
				t.Errorf("%s: concealment should fade: %v", c.name, levels)
			}
			if levels[4] > 0.001 {
				t.Errorf("%s: after 4 lost frames still rms %.4f, want silence", c.name, levels[4])
			}
		}
		if n, err := dec.Decode([]byte{}, frame); err != nil || n != FrameSamples {
			t.Errorf("%s: Decode(empty) = %d, %v", c.name, n, err)
		}
		_, fresh := c.pair(t)
		if n, err := fresh.Decode(nil, frame); err != nil || n != FrameSamples || RMS(frame) != 0 {
			t.Errorf("%s: fresh Decode(nil) = %d, %v, rms %v", c.name, n, err, RMS(frame))
		}
	}
}

// hostilePayloads is what a network may send as a voice payload.
var hostilePayloads = []struct {
	name    string
	payload []byte
	// tooLong: longer than one 20 ms frame of a fixed-rate codec.
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
	{"opus code 3, many frames", []byte{0xFC, 0xFF, 0xFE}, false},
}

// TestVoiceCodecHostilePayloads: no payload panics a decoder or makes it
// write past the frame; a fixed-rate codec cuts an over-long payload with
// ErrFrameSize.
func TestVoiceCodecHostilePayloads(t *testing.T) {
	for _, c := range voiceCodecs {
		_, dec := c.pair(t)
		for _, p := range hostilePayloads {
			n, err := decodeGuarded(t, dec, p.payload)
			if n < 0 || n > FrameSamples {
				t.Errorf("%s %s: %d samples", c.name, p.name, n)
			}
			if c.payloadBytes > 0 && errors.Is(err, ErrFrameSize) != p.tooLong {
				t.Errorf("%s %s: err %v, want ErrFrameSize %v", c.name, p.name, err, p.tooLong)
			}
		}
	}
}

// decodeGuarded decodes into a frame followed by sentinel samples and fails
// the test if the decoder wrote past the frame.
func decodeGuarded(t testing.TB, dec Decoder, payload []byte) (int, error) {
	t.Helper()
	const guard = 8
	buf := make([]int16, FrameSamples+guard)
	for i := range buf {
		buf[i] = 99
	}
	n, err := dec.Decode(payload, buf[:FrameSamples])
	for i := FrameSamples; i < len(buf); i++ {
		if buf[i] != 99 {
			t.Fatalf("Decode of %d bytes wrote past the frame at %d", len(payload), i)
		}
	}
	return n, err
}

// FuzzVoiceCodecDecode: whatever a peer sends as a payload of any codec the
// call negotiated, the decoder (Go for G.711, libavcodec and libopus through
// cgo) returns a sample count within the frame and never writes past it.
func FuzzVoiceCodecDecode(f *testing.F) {
	decoders := make([]Decoder, len(voiceCodecs))
	for i, c := range voiceCodecs {
		enc, dec := c.pair(f)
		decoders[i] = dec
		payload := make([]byte, 1500)
		n, _ := enc.Encode(sine(440, 0.5, FrameSamples, SampleRate), payload)
		f.Add(byte(i), payload[:n])
	}
	for _, p := range hostilePayloads {
		f.Add(byte(0), p.payload)
	}
	f.Add(byte(3), []byte{0x7B})
	f.Fuzz(func(t *testing.T, codec byte, data []byte) {
		dec := decoders[int(codec)%len(decoders)]
		if n, _ := decodeGuarded(t, dec, data); n < 0 || n > FrameSamples {
			t.Fatalf("Decode returned %d samples", n)
		}
	})
}
