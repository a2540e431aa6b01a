package audio

import (
	"math"
	"testing"
)

// echoPath simulates a room: the speaker's signal comes back delayed,
// attenuated and with one reflection.
type echoPath struct {
	hist  []int16
	delay int
	gain  float64
}

func (e *echoPath) step(far []int16) []int16 {
	e.hist = append(e.hist, far...)
	out := make([]int16, len(far))
	refl := e.delay + 7*SampleRate/1000
	for i := range out {
		n := len(e.hist) - len(far) + i
		var v float64
		if n-e.delay >= 0 {
			v += e.gain * float64(e.hist[n-e.delay])
		}
		if n-refl >= 0 {
			v += e.gain * 0.3 * float64(e.hist[n-refl])
		}
		out[i] = clamp16(v)
	}
	if len(e.hist) > SampleRate {
		e.hist = e.hist[len(e.hist)-SampleRate:]
	}
	return out
}

func power(pcm []int16) float64 {
	var s float64
	for _, v := range pcm {
		s += float64(v) * float64(v)
	}
	return s / math.Max(1, float64(len(pcm)))
}

// toneLevel is the amplitude of freq in pcm (Goertzel), in int16 units.
func toneLevel(pcm []int16, freq float64) float64 {
	w := 2 * math.Pi * freq / SampleRate
	c := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range pcm {
		s1, s2 = float64(v)+c*s1-s2, s1
	}
	re := s1 - s2*math.Cos(w)
	im := s2 * math.Sin(w)
	return 2 * math.Hypot(re, im) / float64(len(pcm))
}

// runEcho feeds seconds of far-end speech through the echo path and the
// processor (near-end extra added to the microphone) and returns the raw
// microphone and the processed output.
func runEcho(t *testing.T, cfg Processing, seconds, delayMs, reportedDelay int, near Source) (mic, out []int16) {
	t.Helper()
	p, err := NewProcessor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	far := NewSpeechLike(1, 0.6)
	room := &echoPath{delay: delayMs * SampleRate / 1000, gain: 0.5}
	// A quiet room's noise floor at the microphone, -70 dBFS.
	floor := NewHiss(9, 0.0003)
	f := make([]int16, ProcessFrameSamples)
	n := make([]int16, ProcessFrameSamples)
	for range seconds * 100 {
		far.ReadFrame(f)
		m := room.step(f)
		floor.ReadFrame(n)
		for i := range m {
			m[i] = clamp16(float64(m[i]) + float64(n[i]))
		}
		if near != nil {
			near.ReadFrame(n)
			for i := range m {
				m[i] = clamp16(float64(m[i]) + float64(n[i]))
			}
		}
		mic = append(mic, m...)
		if err := p.Render(f); err != nil {
			t.Fatal(err)
		}
		if err := p.Capture(m, reportedDelay); err != nil {
			t.Fatal(err)
		}
		out = append(out, m...)
	}
	return mic, out
}

func TestProcessorEchoCancellation(t *testing.T) {
	tests := []struct {
		name     string
		delayMs  int
		reported int
	}{
		{"delay 30 ms, reported 20", 30, 20},
		{"delay 90 ms, reported 20", 90, 20},
		{"delay 180 ms, reported 150", 180, 150},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mic, out := runEcho(t, Processing{EchoCancel: true}, 12, tt.delayMs, tt.reported, nil)
			// After 4 s of convergence.
			skip := 4 * SampleRate
			erle := 10 * math.Log10(power(mic[skip:])/math.Max(power(out[skip:]), 1e-3))
			t.Logf("ERLE %.1f dB (echo delay %d ms)", erle, tt.delayMs)
			if erle < 25 {
				t.Errorf("ERLE = %.1f dB, want >= 25", erle)
			}
		})
	}
}

func TestProcessorOffPassesThrough(t *testing.T) {
	mic, out := runEcho(t, Processing{}, 2, 50, 50, nil)
	// The high-pass filter stays on; what it removes of a 200+ Hz band
	// is a fraction of a dB.
	d := 10 * math.Log10(power(mic)/power(out))
	if math.Abs(d) > 1 {
		t.Errorf("processing off changed the level by %.1f dB", d)
	}
}

