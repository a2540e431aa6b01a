package callengine

import (
	"encoding/binary"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine/audio"
	"github.com/parlo-voip/parlo/internal/testpeers"
)

// These tests put Parlo on a real sound server (PulseAudio, null devices,
// no sound card): Parlo's device I/O plays the far end into the "speaker",
// a loopback carries the speaker into the "microphone" 60 ms later and
// 6 dB down (an echo path like a laptop's), and a second phone, B, talks
// and listens. What B hears of its own talk is the echo Parlo sends back.

// pcmReader streams a Source as endless raw S16LE, for pacat.
type pcmReader struct {
	src audio.Source
	buf []byte
}

func (r *pcmReader) Read(p []byte) (int, error) {
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

// talker is B's voice: speech-like noise it also keeps, to compare with
// what comes back. Muting it makes B listen only.
type talker struct {
	mu    sync.Mutex
	src   audio.Source
	sent  []int16
	quiet bool
}

func (tk *talker) ReadFrame(f []int16) error {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	if err := tk.src.ReadFrame(f); err != nil {
		return err
	}
	if tk.quiet {
		clear(f)
	}
	tk.sent = append(tk.sent, f...)
	if len(tk.sent) > 30*audio.SampleRate {
		tk.sent = slices.Clone(tk.sent[len(tk.sent)-20*audio.SampleRate:])
	}
	return nil
}

func (tk *talker) Close() error { return nil }

func (tk *talker) last(d time.Duration) []int16 {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	n := min(len(tk.sent), int(d.Seconds()*audio.SampleRate))
	return slices.Clone(tk.sent[len(tk.sent)-n:])
}

func meanPower(pcm []int16) float64 {
	var s float64
	for _, v := range pcm {
		s += float64(v) * float64(v)
	}
	return s / math.Max(1, float64(len(pcm)))
}

// echoRig is Parlo (A) on the sound server with an echo path, in a call
// with B.
type echoRig struct {
	pa    *testpeers.Pulse
	vio   *audio.VoiceIO
	a, b  *testPhone
	bTalk *talker
	aID   string
}

func newEchoRig(t *testing.T, p audio.Processing) *echoRig {
	t.Helper()
	pa := testpeers.StartPulse(t)
	t.Setenv("PULSE_SERVER", pa.Server())
	pa.Echo(t, 60, -6)
	// A quiet room's noise floor at the microphone, -70 dBFS.
	pa.Play(t, testpeers.SinkMicWire, &pcmReader{src: audio.NewHiss(9, 0.0003)})
	vio := audio.NewVoiceIO(audio.VoiceIOOptions{Processing: p})
	t.Cleanup(func() { vio.Close() })
	r := &echoRig{pa: pa, vio: vio, bTalk: &talker{src: audio.NewSpeechLike(1, 0.5)}}
	r.a = newTestPhone(t, testPhoneOpts{audioIn: vio.OpenInput, earHistory: 10 * time.Second})
	// A's received audio must reach the speaker: swap the test ear for the
	// device, keeping B's ear a detector that records.
	r.a.Phone.opts.NewAudioOut = vio.OpenOutput
	r.b = newTestPhone(t, testPhoneOpts{audioIn: func() (audio.Source, error) { return r.bTalk, nil }, earHistory: 10 * time.Second})
	r.aID, _ = connect(t, r.a, r.b)
	return r
}

// echoGain runs for d and returns what B heard of its talk over the last
// measure, relative to what it said: the echo path's gain through Parlo.
func (r *echoRig) echoGain(t *testing.T, p audio.Processing, d, measure time.Duration) float64 {
	t.Helper()
	if err := r.vio.SetProcessing(p); err != nil {
		t.Fatal(err)
	}
	time.Sleep(d) // the audio runs in real time; nothing to poll for
	heard := r.b.lastEar(t).Last(measure)
	said := r.bTalk.last(measure)
	return meanPower(heard) / math.Max(meanPower(said), 1)
}

func TestEchoCancellationAtThePeerPulseIntegration(t *testing.T) {
	r := newEchoRig(t, audio.Processing{})
	off := r.echoGain(t, audio.Processing{}, 6*time.Second, 4*time.Second)
	if off < 0.01 {
		t.Fatalf("B heard its echo at %.1f dB: the echo path is broken", 10*math.Log10(off))
	}
	aec := r.echoGain(t, audio.Processing{EchoCancel: true}, 12*time.Second, 6*time.Second)
	all := r.echoGain(t, audio.DefaultProcessing(), 8*time.Second, 6*time.Second)
	erle := 10 * math.Log10(off/math.Max(aec, 1e-12))
	erleAll := 10 * math.Log10(off/math.Max(all, 1e-12))
	t.Logf("B hears its echo at %.1f dB with processing off; ERLE %.1f dB (echo canceller), %.1f dB (defaults: +NS, AGC); canceller's delay estimate %d ms",
		10*math.Log10(off), erle, erleAll, r.vio.EchoDelayMs())
	if erle < 25 {
		t.Errorf("ERLE with the echo canceller %.1f dB, want >= 25", erle)
	}
	// The AGC lifts whatever is quiet, the residual included, so the
	// defaults' figure is lower; it must still be a clear cancellation.
	if erleAll < 20 {
		t.Errorf("ERLE with the default processing %.1f dB, want >= 20", erleAll)
	}
}
