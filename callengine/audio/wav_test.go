package audio

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	goaudio "github.com/go-audio/audio"
	"github.com/go-audio/wav"
)

func TestWAVSinkWriteRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rec.wav")
	sink, err := CreateWAVSink(path)
	if err != nil {
		t.Fatal(err)
	}
	in := readFrames(t, NewTone(440, 0.6), 25)
	in[0], in[1] = math.MaxInt16, math.MinInt16 // extremes survive
	for f := 0; f < len(in); f += FrameSamples {
		if err := sink.WriteFrame(in[f : f+FrameSamples]); err != nil {
			t.Fatal(err)
		}
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sink.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := sink.WriteFrame(in[:FrameSamples]); !errors.Is(err, ErrClosed) {
		t.Errorf("WriteFrame after Close = %v", err)
	}
	st, _ := os.Stat(path)
	if want := int64(44 + 2*len(in)); st.Size() != want {
		t.Errorf("file is %d bytes, want %d", st.Size(), want)
	}
	got, rate, err := ReadWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	if rate != SampleRate || len(got) != len(in) {
		t.Fatalf("ReadWAV: %d samples at %d Hz, want %d at %d", len(got), rate, len(in), SampleRate)
	}
	for i := range in {
		if got[i] != in[i] {
			t.Fatalf("sample %d: %d, want %d", i, got[i], in[i])
		}
	}
	// Header fields as another program would read them.
	dec := wav.NewDecoder(mustOpen(t, path))
	dec.ReadInfo()
	if !dec.IsValidFile() || dec.NumChans != 1 || dec.SampleRate != SampleRate || dec.BitDepth != 16 {
		t.Errorf("header: valid=%v %d ch %d Hz %d bit", dec.IsValidFile(), dec.NumChans, dec.SampleRate, dec.BitDepth)
	}
}

func TestWAVSinkEmpty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.wav")
	sink, err := CreateWAVSink(path)
	if err != nil {
		t.Fatal(err)
	}
	sink.Close()
	pcm, rate, err := ReadWAV(path)
	if err != nil || len(pcm) != 0 || rate != SampleRate {
		t.Errorf("empty recording: %d samples, %d Hz, %v", len(pcm), rate, err)
	}
}

// wavSpec describes a test file: a 440 Hz tone at 0.5 of full scale on every
// channel.
type wavSpec struct {
	rate, channels, bits int
	float                bool
	goAudio              bool // write with go-audio even if sox is installed
}

