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