func TestProcessorDoubleTalk(t *testing.T) {
	const hz = 1200
	_, out := runEcho(t, Processing{EchoCancel: true}, 10, 60, 50, NewTone(hz, 0.1))
	tail := out[4*SampleRate:]
	lvl := 20 * math.Log10(toneLevel(tail, hz)/(0.1*math.MaxInt16))
	f, _ := DominantFrequency(tail, SampleRate)
	t.Logf("near-end tone kept at %.1f dB during double talk, dominant %.0f Hz", lvl, f)
	if math.Abs(f-hz) > 20 {
		t.Errorf("dominant frequency during double talk = %.0f Hz, want the near-end %d Hz", f, hz)
	}
	if lvl < -20 {
		t.Errorf("near-end tone at %.1f dB of its level during double talk, want > -20 dB", lvl)
	}
}

// segmentalSNR splits pcm at the syllables of the clean reference: the
// power where the reference talks, less the noise, over the power in its
// pauses.
func segmentalSNR(ref, pcm []int16) float64 {
	var talk, quiet float64
	var nt, nq int
	const win = ProcessFrameSamples
	for i := 0; i+win <= len(ref); i += win {
		r, p := power(ref[i:i+win]), power(pcm[i:i+win])
		switch {
		case r > 1e5:
			talk += p
			nt++
		case r < 1e2:
			quiet += p
			nq++
		}
	}
	talk /= float64(max(nt, 1))
	quiet /= float64(max(nq, 1))
	return 10 * math.Log10(math.Max(talk-quiet, 1)/math.Max(quiet, 1e-3))
}

func TestProcessorNoiseSuppression(t *testing.T) {
	run := func(cfg Processing) float64 {
		p, err := NewProcessor(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		talk := NewSpeechLike(7, 0.5)
		hiss := NewHiss(3, 0.03)
		var ref, out []int16
		f := make([]int16, ProcessFrameSamples)
		h := make([]int16, ProcessFrameSamples)
		silent := make([]int16, ProcessFrameSamples)
		for range 1000 {
			talk.ReadFrame(f)
			ref = append(ref, f...)
			hiss.ReadFrame(h)
			for i := range f {
				f[i] = clamp16(float64(f[i]) + float64(h[i]))
			}
			p.Render(silent)
			if err := p.Capture(f, 20); err != nil {
				t.Fatal(err)
			}
			out = append(out, f...)
		}
		s := 3 * SampleRate
		return segmentalSNR(ref[s:], out[s:])
	}
	off, on := run(Processing{}), run(Processing{NoiseSuppress: true})
	t.Logf("SNR with noise suppression off %.1f dB, on %.1f dB", off, on)
	if on-off < 10 {
		t.Errorf("noise suppression gained %.1f dB of SNR, want >= 10", on-off)
	}
}

// BenchmarkAEC is the CPU of the microphone processing per 10 ms frame:
// one reference frame analysed and one microphone frame cleaned, on a
// room echo of speech-like talk. The sub-benchmarks switch stages.
func BenchmarkAEC(b *testing.B) {
	for _, bc := range []struct {
		name string
		cfg  Processing
	}{
		{"all", DefaultProcessing()},
		{"echo", Processing{EchoCancel: true}},
		{"noise", Processing{NoiseSuppress: true}},
		{"gain", Processing{AutoGain: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p, err := NewProcessor(bc.cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			far := NewSpeechLike(1, 0.6)
			room := &echoPath{delay: 60 * SampleRate / 1000, gain: 0.5}
			// Precomputed 10 s of input, so the loop measures the processor.
			const frames = 1000
			fars := make([][]int16, frames)
			mics := make([][]int16, frames)
			for i := range frames {
				f := make([]int16, ProcessFrameSamples)
				far.ReadFrame(f)
				fars[i], mics[i] = f, room.step(f)
			}
			m := make([]int16, ProcessFrameSamples)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				k := i % frames
				copy(m, mics[k])
				if err := p.Render(fars[k]); err != nil {
					b.Fatal(err)
				}
				if err := p.Capture(m, 60); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e7*100, "%cpu")
		})
	}
}
