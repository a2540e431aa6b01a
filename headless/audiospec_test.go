package headless

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/parlo-voip/parlo/callengine/audio"
)

func TestNumberedPath(t *testing.T) {
	tests := []struct {
		path string
		n    int
		want string
	}{
		{"/tmp/b.wav", 1, "/tmp/b.wav"},
		{"/tmp/b.wav", 2, "/tmp/b-2.wav"},
		{"/tmp/b.wav", 13, "/tmp/b-13.wav"},
		{"rec", 3, "rec-3"},
		{"/tmp/dir.d/rec", 2, "/tmp/dir.d/rec-2"},
		{"/tmp/b.tar.wav", 2, "/tmp/b.tar-2.wav"},
	}
	for _, tt := range tests {
		if got := NumberedPath(tt.path, tt.n); got != tt.want {
			t.Errorf("NumberedPath(%q, %d) = %q, want %q", tt.path, tt.n, got, tt.want)
		}
	}
}

// Each call gets its own recording: b.wav, then b-2.wav, b-3.wav.
func TestAudioOutFilePerCall(t *testing.T) {
	dir := t.TempDir()
	spec, err := ParseAudioOut("file:" + filepath.Join(dir, "b.wav"))
	if err != nil {
		t.Fatal(err)
	}
	newSink := spec.NewSink(nil)
	frame := make([]int16, audio.FrameSamples)
	for i := range 3 {
		s, err := newSink()
		if err != nil {
			t.Fatal(err)
		}
		for range i + 1 { // call i records i+1 frames
			if err := s.WriteFrame(frame); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for i, name := range []string{"b.wav", "b-2.wav", "b-3.wav"} {
		pcm, rate, err := audio.ReadWAV(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if rate != audio.SampleRate || len(pcm) != (i+1)*audio.FrameSamples {
			t.Errorf("%s: %d samples at %d Hz, want %d at %d", name, len(pcm), rate, (i+1)*audio.FrameSamples, audio.SampleRate)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "b-4.wav")); !os.IsNotExist(err) {
		t.Errorf("a fourth file exists: %v", err)
	}
}

func TestAudioInSources(t *testing.T) {
	dir := t.TempDir()
	// A WAV of a 1 kHz tone, written with the audio package's own sink.
	wavPath := filepath.Join(dir, "in.wav")
	sink, err := audio.CreateWAVSink(wavPath)
	if err != nil {
		t.Fatal(err)
	}
	tone := audio.NewTone(1000, 0.5)
	frame := make([]int16, audio.FrameSamples)
	for range 25 {
		_ = tone.ReadFrame(frame)
		_ = sink.WriteFrame(frame)
	}
	_ = sink.Close()

	tests := []struct {
		spec   string
		wantHz float64 // 0: silence
	}{
		{"tone:440", 440},
		{"tone:660.5", 660.5},
		{"silence", 0},
		{"file:" + wavPath, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			spec, err := ParseAudioIn(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if spec.String() != tt.spec {
				t.Errorf("String() = %q, want %q", spec.String(), tt.spec)
			}
			src, err := spec.NewSource(nil)()
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			pcm := make([]int16, 0, 10*audio.FrameSamples)
			for range 10 {
				if err := src.ReadFrame(frame); err != nil {
					t.Fatal(err)
				}
				pcm = append(pcm, frame...)
			}
			hz, _ := audio.DominantFrequency(pcm, audio.SampleRate)
			if math.Abs(hz-tt.wantHz) > 5 {
				t.Errorf("dominant frequency %.1f Hz, want %.1f", hz, tt.wantHz)
			}
		})
	}
}
