package ui

import (
	"math"
	"sync/atomic"
	"testing"
	"time"
)

// levelDevices are fakeDevices whose levels the test sets.
type levelDevices struct {
	fakeDevices
	mic, spk atomic.Uint64 // float64 bits
	reads    atomic.Int64
}

func (d *levelDevices) MicLevel() float64 {
	d.reads.Add(1)
	return math.Float64frombits(d.mic.Load())
}

func (d *levelDevices) SpeakerLevel() float64 { return math.Float64frombits(d.spk.Load()) }

func (d *levelDevices) set(mic, spk float64) {
	d.mic.Store(math.Float64bits(mic))
	d.spk.Store(math.Float64bits(spk))
}

// TestCallLevelsFollowTheAudioStage: the indicator is hidden without an
// established call, follows the audio stage's levels while one is shown
// (on the meter's dB scale), and stops polling when the call ends.
func TestCallLevelsFollowTheAudioStage(t *testing.T) {
	dev := &levelDevices{}
	eng := newFakeEngine()
	h := newHarness(t, eng, harnessOpts{desktop: desktopOptions{devices: dev}})
	lv := h.w.view.levels
	if lv.root.Visible() {
		t.Fatal("level indicator shows with no call")
	}
	a := eng.incoming("Alice Martin", "sip:alice@192.0.2.20")
	h.settle()
	if lv.root.Visible() {
		t.Fatal("level indicator shows while the call only rings")
	}
	eng.establish(a)
	h.waitFor("indicator shown", func() bool { return lv.root.Visible() })

	for _, tc := range []struct{ mic, spk float64 }{
		{0.1, 0.001}, // -20 dBFS talking, far end near silence
		{0.001, 0.5}, // listening
		{0.03, 0.03}, // both
		{0, 1},       // silence, and full scale
	} {
		dev.set(tc.mic, tc.spk)
		wantMic, wantFar := levelStep(tc.mic), levelStep(tc.spk)
		h.waitFor("levels", func() bool {
			m, f := lv.levels()
			return m == wantMic && f == wantFar
		})
	}
	if m, f := lv.levels(); f != levelSteps || m != 0 {
		t.Fatalf("levels %d %d, want 0 and full", m, f)
	}

	eng.end(a)
	h.waitFor("indicator hidden", func() bool { return !lv.root.Visible() })
	// A negative needs a span: several poll periods with no read.
	before := dev.reads.Load()
	time.Sleep(4 * levelPeriod)
	if n := dev.reads.Load(); n != before {
		t.Fatalf("the level poller still runs after the call ended (%d reads)", n-before)
	}
}

func TestLevelStepScale(t *testing.T) {
	for _, tc := range []struct {
		rms  float64
		want int
	}{
		{0, 0}, {0.001, 0}, {0.01, levelSteps / 3}, {0.1, 27}, {1, levelSteps}, {2, levelSteps},
	} {
		if got := levelStep(tc.rms); got != tc.want {
			t.Errorf("levelStep(%v) = %d, want %d", tc.rms, got, tc.want)
		}
	}
}
