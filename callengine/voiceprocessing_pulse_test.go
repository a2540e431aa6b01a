package callengine

import (
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
	pa.Play(t, testpeers.SinkMicWire, audio.NewHiss(9, 0.0003))
	vio := audio.NewVoiceIO(audio.VoiceIOOptions{Processing: p})
	t.Cleanup(func() { vio.Close() })
	r := &echoRig{pa: pa, vio: vio, bTalk: &talker{src: audio.NewSpeechLike(1, 0.5)}}
	// A's received audio goes to the speaker; B's ear is a detector that
	// records.
	r.a = newTestPhone(t, testPhoneOpts{audioIn: vio.OpenInput, tune: func(o *Options) { o.NewAudioOut = vio.OpenOutput }})
	r.b = newTestPhone(t, testPhoneOpts{audioIn: func() (audio.Source, error) { return r.bTalk, nil }, earHistory: 10 * time.Second})
	r.aID, _ = connect(t, r.a, r.b)
	return r
}

// echoGain runs for d and returns what B heard of its talk over the last
// measure, relative to what it said: the echo path's gain through Parlo,
// as the mean over the whole measure and as the median of 2 s windows. The
// median is the converged figure: on a loaded machine the speaker's thread
// sometimes misses its deadline, the sound server plays a gap, the echo
// shifts and the canceller re-converges for a second; the mean counts
// those seconds, the median does not.
func (r *echoRig) echoGain(t *testing.T, p audio.Processing, d, measure time.Duration) (mean, median float64) {
	t.Helper()
	if err := r.vio.SetProcessing(p); err != nil {
		t.Fatal(err)
	}
	time.Sleep(d) // the audio runs in real time; nothing to poll for
	heard := r.b.lastEar(t).Last(measure)
	said := r.bTalk.last(measure)
	n := min(len(heard), len(said))
	hl, sl := len(heard), len(said)
	heard, said = heard[len(heard)-n:], said[len(said)-n:]
	var wins []float64
	const w, hop = 2 * audio.SampleRate, audio.SampleRate / 2
	for i := 0; i+w <= n; i += hop {
		wins = append(wins, meanPower(heard[i:i+w])/math.Max(meanPower(said[i:i+w]), 1))
	}
	slices.Sort(wins)
	if len(wins) == 0 {
		t.Fatalf("only %d samples compared (heard %d, said %d)", n, hl, sl)
	}
	return meanPower(heard) / math.Max(meanPower(said), 1), wins[len(wins)/2]
}

func TestEchoCancellationAtThePeerPulseIntegration(t *testing.T) {
	r := newEchoRig(t, audio.Processing{})
	off, offMed := r.echoGain(t, audio.Processing{}, 6*time.Second, 4*time.Second)
	if off < 0.01 {
		t.Fatalf("B heard its echo at %.1f dB: the echo path is broken", 10*math.Log10(off))
	}
	aec, aecMed := r.echoGain(t, audio.Processing{EchoCancel: true}, 14*time.Second, 8*time.Second)
	all, allMed := r.echoGain(t, audio.DefaultProcessing(), 10*time.Second, 8*time.Second)
	db := func(a, b float64) float64 { return 10 * math.Log10(a/math.Max(b, 1e-12)) }
	erle, erleAll := db(offMed, aecMed), db(offMed, allMed)
	t.Logf("B hears its echo at %.1f dB with processing off; ERLE median of 2 s windows %.1f dB (echo canceller), %.1f dB (defaults: +NS, AGC); "+
		"over the whole 8 s %.1f dB and %.1f dB; canceller's delay estimate %d ms",
		10*math.Log10(off), erle, erleAll, db(off, aec), db(off, all), r.vio.EchoDelayMs())
	if erle < 25 {
		t.Errorf("ERLE with the echo canceller %.1f dB, want >= 25", erle)
	}
	// The AGC lifts whatever is quiet, the residual included (measured:
	// 5-10 dB), so the defaults' figure is lower; it must still be a clear
	// cancellation.
	if erleAll < 15 {
		t.Errorf("ERLE with the default processing %.1f dB, want >= 15", erleAll)
	}
}

// Double talk: while B talks (and its echo comes back), Parlo's user talks
// too (a 1200 Hz tone into the microphone); B must hear that, not silence.
func TestDoubleTalkAtThePeerPulseIntegration(t *testing.T) {
	r := newEchoRig(t, audio.DefaultProcessing())
	const hz = 1200
	r.pa.Play(t, testpeers.SinkMicWire, audio.NewTone(hz, 0.1))
	deadline := time.Now().Add(20 * time.Second)
	var f, rms float64
	for time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		heard := r.b.lastEar(t).Last(2 * time.Second)
		f, _ = audio.DominantFrequency(heard, audio.SampleRate)
		rms = audio.RMS(heard)
		// The tone's own RMS is 0.07; processing may duck it in double
		// talk, never remove it.
		if math.Abs(f-hz) < 15 && rms > 0.01 {
			t.Logf("B hears the near-end %d Hz at rms %.3f while talking", hz, rms)
			return
		}
	}
	t.Fatalf("during double talk B hears %.0f Hz at rms %.3f, want the near-end %d Hz", f, rms, hz)
}

// percentileSNR estimates the SNR of speech in noise without a reference:
// the loudest fifth of 20 ms windows is talk (plus noise), the quietest
// fifth is noise alone. Digital silence (a playout gap: a late packet on a
// loaded machine) is neither and is left out.
func percentileSNR(pcm []int16) float64 {
	const win = audio.FrameSamples
	var p []float64
	for i := 0; i+win <= len(pcm); i += win {
		if w := meanPower(pcm[i : i+win]); w > 1 {
			p = append(p, w)
		}
	}
	if len(p) == 0 {
		return 0
	}
	slices.Sort(p)
	k := max(1, len(p)/5)
	var lo, hi float64
	for _, v := range p[:k] {
		lo += v
	}
	for _, v := range p[len(p)-k:] {
		hi += v
	}
	lo, hi = lo/float64(k), hi/float64(k)
	return 10 * math.Log10(math.Max(hi-lo, 1)/math.Max(lo, 1))
}

