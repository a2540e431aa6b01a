package audio

import (
	"fmt"
	"strings"
)

// Codec names as they appear in SDP rtpmap lines (RFC 4566 §6, RFC 3551 §6,
// RFC 7587 §7).
const (
	CodecOpus = "opus"
	CodecPCMU = "PCMU"
	CodecPCMA = "PCMA"
)

// DefaultOpusBitrate is the Opus bitrate NewEncoder uses: wideband speech at
// good quality (RFC 7587 §3.1.1 recommends 16-20 kb/s for fullband speech
// with 20 ms frames; a little more costs nothing on a desktop link).
const DefaultOpusBitrate = 32000

// NewEncoder returns an encoder for an SDP encoding name, matched
// case-insensitively: "opus", "PCMU" or "PCMA". Encoders and decoders keep
// state between frames (codec history, resampler filters): use one per
// stream, from one goroutine.
func NewEncoder(name string) (Encoder, error) {
	switch {
	case strings.EqualFold(name, CodecOpus):
		return NewOpusEncoder(DefaultOpusBitrate)
	case strings.EqualFold(name, CodecPCMU):
		return NewG711Encoder(MuLaw), nil
	case strings.EqualFold(name, CodecPCMA):
		return NewG711Encoder(ALaw), nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownCodec, name)
}

// NewDecoder returns a decoder for an SDP encoding name, matched
// case-insensitively: "opus", "PCMU" or "PCMA".
func NewDecoder(name string) (Decoder, error) {
	switch {
	case strings.EqualFold(name, CodecOpus):
		return NewOpusDecoder()
	case strings.EqualFold(name, CodecPCMU):
		return NewG711Decoder(MuLaw), nil
	case strings.EqualFold(name, CodecPCMA):
		return NewG711Decoder(ALaw), nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownCodec, name)
}

// ClockRate returns the RTP clock rate for an SDP encoding name: 48000 for
// Opus even when mono (RFC 7587 §4.1), 8000 for G.711 (RFC 3551 §4.5.14).
func ClockRate(name string) (int, error) {
	switch {
	case strings.EqualFold(name, CodecOpus):
		return SampleRate, nil
	case strings.EqualFold(name, CodecPCMU), strings.EqualFold(name, CodecPCMA):
		return g711Rate, nil
	}
	return 0, fmt.Errorf("%w: %q", ErrUnknownCodec, name)
}
