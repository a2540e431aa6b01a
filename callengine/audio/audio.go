// Package audio carries Parlo's sound: PCM sources and sinks (microphone and
// speaker, tone generator, WAV files, silence), the codecs a call negotiates
// (Opus, G.711), a jitter buffer for the receive path, and a tone detector
// the tests use to check that real audio crossed a call.
//
// All PCM in this package is signed 16-bit, mono, at SampleRate, moved in
// frames of FrameSamples (20 ms), the ptime every peer Parlo talks to uses.
package audio

import "errors"

const (
	// SampleRate is the rate of all PCM inside Parlo (Opus' native rate).
	SampleRate = 48000
	// FrameDurationMs is the packetisation time in milliseconds (RFC 7587 default).
	FrameDurationMs = 20
	// FrameSamples is the number of samples in one frame.
	FrameSamples = SampleRate * FrameDurationMs / 1000
)

// ErrClosed is returned by a Source or Sink used after Close.
var ErrClosed = errors.New("audio: closed")

// Source produces PCM. ReadFrame fills frame (len FrameSamples) with the next
// 20 ms. It must not block for long: pacing is the caller's job (the media
// session ticks every 20 ms), so file and tone sources return at once and a
// device source returns what it has buffered (silence when it has none).
type Source interface {
	ReadFrame(frame []int16) error
	Close() error
}

// Sink consumes PCM, one 20 ms frame (len FrameSamples) per call.
type Sink interface {
	WriteFrame(frame []int16) error
	Close() error
}

// Encoder turns one PCM frame into one RTP payload.
type Encoder interface {
	// Encode encodes frame (FrameSamples at SampleRate) into dst and returns
	// the payload length.
	Encode(frame []int16, dst []byte) (int, error)
}

// Decoder turns one RTP payload back into PCM at SampleRate.
type Decoder interface {
	// Decode decodes payload into frame (len FrameSamples) and returns the
	// number of samples written. A nil payload asks for packet-loss
	// concealment of one frame.
	Decode(payload []byte, frame []int16) (int, error)
}