// Noise suppression: Parlo's user talks in a noisy room (white noise at
// -30 dBFS); B listens. B's SNR must improve with suppression on.
func TestNoiseSuppressionAtThePeerPulseIntegration(t *testing.T) {
	r := newEchoRig(t, audio.Processing{})
	r.bTalk.mu.Lock()
	r.bTalk.quiet = true
	r.bTalk.mu.Unlock()
	r.pa.Play(t, testpeers.SinkMicWire, audio.NewSpeechLike(7, 0.4))
	r.pa.Play(t, testpeers.SinkMicWire, audio.NewHiss(3, 0.03))
	measure := func(p audio.Processing) float64 {
		if err := r.vio.SetProcessing(p); err != nil {
			t.Fatal(err)
		}
		time.Sleep(8 * time.Second) // real-time audio: let it run
		return percentileSNR(r.b.lastEar(t).Last(6 * time.Second))
	}
	off := measure(audio.Processing{})
	on := measure(audio.Processing{NoiseSuppress: true})
	t.Logf("SNR at B: %.1f dB with noise suppression off, %.1f dB on (+%.1f dB)", off, on, on-off)
	if on-off < 10 {
		t.Errorf("noise suppression gained %.1f dB of SNR at the peer, want >= 10", on-off)
	}
}

// waitMonitor waits until rec's last 400 ms carry hz at a real level, or
// with hz 0 near silence.
func waitMonitor(t *testing.T, rec *testpeers.PulseRecording, what string, hz float64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var f, rms float64
	for time.Now().Before(deadline) {
		pcm := rec.Last(400 * time.Millisecond)
		f, _ = audio.DominantFrequency(pcm, audio.SampleRate)
		rms = audio.RMS(pcm)
		if (hz == 0 && len(pcm) > 0 && rms < 0.003) || (hz != 0 && math.Abs(f-hz) < 15 && rms > 0.05) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: heard %.0f Hz at rms %.3f, want %.0f Hz", what, f, rms, hz)
}

// Mid-call: the speaker moves to the headset (the headset plays, the old
// speaker stops), the microphone moves while muted and stays muted, and
// unplugging the headset moves the call back to the default speaker
// without ending it.
func TestDevicesChangeMidCallPulseIntegration(t *testing.T) {
	r := newEchoRig(t, audio.DefaultProcessing())
	r.pa.UnloadModule(t, r.pa.SinkModule(t, testpeers.SinkMicWire)) // no echo, no hiss: clean tones
	r.pa.LoadModule(t, "module-null-sink", "sink_name="+testpeers.SinkMicWire, "rate=48000", "channels=1")
	r.bTalk.mu.Lock()
	r.bTalk.src = audio.NewTone(440, 0.3)
	r.bTalk.mu.Unlock()
	spk := r.pa.Record(t, testpeers.SinkSpeaker+".monitor")
	headset := r.pa.Record(t, testpeers.SinkSpeaker2+".monitor")
	waitMonitor(t, spk, "default speaker", 440, 10*time.Second)

	headsetIDDev, err := audio.FindDevice(audio.Speaker, testpeers.SinkSpeaker2)
	if err != nil {
		t.Fatal(err)
	}
	headsetID := headsetIDDev.ID
	if err := r.vio.SetDevices("", headsetID); err != nil {
		t.Fatal(err)
	}
	waitMonitor(t, headset, "headset after the switch", 440, 10*time.Second)
	waitMonitor(t, spk, "old speaker after the switch", 0, 5*time.Second)

	// Mute, then move the microphone to the headset's own microphone (a
	// source of its own, as on a real headset, carrying a tone): B must
	// still hear nothing; unmuted, it hears the tone. The headset's
	// speaker monitor would not do as a microphone: it carries the far
	// end's voice too, which the echo canceller rightly removes along with
	// much of the tone.
	if err := r.a.Mute(r.aID); err != nil {
		t.Fatal(err)
	}
	const headsetMic = "parlo_headset_mic"
	r.pa.LoadModule(t, "module-null-sink", "sink_name="+headsetMic, "rate=48000", "channels=1")
	r.pa.Play(t, headsetMic, audio.NewTone(1200, 0.3))
	micIDDev, err := audio.FindDevice(audio.Microphone, headsetMic+".monitor")
	if err != nil {
		t.Fatal(err)
	}
	micID := micIDDev.ID
	if err := r.vio.SetDevices(micID, headsetID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // what B hears now must stay silence
	if _, rms := r.b.lastEar(t).Frequency(1500 * time.Millisecond); rms > 0.003 {
		t.Fatalf("muted, yet B hears rms %.3f after the microphone changed", rms)
	}
	if err := r.a.Unmute(r.aID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		f, rms := r.b.lastEar(t).Frequency(400 * time.Millisecond)
		if math.Abs(f-1200) < 15 && rms > 0.02 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("unmuted, B hears %.0f Hz at rms %.3f, want the new microphone's 1200 Hz", f, rms)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Unplug the headset: the call goes on, on the default speaker.
	r.pa.UnloadModule(t, r.pa.SinkModule(t, testpeers.SinkSpeaker2))
	waitMonitor(t, spk, "default speaker after the unplug", 440, 15*time.Second)
	if n := r.a.rec.count(EventCallEnded, r.aID); n != 0 {
		t.Fatal("the call ended with the unplug")
	}
}
