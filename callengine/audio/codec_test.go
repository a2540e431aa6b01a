package audio

import (
	"errors"
	"testing"
)

func TestCodecByName(t *testing.T) {
	for _, tc := range []struct {
		name    string
		wantEnc any
		rate    int
	}{
		{"opus", &OpusEncoder{}, 48000},
		{"OPUS", &OpusEncoder{}, 48000},
		{"PCMU", &G711Encoder{}, 8000},
		{"pcmu", &G711Encoder{}, 8000},
		{"PcMa", &G711Encoder{}, 8000},
		{"G722", &G722Encoder{}, 8000},
		{"g722", &G722Encoder{}, 8000},
		{"G729", nil, 0},
		{"", nil, 0},
	} {
		enc, encErr := NewEncoder(tc.name)
		dec, decErr := NewDecoder(tc.name)
		rate, rateErr := ClockRate(tc.name)
		if tc.wantEnc == nil {
			for _, err := range []error{encErr, decErr, rateErr} {
				if !errors.Is(err, ErrUnknownCodec) {
					t.Errorf("%q: err %v, want ErrUnknownCodec", tc.name, err)
				}
			}
			continue
		}
		if encErr != nil || decErr != nil || rateErr != nil {
			t.Fatalf("%q: %v %v %v", tc.name, encErr, decErr, rateErr)
		}
		switch tc.wantEnc.(type) {
		case *OpusEncoder:
			if _, ok := enc.(*OpusEncoder); !ok {
				t.Errorf("%q: encoder %T", tc.name, enc)
			}
			if _, ok := dec.(*OpusDecoder); !ok {
				t.Errorf("%q: decoder %T", tc.name, dec)
			}
		case *G711Encoder:
			if _, ok := enc.(*G711Encoder); !ok {
				t.Errorf("%q: encoder %T", tc.name, enc)
			}
		case *G722Encoder:
			if _, ok := enc.(*G722Encoder); !ok {
				t.Errorf("%q: encoder %T", tc.name, enc)
			}
			if _, ok := dec.(*G722Decoder); !ok {
				t.Errorf("%q: decoder %T", tc.name, dec)
			}
		}
		if rate != tc.rate {
			t.Errorf("%q: clock rate %d, want %d", tc.name, rate, tc.rate)
		}
	}
	// PCMU and PCMA must really differ.
	mu, _ := NewEncoder("PCMU")
	a, _ := NewEncoder("PCMA")
	pm, pa := make([]byte, 160), make([]byte, 160)
	mu.Encode(make([]int16, FrameSamples), pm)
	a.Encode(make([]int16, FrameSamples), pa)
	if pm[0] == pa[0] {
		t.Error("PCMU and PCMA encoders give the same bytes")
	}
}

// BenchmarkCodec is the CPU cost of one 20 ms frame in each codec a call
// can negotiate, encode and decode (with the resampling to and from 48 kHz
// that the codec needs), on speech-like input. make bench reports it
// beside the 20 ms frame budget.
func BenchmarkCodec(b *testing.B) {
	pcm := readFrames(b, NewSpeechLike(5, 0.4), 50)
	for _, name := range []string{CodecOpus, CodecG722, CodecPCMU} {
		enc, err := NewEncoder(name)
		if err != nil {
			b.Fatal(err)
		}
		var packets [][]byte
		for f := 0; f < len(pcm); f += FrameSamples {
			p := make([]byte, 1500)
			n, err := enc.Encode(pcm[f:f+FrameSamples], p)
			if err != nil {
				b.Fatal(err)
			}
			packets = append(packets, p[:n])
		}
		b.Run(name+"_encode", func(b *testing.B) {
			payload := make([]byte, 1500)
			i := 0
			for b.Loop() {
				f := (i % 50) * FrameSamples
				if _, err := enc.Encode(pcm[f:f+FrameSamples], payload); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		b.Run(name+"_decode", func(b *testing.B) {
			dec, err := NewDecoder(name)
			if err != nil {
				b.Fatal(err)
			}
			frame := make([]int16, FrameSamples)
			i := 0
			for b.Loop() {
				if _, err := dec.Decode(packets[i%len(packets)], frame); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
