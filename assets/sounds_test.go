package assets

import (
	"errors"
	"testing"
)

func TestSoundsDecode(t *testing.T) {
	for _, tc := range []struct {
		name           string
		minDur, maxDur float64 // seconds
		minPeak        int16
	}{
		{SoundRingtone, 1, 2, 10000},
		{SoundRingback, 0.9, 1.1, 5000},
		{SoundHangup, 0.3, 1, 8000},
	} {
		pcm, err := SoundPCM(tc.name)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		d := float64(len(pcm)) / 48000
		var peak int16
		for _, v := range pcm {
			peak = max(peak, v, -v)
		}
		if d < tc.minDur || d > tc.maxDur || peak < tc.minPeak {
			t.Errorf("%s: %.2f s, peak %d; want %.1f..%.1f s, peak >= %d", tc.name, d, peak, tc.minDur, tc.maxDur, tc.minPeak)
		}
	}
	if _, err := SoundPCM("nope"); !errors.Is(err, ErrBadSound) {
		t.Fatalf("missing sound: %v", err)
	}
	if _, err := decodeWAV([]byte("RIFF\x00\x00\x00\x00WAVEdata\xff\xff\xff\xff")); !errors.Is(err, ErrBadSound) {
		t.Fatalf("truncated WAV: %v", err)
	}
}
