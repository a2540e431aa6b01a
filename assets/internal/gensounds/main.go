// Command gensounds writes Parlo's original tones into assets/sounds:
//
//	go run ./assets/internal/gensounds assets/sounds
//
// Each is 48 kHz mono 16-bit PCM (audio.SampleRate), synthesised here from
// sine partials with soft envelopes, so they are Parlo's own and carry no
// third-party licence. The pauses between repetitions are the player's job,
// which keeps the files small.
package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
)

const rate = 48000

// note is a pitched blip: start and length in seconds, a frequency, and a
// peak level; partials add a quiet octave for warmth.
type note struct {
	at, dur, freq, level float64
}

func render(total float64, notes []note) []int16 {
	n := int(total * rate)
	buf := make([]float64, n)
	for _, nt := range notes {
		start, length := int(nt.at*rate), int(nt.dur*rate)
		attack := int(0.008 * rate)
		for i := 0; i < length && start+i < n; i++ {
			t := float64(i) / rate
			env := math.Exp(-3.2 * t / nt.dur) // bell-like decay
			if i < attack {
				env *= float64(i) / float64(attack)
			}
			if tail := length - i; tail < attack { // no click at the end
				env *= float64(tail) / float64(attack)
			}
			v := math.Sin(2*math.Pi*nt.freq*t) + 0.25*math.Sin(2*math.Pi*2*nt.freq*t)
			buf[start+i] += nt.level * env * v / 1.25
		}
	}
	out := make([]int16, n)
	for i, v := range buf {
		out[i] = int16(math.Max(-1, math.Min(1, v)) * 32767)
	}
	return out
}

// steady is a tone with 20 ms fades, for the ringback.
func steady(dur float64, freqs []float64, level float64) []int16 {
	n := int(dur * rate)
	fade := int(0.02 * rate)
	out := make([]int16, n)
	for i := range out {
		t := float64(i) / rate
		v := 0.0
		for _, f := range freqs {
			v += math.Sin(2 * math.Pi * f * t)
		}
		v /= float64(len(freqs))
		env := 1.0
		if i < fade {
			env = float64(i) / float64(fade)
		} else if n-i < fade {
			env = float64(n-i) / float64(fade)
		}
		out[i] = int16(level * env * v * 32767)
	}
	return out
}

func writeWAV(path string, pcm []int16) error {
	data := make([]byte, 44+2*len(pcm))
	copy(data[0:], "RIFF")
	binary.LittleEndian.PutUint32(data[4:], uint32(36+2*len(pcm)))
	copy(data[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(data[16:], 16)
	binary.LittleEndian.PutUint16(data[20:], 1) // PCM
	binary.LittleEndian.PutUint16(data[22:], 1) // mono
	binary.LittleEndian.PutUint32(data[24:], rate)
	binary.LittleEndian.PutUint32(data[28:], rate*2)
	binary.LittleEndian.PutUint16(data[32:], 2)
	binary.LittleEndian.PutUint16(data[34:], 16)
	copy(data[36:], "data")
	binary.LittleEndian.PutUint32(data[40:], uint32(2*len(pcm)))
	for i, v := range pcm {
		binary.LittleEndian.PutUint16(data[44+2*i:], uint16(v))
	}
	return os.WriteFile(path, data, 0o644)
}

func main() {
	dir := "assets/sounds"
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	// Ringtone: a rising G major arpeggio answered by a falling third,
	// twice — bright enough to hear across a room, short enough to loop.
	var ring []note
	for rep := 0; rep < 2; rep++ {
		base := float64(rep) * 0.62
		for i, f := range []float64{783.99, 987.77, 1174.66, 987.77} {
			ring = append(ring, note{at: base + float64(i)*0.13, dur: 0.22, freq: f, level: 0.55})
		}
	}
	// Hangup: two soft falling notes (E5, A4).
	hang := []note{{0, 0.18, 659.25, 0.45}, {0.16, 0.3, 440, 0.45}}
	sounds := map[string][]int16{
		"ringtone.wav": render(1.3, ring),
		// Ringback: one second of a 425 Hz + 450 Hz beat (a gentle
		// warble), the player adds 3 s of silence between repeats.
		"ringback.wav": steady(1.0, []float64{425, 450}, 0.35),
		"hangup.wav":   render(0.5, hang),
	}
	for name, pcm := range sounds {
		if err := writeWAV(filepath.Join(dir, name), pcm); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
