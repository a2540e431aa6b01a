package headless

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/parlo-voip/parlo/callengine/audio"
)

// Kinds of audio input and output, as written on the command line.
const (
	AudioTone    = "tone"
	AudioFile    = "file"
	AudioSilence = "silence"
	AudioDevice  = "device"
	AudioNull    = "null"
)

// toneAmplitude is the level of a --audio-in tone:HZ sine (half of full
// scale): loud enough to dominate anything the codec adds, far from clipping.
const toneAmplitude = 0.5

// AudioInSpec is a parsed --audio-in value: tone:HZ, file:PATH.wav, silence
// or device.
type AudioInSpec struct {
	Kind   string
	ToneHz float64 // for AudioTone
	Path   string  // for AudioFile
}

// ParseAudioIn parses an --audio-in value. A file must exist and be a WAV
// file the audio package can play; it is opened once here so a typo fails
// at start, not at the first call.
func ParseAudioIn(s string) (AudioInSpec, error) {
	kind, arg, hasArg := strings.Cut(s, ":")
	switch kind {
	case AudioSilence, AudioDevice:
		if hasArg {
			return AudioInSpec{}, fmt.Errorf("%q takes no argument", kind)
		}
		return AudioInSpec{Kind: kind}, nil
	case AudioTone:
		hz, err := strconv.ParseFloat(arg, 64)
		if err != nil || !hasArg {
			return AudioInSpec{}, fmt.Errorf("tone:HZ needs a frequency in hertz, got %q", arg)
		}
		// Above 20 kHz nothing is audible and Opus cuts it off; at or below
		// 0 there is no tone.
		if !(hz >= 20 && hz <= 20000) {
			return AudioInSpec{}, fmt.Errorf("tone frequency %v Hz is outside 20..20000", hz)
		}
		return AudioInSpec{Kind: kind, ToneHz: hz}, nil
	case AudioFile:
		if arg == "" {
			return AudioInSpec{}, fmt.Errorf("file:PATH.wav needs a path")
		}
		src, err := audio.OpenWAVSource(arg)
		if err != nil {
			return AudioInSpec{}, fmt.Errorf("cannot play %s: %w", arg, err)
		}
		_ = src.Close()
		return AudioInSpec{Kind: kind, Path: arg}, nil
	default:
		return AudioInSpec{}, fmt.Errorf("%q is not one of tone:HZ, file:PATH.wav, silence, device", s)
	}
}

func (s AudioInSpec) String() string {
	switch s.Kind {
	case AudioTone:
		return AudioTone + ":" + strconv.FormatFloat(s.ToneHz, 'f', -1, 64)
	case AudioFile:
		return AudioFile + ":" + s.Path
	case "":
		return AudioSilence
	default:
		return s.Kind
	}
}

// NewSource returns the factory the phone calls once per call: each call
// gets its own tone generator, its own file reader (from the start of the
// file) or its own handle on the microphone, from v when set (the device
// stage with echo cancellation that the speaker shares).
func (s AudioInSpec) NewSource(v *audio.VoiceIO) func() (audio.Source, error) {
	switch s.Kind {
	case AudioTone:
		hz := s.ToneHz
		return func() (audio.Source, error) { return audio.NewTone(hz, toneAmplitude), nil }
	case AudioFile:
		path := s.Path
		return func() (audio.Source, error) { return audio.OpenWAVSource(path) }
	case AudioDevice:
		if v != nil {
			return v.OpenInput
		}
		return audio.OpenDefaultInput
	default:
		return func() (audio.Source, error) { return audio.Silence(), nil }
	}
}

// AudioOutSpec is a parsed --audio-out value: null, file:PATH.wav or device.
type AudioOutSpec struct {
	Kind string
	Path string // for AudioFile
}

// ParseAudioOut parses an --audio-out value. For a file, its directory must
// exist (the file itself is created per call).
func ParseAudioOut(s string) (AudioOutSpec, error) {
	kind, arg, hasArg := strings.Cut(s, ":")
	switch kind {
	case AudioNull, AudioDevice:
		if hasArg {
			return AudioOutSpec{}, fmt.Errorf("%q takes no argument", kind)
		}
		return AudioOutSpec{Kind: kind}, nil
	case AudioFile:
		if arg == "" {
			return AudioOutSpec{}, fmt.Errorf("file:PATH.wav needs a path")
		}
		dir := filepath.Dir(arg)
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return AudioOutSpec{}, fmt.Errorf("directory %s of %s does not exist", dir, arg)
		}
		return AudioOutSpec{Kind: kind, Path: arg}, nil
	default:
		return AudioOutSpec{}, fmt.Errorf("%q is not one of null, file:PATH.wav, device", s)
	}
}

func (s AudioOutSpec) String() string {
	switch s.Kind {
	case AudioFile:
		return AudioFile + ":" + s.Path
	case "":
		return AudioNull
	default:
		return s.Kind
	}
}

// NewSink returns the factory the phone calls once per call that gets media
// (an outgoing call when it is placed, an incoming one when it is accepted).
// With file:PATH.wav the first such call records to PATH.wav, the second to
// PATH-2.wav, the third to PATH-3.wav, so concurrent or successive calls
// never overwrite each other.
func (s AudioOutSpec) NewSink(v *audio.VoiceIO) func() (audio.Sink, error) {
	switch s.Kind {
	case AudioFile:
		path := s.Path
		var n atomic.Int64
		return func() (audio.Sink, error) {
			return audio.CreateWAVSink(NumberedPath(path, int(n.Add(1))))
		}
	case AudioDevice:
		if v != nil {
			return v.OpenOutput
		}
		return audio.OpenDefaultOutput
	default:
		return func() (audio.Sink, error) { return audio.Null(), nil }
	}
}

// NumberedPath is the recording file of the n-th call (from 1): path itself
// for the first, then "-n" inserted before the extension (b.wav, b-2.wav).
func NumberedPath(path string, n int) string {
	if n <= 1 {
		return path
	}
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + "-" + strconv.Itoa(n) + ext
}
