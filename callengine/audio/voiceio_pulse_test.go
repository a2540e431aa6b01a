package audio_test

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine/audio"
	"github.com/parlo-voip/parlo/internal/testpeers"
)

func power(pcm []int16) float64 {
	var s float64
	for _, v := range pcm {
		s += float64(v) * float64(v)
	}
	return s / math.Max(1, float64(len(pcm)))
}

// pump plays far into out and collects what in gives, one frame per 20 ms
// like a call's media loop, for d.
func pump(t *testing.T, far audio.Source, out audio.Sink, in audio.Source, d time.Duration) []int16 {
	t.Helper()
	var got []int16
	f := make([]int16, audio.FrameSamples)
	tk := time.NewTicker(20 * time.Millisecond)
	defer tk.Stop()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		<-tk.C
		far.ReadFrame(f)
		if err := out.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
		if err := in.ReadFrame(f); err != nil {
			t.Fatal(err)
		}
		got = append(got, f...)
	}
	return got
}

// phase runs the echo path with processing p for d and returns the ratio
// of what the microphone sent to what the speaker played over the last
// measure of it: the echo path's gain, after processing.
func phase(t *testing.T, v *audio.VoiceIO, far audio.Source, out audio.Sink, in audio.Source, p audio.Processing, d, measure time.Duration) float64 {
	t.Helper()
	if err := v.SetProcessing(p); err != nil {
		t.Fatal(err)
	}
	rec := &recordingSource{Source: far}
	got := pump(t, rec, out, in, d)
	n := min(int(measure.Seconds()*audio.SampleRate), len(got), len(rec.pcm))
	var series []string
	for i := 0; i+audio.SampleRate <= len(got) && i+audio.SampleRate <= len(rec.pcm); i += audio.SampleRate / 2 {
		series = append(series, fmt.Sprintf("%.0f", 10*math.Log10(power(got[i:i+audio.SampleRate])/power(rec.pcm[i:i+audio.SampleRate]))))
	}
	t.Logf("%+v gain per 0.5 s: %s", p, strings.Join(series, " "))
	return power(got[len(got)-n:]) / power(rec.pcm[len(rec.pcm)-n:])
}

// sourceReader is src as endless raw S16LE, for pacat.
type sourceReader struct {
	src audio.Source
	buf []byte
}

func (r *sourceReader) Read(p []byte) (int, error) {
	if len(r.buf) == 0 {
		f := make([]int16, audio.FrameSamples)
		if err := r.src.ReadFrame(f); err != nil {
			return 0, err
		}
		r.buf = make([]byte, 2*len(f))
		for i, v := range f {
			binary.LittleEndian.PutUint16(r.buf[2*i:], uint16(v))
		}
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// recordingSource keeps what it gave.
type recordingSource struct {
	audio.Source
	pcm []int16
}

func (r *recordingSource) ReadFrame(f []int16) error {
	err := r.Source.ReadFrame(f)
	r.pcm = append(r.pcm, f...)
	return err
}

func TestVoiceIOEchoCancellationPulse(t *testing.T) {
	pa := testpeers.StartPulse(t)
	t.Setenv("PULSE_SERVER", pa.Server())
	pa.Echo(t, 60, -6)
	// A quiet room's noise floor, -70 dBFS.
	pa.Play(t, testpeers.SinkMicWire, &sourceReader{src: audio.NewHiss(9, 0.0003)})
	v := audio.NewVoiceIO(audio.VoiceIOOptions{})
	defer v.Close()
	out, err := v.OpenOutput()
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	in, err := v.OpenInput()
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	far := audio.NewSpeechLike(1, 0.5)
	off := phase(t, v, far, out, in, audio.Processing{}, 5*time.Second, 3*time.Second)
	if off < 0.01 {
		t.Fatalf("echo path gain %.1f dB: the test's echo path is broken", 10*math.Log10(off))
	}
	aec := phase(t, v, far, out, in, audio.Processing{EchoCancel: true}, 12*time.Second, 6*time.Second)
	all := phase(t, v, far, out, in, audio.DefaultProcessing(), 8*time.Second, 5*time.Second)
	erle := 10 * math.Log10(off/math.Max(aec, 1e-12))
	erleAll := 10 * math.Log10(off/math.Max(all, 1e-12))
	t.Logf("echo path %.1f dB; ERLE %.1f dB (echo canceller), %.1f dB (all stages); canceller's delay estimate %d ms",
		10*math.Log10(off), erle, erleAll, v.EchoDelayMs())
	if erle < 25 {
		t.Errorf("ERLE %.1f dB with the echo canceller, want >= 25", erle)
	}
	// The AGC lifts whatever is quiet, the residual included, so the
	// defaults' figure is lower; it must still be a clear cancellation.
	if erleAll < 15 {
		t.Errorf("ERLE %.1f dB with all stages, want >= 15", erleAll)
	}
}
