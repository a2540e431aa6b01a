package audio

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

func TestDominantFrequency(t *testing.T) {
	for _, tc := range []struct {
		name   string
		freq   float64
		rate   int
		length time.Duration
		tol    float64
	}{
		{"440 Hz 0.5 s at 48k", 440, 48000, 500 * time.Millisecond, 1},
		{"440 Hz 100 ms at 48k", 440, 48000, 100 * time.Millisecond, 5},
		{"437.3 Hz off-bin", 437.3, 48000, 500 * time.Millisecond, 1},
		{"1000 Hz at 8k", 1000, 8000, 500 * time.Millisecond, 1},
		{"3000 Hz 200 ms at 8k", 3000, 8000, 200 * time.Millisecond, 5},
		{"60 Hz", 60, 48000, 500 * time.Millisecond, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := int(tc.length.Seconds() * float64(tc.rate))
			pcm := sine(tc.freq, 0.5, n, tc.rate)
			hz, power := DominantFrequency(pcm, tc.rate)
			if math.Abs(hz-tc.freq) > tc.tol {
				t.Errorf("got %.3f Hz, want %.1f ± %.0f", hz, tc.freq, tc.tol)
			}
			if power < 0.9 {
				t.Errorf("power share %.3f for a pure tone", power)
			}
		})
	}
	t.Run("noise is not tonal", func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		pcm := make([]int16, 24000)
		for i := range pcm {
			pcm[i] = int16(r.IntN(20000) - 10000)
		}
		if _, power := DominantFrequency(pcm, SampleRate); power > 0.05 {
			t.Errorf("white noise gave peak power share %.3f", power)
		}
	})
	t.Run("silence", func(t *testing.T) {
		if hz, p := DominantFrequency(make([]int16, 4800), SampleRate); hz != 0 || p != 0 {
			t.Errorf("silence gave %v Hz, %v", hz, p)
		}
	})
}

// TestToneDetectorHoldResume plays the sequence a call test sees: tone,
// silence (hold), tone again, and checks what the detector reports after
// each phase.
func TestToneDetectorHoldResume(t *testing.T) {
	det := NewToneDetector(2 * time.Second)
	play := func(src Source, frames int) {
		frame := make([]int16, FrameSamples)
		for range frames {
			if err := src.ReadFrame(frame); err != nil {
				t.Fatal(err)
			}
			if err := det.WriteFrame(frame); err != nil {
				t.Fatal(err)
			}
		}
	}
	if hz, rms := det.Frequency(time.Second); hz != 0 || rms != 0 {
		t.Fatalf("empty detector: %v Hz rms %v", hz, rms)
	}
	tone := NewTone(440, 0.5)
	steps := []struct {
		name    string
		src     Source
		frames  int
		wantHz  float64 // 0: expect silence
		wantRMS float64
	}{
		{"talking", tone, 100, 440, 0.5 / math.Sqrt2},
		{"on hold", Silence(), 25, 0, 0},
		{"resumed", tone, 25, 440, 0.5 / math.Sqrt2},
	}
	total := int64(0)
	for _, st := range steps {
		play(st.src, st.frames)
		total += int64(st.frames)
		hz, rms := det.Frequency(400 * time.Millisecond)
		if st.wantHz == 0 {
			if rms > 0.001 {
				t.Errorf("%s: rms %.4f, want ~0", st.name, rms)
			}
			continue
		}
		if math.Abs(hz-st.wantHz) > 5 || math.Abs(rms-st.wantRMS) > 0.01 {
			t.Errorf("%s: %.2f Hz rms %.4f, want %.0f Hz rms %.4f", st.name, hz, rms, st.wantHz, st.wantRMS)
		}
	}
	if got := det.Frames(); got != total {
		t.Errorf("Frames() = %d, want %d", got, total)
	}
	// The window is capped by the history (2 s).
	if got := len(det.Last(time.Minute)); got != 2*SampleRate {
		t.Errorf("Last(1m) returned %d samples, want the 2 s history", got)
	}
}

func TestToneDetectorConcurrent(t *testing.T) {
	det := NewToneDetector(time.Second)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tone := NewTone(1000, 0.5)
		frame := make([]int16, FrameSamples)
		for range 200 {
			tone.ReadFrame(frame)
			det.WriteFrame(frame)
		}
	}()
	for range 20 {
		det.Frequency(100 * time.Millisecond)
	}
	wg.Wait()
	if hz, _ := det.Frequency(200 * time.Millisecond); math.Abs(hz-1000) > 5 {
		t.Errorf("detected %.1f Hz, want 1000", hz)
	}
	det.Close()
	if err := det.WriteFrame(make([]int16, FrameSamples)); err == nil {
		t.Error("WriteFrame after Close succeeded")
	}
}

func BenchmarkDominantFrequency(b *testing.B) {
	pcm := sine(440, 0.5, SampleRate/2, SampleRate)
	for b.Loop() {
		DominantFrequency(pcm, SampleRate)
	}
}
