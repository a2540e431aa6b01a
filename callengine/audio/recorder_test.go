package audio

import (
	"path/filepath"
	"testing"
	"time"
)

// readOgg decodes an Ogg/Opus recording, failing the test on error.
func readOgg(t *testing.T, path string) []int16 {
	t.Helper()
	pcm, err := ReadOggOpus(path)
	if err != nil {
		t.Fatal(err)
	}
	return pcm
}

// A recording mixes both directions frame by frame, leaves paused time out
// and survives a round trip through each format.
func TestRecorderMixesBothDirections(t *testing.T) {
	for _, format := range []string{"ogg", "wav"} {
		t.Run(format, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "call."+format)
			var sink Sink
			var err error
			if format == "ogg" {
				sink, err = CreateOggOpusSink(path)
			} else {
				sink, err = CreateWAVSink(path)
			}
			if err != nil {
				t.Fatal(err)
			}
			r := NewRecorder(sink)
			tap := NewCallTap()
			tap.SetRecorder(r)
			mic, far := NewTone(440, 0.3), NewTone(660, 0.3)
			step := func(n int) {
				for range n {
					receive(t, tap, far)
					sendThrough(t, tap, mic)
				}
			}
			step(50) // 1 s of both
			r.SetPaused(true)
			step(50) // left out
			r.SetPaused(false)
			tap.SetMicMuted(true)
			step(50) // 1 s of the far end alone
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			if err := r.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			if got := r.Frames(); got != 100 {
				t.Fatalf("%d frames recorded, want 100 (paused time left out)", got)
			}
			var pcm []int16
			if format == "ogg" {
				pcm = readOgg(t, path)
			} else {
				src, err := OpenWAVSource(path)
				if err != nil {
					t.Fatal(err)
				}
				f := make([]int16, FrameSamples)
				for range 100 {
					if err := src.ReadFrame(f); err != nil {
						t.Fatal(err)
					}
					pcm = append(pcm, f...)
				}
				src.Close()
			}
			if len(pcm) < 95*FrameSamples {
				t.Fatalf("%d samples in the file, want ~%d", len(pcm), 100*FrameSamples)
			}
			first, second := pcm[10*FrameSamples:45*FrameSamples], pcm[60*FrameSamples:95*FrameSamples]
			for _, c := range []struct {
				what    string
				pcm     []int16
				hz      float64
				present bool
			}{
				{"first second, near end", first, 440, true},
				{"first second, far end", first, 660, true},
				{"muted second, near end", second, 440, false},
				{"muted second, far end", second, 660, true},
			} {
				lvl := ToneLevel(c.pcm, SampleRate, c.hz)
				if c.present != (lvl > 0.1) {
					t.Errorf("%s: %v Hz at %.3f, want present=%v", c.what, c.hz, lvl, c.present)
				}
			}
		})
	}
}

// A send loop that skips ticks (a loaded machine) still makes a file as
// long as the call: the missing frames are silence. Paused time stays out.
func TestRecorderKeepsWallClock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "call.wav")
	sink, err := CreateWAVSink(path)
	if err != nil {
		t.Fatal(err)
	}
	r := NewRecorder(sink)
	now := time.Unix(100, 0)
	r.mu.Lock()
	r.now, r.start = func() time.Time { return now }, now
	r.mu.Unlock()
	frame := make([]int16, FrameSamples)
	for range 25 { // one second, one frame every 40 ms
		now = now.Add(40 * time.Millisecond)
		r.sent(frame)
	}
	r.SetPaused(true)
	now = now.Add(5 * time.Second)
	r.SetPaused(false)
	for range 25 {
		now = now.Add(20 * time.Millisecond)
		r.sent(frame)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	// 1 s at half rate padded to 50 frames, then 25 frames at full rate.
	if got := r.Frames(); got < 73 || got > 76 {
		t.Fatalf("%d frames for 1.5 s of recorded call, want ~75", got)
	}
}