// makeWAV writes a test file. It uses sox when installed, as recordings from
// other programs would be made, else (or when asked) go-audio, which cannot
// write float.
func makeWAV(t *testing.T, spec wavSpec, seconds float64) string {
	t.Helper()
	if spec.bits == 0 {
		spec.bits = 16
	}
	path := filepath.Join(t.TempDir(), fmt.Sprintf("tone-%d-%d-%d.wav", spec.rate, spec.channels, spec.bits))
	if sox, err := exec.LookPath("sox"); err == nil && !spec.goAudio {
		args := []string{"-n", "-r", fmt.Sprint(spec.rate), "-b", fmt.Sprint(spec.bits), "-c", fmt.Sprint(spec.channels)}
		if spec.float {
			args = append(args, "-e", "floating-point")
		}
		args = append(args, path, "synth", fmt.Sprint(seconds), "sine", "440", "vol", "0.5")
		if out, err := exec.Command(sox, args...).CombinedOutput(); err != nil {
			t.Fatalf("sox: %v\n%s", err, out)
		}
		return path
	}
	if spec.float {
		t.Fatal("float WAV needs sox (apt-get install sox)")
	}
	n := int(seconds * float64(spec.rate))
	buf := &goaudio.IntBuffer{Format: &goaudio.Format{NumChannels: spec.channels, SampleRate: spec.rate}, SourceBitDepth: spec.bits}
	for i := range n {
		v := 0.5 * math.Sin(2*math.Pi*440*float64(i)/float64(spec.rate))
		var s int
		switch spec.bits {
		case 8:
			s = int(math.Round(v*127)) + 128 // 8-bit WAV is unsigned
		default:
			s = int(math.Round(v * float64(int64(1)<<(spec.bits-1)-1)))
		}
		for range spec.channels {
			buf.Data = append(buf.Data, s)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	enc := wav.NewEncoder(f, spec.rate, spec.bits, spec.channels, 1)
	if err := enc.Write(buf); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return path
}

// TestReadWAVMixdown checks stereo is averaged, not one channel taken.
func TestReadWAVMixdown(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lr.wav")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	enc := wav.NewEncoder(f, 8000, 16, 2, 1)
	frames := []int{2000, 0, 1000, -1000, -3000, -1000, 32767, 32767}
	enc.Write(&goaudio.IntBuffer{Data: frames, Format: &goaudio.Format{NumChannels: 2, SampleRate: 8000}, SourceBitDepth: 16})
	enc.Close()
	f.Close()
	pcm, rate, err := ReadWAV(path)
	if err != nil || rate != 8000 {
		t.Fatalf("ReadWAV: %v, %d Hz", err, rate)
	}
	want := []int16{1000, 0, -2000, 32767}
	if fmt.Sprint(pcm) != fmt.Sprint(want) {
		t.Errorf("mixdown %v, want %v", pcm, want)
	}
}

func TestWAVSourceFormats(t *testing.T) {
	for _, tc := range []wavSpec{
		{rate: 48000, channels: 1},
		{rate: 8000, channels: 1},
		{rate: 8000, channels: 2},
		{rate: 8000, channels: 2, goAudio: true},
		{rate: 16000, channels: 2},
		{rate: 44100, channels: 1},
		{rate: 44100, channels: 2, goAudio: true},
		{rate: 22050, channels: 1, bits: 8, goAudio: true},
		{rate: 48000, channels: 2, bits: 24},
		{rate: 32000, channels: 1, bits: 32},
		{rate: 48000, channels: 1, bits: 32, float: true},
	} {
		name := fmt.Sprintf("%dHz-%dch-%dbit", tc.rate, tc.channels, cmp.Or(tc.bits, 16))
		if tc.float {
			name += "-float"
		}
		if tc.goAudio {
			name += "-goaudio"
		}
		t.Run(name, func(t *testing.T) {
			path := makeWAV(t, tc, 0.5)
			pcm, rate, err := ReadWAV(path)
			if err != nil {
				t.Fatal(err)
			}
			if rate != tc.rate || math.Abs(float64(len(pcm)-tc.rate/2)) > 1 {
				t.Fatalf("ReadWAV: %d samples at %d Hz", len(pcm), rate)
			}
			if hz, _ := DominantFrequency(pcm, rate); math.Abs(hz-440) > 5 {
				t.Errorf("ReadWAV: %.2f Hz", hz)
			}

			src, err := OpenWAVSource(path)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			out := readFrames(t, src, 35) // 0.7 s: the file and then silence
			tone := out[:24000]
			hz, _ := DominantFrequency(tone[2000:], SampleRate)
			if math.Abs(hz-440) > 5 {
				t.Errorf("WAVSource: %.2f Hz", hz)
			}
			// Mixed down, the level is the one tone's: 0.5 peak.
			// 8-bit files carry about 0.4% of quantisation noise.
			if rms := RMS(tone[2000:22000]); math.Abs(rms-0.5/math.Sqrt2) > 0.02 {
				t.Errorf("WAVSource: rms %.3f, want %.3f", rms, 0.5/math.Sqrt2)
			}
			if rms := RMS(out[25000:]); rms != 0 {
				t.Errorf("after the end of the file rms %.5f, want silence", rms)
			}
		})
	}
}

// TestReadWAVUnfinalised reads a file whose data size was never written, as
// baresip's aufile leaves it while recording or if killed.
func TestReadWAVUnfinalised(t *testing.T) {
	path := makeWAV(t, wavSpec{rate: 8000, channels: 1}, 0.25)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := ReadWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	// Find the data chunk and zero its size (and the RIFF size).
	for i := 12; i+8 <= len(raw); {
		size := int(binary.LittleEndian.Uint32(raw[i+4:]))
		if string(raw[i:i+4]) == "data" {
			binary.LittleEndian.PutUint32(raw[i+4:], 0)
			break
		}
		i += 8 + size + size&1
	}
	binary.LittleEndian.PutUint32(raw[4:], 0)
	bad := filepath.Join(t.TempDir(), "unfinished.wav")
	os.WriteFile(bad, raw, 0o600)
	got, rate, err := ReadWAV(bad)
	if err != nil || rate != 8000 || len(got) != len(want) {
		t.Errorf("unfinalised: %d samples at %d Hz (%v), want %d", len(got), rate, err, len(want))
	}
}

func TestWAVErrors(t *testing.T) {
	dir := t.TempDir()
	notWAV := filepath.Join(dir, "x.wav")
	os.WriteFile(notWAV, []byte("this is not a wav file at all"), 0o600)
	if _, _, err := ReadWAV(notWAV); !errors.Is(err, ErrUnsupportedWAV) {
		t.Errorf("ReadWAV(text) = %v", err)
	}
	if _, err := OpenWAVSource(notWAV); !errors.Is(err, ErrUnsupportedWAV) {
		t.Errorf("OpenWAVSource(text) = %v", err)
	}
	if _, err := OpenWAVSource(filepath.Join(dir, "missing.wav")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OpenWAVSource(missing) = %v", err)
	}
	if _, err := CreateWAVSink(filepath.Join(dir, "no", "such", "dir.wav")); err == nil {
		t.Error("CreateWAVSink in a missing directory succeeded")
	}
	src, err := OpenWAVSource(makeWAV(t, wavSpec{rate: 8000, channels: 1}, 0.1))
	if err != nil {
		t.Fatal(err)
	}
	src.Close()
	if err := src.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := src.ReadFrame(make([]int16, FrameSamples)); !errors.Is(err, ErrClosed) {
		t.Errorf("ReadFrame after Close = %v", err)
	}
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
