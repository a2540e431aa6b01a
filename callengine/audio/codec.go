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
	// CodecG722 is G.722, RTP static payload type 9 (RFC 3551 §4.5.2).
	CodecG722 = "G722"
)

// DefaultOpusBitrate is the Opus bitrate NewEncoder uses: wideband speech at
// good quality (RFC 7587 §3.1.1 recommends 16-20 kb/s for fullband speech
// with 20 ms frames; a little more costs nothing on a desktop link).
const DefaultOpusBitrate = 32000

// NewEncoder returns an encoder for an SDP encoding name, matched
// case-insensitively: "opus", "G722", "PCMU" or "PCMA". Encoders and decoders keep
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
	case strings.EqualFold(name, CodecG722):
		e, err := NewG722Encoder()
		if err != nil {
			return nil, err
		}
		return e, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownCodec, name)
}

// NewDecoder returns a decoder for an SDP encoding name, matched
// case-insensitively: "opus", "G722", "PCMU" or "PCMA".
func NewDecoder(name string) (Decoder, error) {
	switch {
	case strings.EqualFold(name, CodecOpus):
		return NewOpusDecoder()
	case strings.EqualFold(name, CodecPCMU):
		return NewG711Decoder(MuLaw), nil
	case strings.EqualFold(name, CodecPCMA):
		return NewG711Decoder(ALaw), nil
	case strings.EqualFold(name, CodecG722):
		d, err := NewG722Decoder()
		if err != nil {
			return nil, err
		}
		return d, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownCodec, name)
}

// ClockRate returns the RTP clock rate for an SDP encoding name: 48000 for
// Opus even when mono (RFC 7587 §4.1), 8000 for G.711 (RFC 3551 §4.5.14)
// and 8000 for G.722 too, though it samples at 16 kHz (RFC 3551 §4.5.2).
func ClockRate(name string) (int, error) {
	switch {
	case strings.EqualFold(name, CodecOpus):
		return SampleRate, nil
	case strings.EqualFold(name, CodecPCMU), strings.EqualFold(name, CodecPCMA):
		return g711Rate, nil
	case strings.EqualFold(name, CodecG722):
		return g722ClockRate, nil
	}
	return 0, fmt.Errorf("%w: %q", ErrUnknownCodec, name)
}

// Preference ranks the voice codecs for the choice among those both sides
// have, lower first: Opus (fullband, in-band FEC), then G.722 (wideband),
// then G.711, whose two laws rank the same so the peer's order decides
// between them. RFC 3264 §6.1 lets an answerer prefer its own order when it
// has a reason; better sound is one. Unknown names rank last.
func Preference(name string) int {
	switch {
	case strings.EqualFold(name, CodecOpus):
		return 0
	case strings.EqualFold(name, CodecG722):
		return 1
	case strings.EqualFold(name, CodecPCMU), strings.EqualFold(name, CodecPCMA):
		return 2
	}
	return 3
}
