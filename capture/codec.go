package capture

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/parlo-voip/parlo/capture/videocodec"
)

// ErrUnknownCodec means no encoder or decoder of that name is built in.
var ErrUnknownCodec = errors.New("capture: unknown video codec")

// Encoder is a real-time video encoder of one codec. Implementations are
// safe for concurrent use; Encode calls are serialised.
type Encoder interface {
	// Codec names what it produces.
	Codec() videocodec.Name
	// Encode compresses one picture; data is nil when rate control dropped
	// it. forceKeyframe, or a pending RequestKeyframe, makes it a keyframe.
	Encode(f *I420, forceKeyframe bool) (data []byte, keyframe bool, err error)
	// EncodeFrame is Encode for a frame from a Source, using what the
	// Source knows about the change where the codec can.
	EncodeFrame(f Frame, forceKeyframe bool) (data []byte, keyframe bool, err error)
	// RequestKeyframe makes the next Encode produce a keyframe (RTCP PLI or
	// FIR, RFC 4585 §6.3.1, RFC 5104 §4.3.1).
	RequestKeyframe()
	// SetBitrate changes the target bitrate while encoding (congestion
	// control, REMB).
	SetBitrate(kbps int) error
	// Bitrate is the current target in kbps.
	Bitrate() int
	// Close frees the encoder; idempotent.
	Close() error
}

// Decoder decodes one codec's complete frames (depacketised from RTP).
// Corrupt input returns an error and never crashes: it comes from the
// network. Implementations are safe for concurrent use.
type Decoder interface {
	// Codec names what it decodes.
	Codec() videocodec.Name
	// Decode decodes one frame into a new picture; (nil, nil) when the
	// frame produced none.
	Decode(data []byte) (*I420, error)
	// DecodeInto decodes one frame into dst, reusing its planes when the
	// size is unchanged, and reports whether a picture came out. A picture
	// over MaxFramePixels returns ErrFrameTooLarge without allocating.
	DecodeInto(dst *I420, data []byte) (bool, error)
	// Close frees the decoder; idempotent.
	Close() error
}

var (
	_ Encoder = (*VP8Encoder)(nil)
	_ Encoder = (*H264Encoder)(nil)
	_ Decoder = (*VP8Decoder)(nil)
	_ Decoder = (*H264Decoder)(nil)
)

// EncoderOptions are what every encoder takes. Zero values take the
// defaults.
type EncoderOptions struct {
	Width, Height int // required
	// FPS is the nominal frame rate used for rate control; default 30.
	FPS int
	// BitrateKbps is the target bitrate; default 1500.
	BitrateKbps int
	// Threads for encoding; default half the CPUs (1 to 4). libvpx threads
	// spin-wait on each other, so on a busy 2-core machine a second thread
	// made 1080p encoding several times slower instead of faster.
	Threads int
	// KeyframeInterval forces a keyframe at least every this many frames;
	// 0 means 10 s worth of frames. Negative disables periodic keyframes
	// (keyframes then come only from RequestKeyframe / forceKeyframe).
	KeyframeInterval int
	// ScreenContent tunes for screen content where the codec can (VP8's
	// screen-content mode; x264 has none).
	ScreenContent bool
}

// withDefaults fills in the zero values.
func (o EncoderOptions) withDefaults() EncoderOptions {
	if o.FPS <= 0 {
		o.FPS = 30
	}
	if o.BitrateKbps <= 0 {
		o.BitrateKbps = 1500
	}
	if o.Threads <= 0 {
		o.Threads = max(1, min(runtime.GOMAXPROCS(0)/2, 4))
	}
	if o.KeyframeInterval == 0 {
		o.KeyframeInterval = 10 * o.FPS
	}
	return o
}

// NewEncoder opens the encoder of codec with each codec's own defaults for
// the rest (VP8: cpu-used 12).
func NewEncoder(codec videocodec.Name, o EncoderOptions) (Encoder, error) {
	switch codec {
	case videocodec.VP8:
		return NewVP8Encoder(VP8Options{EncoderOptions: o})
	case videocodec.H264:
		return NewH264Encoder(H264Options{EncoderOptions: o})
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownCodec, codec)
}

// NewDecoder opens the decoder of codec using up to threads threads (0:
// GOMAXPROCS, at most 4).
func NewDecoder(codec videocodec.Name, threads int) (Decoder, error) {
	switch codec {
	case videocodec.VP8:
		return NewVP8Decoder(threads)
	case videocodec.H264:
		return NewH264Decoder(threads)
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownCodec, codec)
}

// decoderThreads is the thread count for a requested 0 or less.
func decoderThreads(threads int) int {
	if threads <= 0 {
		return min(runtime.GOMAXPROCS(0), 4)
	}
	return threads
}
