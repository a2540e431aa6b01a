package audio

import "errors"

var (
	// ErrNoDevice is returned when the default microphone or speaker cannot be
	// opened, for example on a machine without a sound card.
	ErrNoDevice = errors.New("audio: no sound device")
	// ErrUnknownCodec is returned by NewEncoder and NewDecoder for an SDP
	// encoding name this package does not implement.
	ErrUnknownCodec = errors.New("audio: unknown codec")
	// ErrFrameSize is returned when a PCM frame is not FrameSamples long, or a
	// payload decodes to more than one frame.
	ErrFrameSize = errors.New("audio: wrong frame size")
	// ErrUnsupportedWAV is returned for WAV files that are not integer PCM.
	ErrUnsupportedWAV = errors.New("audio: unsupported WAV format")
)

// ErrProcessing is returned when the voice processor (echo canceller, noise
// suppressor, gain control) fails.
var ErrProcessing = errors.New("audio: voice processing failed")
