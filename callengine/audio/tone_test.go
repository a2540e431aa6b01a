package audio

import (
	"errors"
	"math"
	"testing"
)

func TestToneFrequency(t *testing.T) {
	for _, tc := range []struct {
		freq, amp float64
	}{
		{300, 0.5},
		{440, 0.3},
		{1000, 0.8},
	} {
		src := NewTone(tc.freq, tc.amp)
		pcm := readFrames(t, src, 25) // 0.5 s
		hz, power := DominantFrequency(pcm, SampleRate)
		if math.Abs(hz-tc.freq) > 5 {
			t.Errorf("tone %v Hz: detected %.2f Hz", tc.freq, hz)
		}
		if power < 0.9 {
			t.Errorf("tone %v Hz: peak holds %.3f of the energy, want a pure tone", tc.freq, power)
		}
		wantRMS := tc.amp / math.Sqrt2
		if got := RMS(pcm); math.Abs(got-wantRMS) > 0.01 {
			t.Errorf("tone %v Hz: rms %.4f, want %.4f", tc.freq, got, wantRMS)
		}
		// Phase continuity: frame-by-frame output equals one long sine.
		ref := sine(tc.freq, tc.amp, len(pcm), SampleRate)
		for i := range pcm {
			if d := int(pcm[i]) - int(ref[i]); d > 1 || d < -1 {
				t.Fatalf("tone %v Hz: sample %d is %d, continuous sine has %d", tc.freq, i, pcm[i], ref[i])
			}
		}
		if err := src.Close(); err != nil {
			t.Fatal(err)
		}
		if err := src.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if err := src.ReadFrame(make([]int16, FrameSamples)); !errors.Is(err, ErrClosed) {
			t.Errorf("ReadFrame after Close = %v, want ErrClosed", err)
		}
	}
}

func TestSilenceAndNull(t *testing.T) {
	src := Silence()
	frame := make([]int16, FrameSamples)
	for i := range frame {
		frame[i] = 1234
	}
	if err := src.ReadFrame(frame); err != nil {
		t.Fatal(err)
	}
	for i, s := range frame {
		if s != 0 {
			t.Fatalf("silence sample %d = %d", i, s)
		}
	}
	src.Close()
	if err := src.ReadFrame(frame); !errors.Is(err, ErrClosed) {
		t.Errorf("ReadFrame after Close = %v", err)
	}

	sink := Null()
	for range 7 {
		if err := sink.WriteFrame(frame); err != nil {
			t.Fatal(err)
		}
	}
	if got := sink.(*NullSink).Frames(); got != 7 {
		t.Errorf("Null counted %d frames, want 7", got)
	}
	sink.Close()
	sink.Close()
	if err := sink.WriteFrame(frame); !errors.Is(err, ErrClosed) {
		t.Errorf("WriteFrame after Close = %v", err)
	}
}
