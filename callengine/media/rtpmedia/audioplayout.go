package rtpmedia

import (
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/parlo-voip/parlo/callengine/audio"
)

// maxConcealed is how many missing frames in a row are concealed (PLC)
// before playout falls back to silence: a few frames hide a lost packet,
// more would only smear a stream that has stopped (hold, mute).
const maxConcealed = 5

// The playout delay adapts to the path's jitter within these bounds
// (audio.WithAdaptiveDelay), starting at audio.DefaultJitterTarget: two
// frames on a clean path, up to 300 ms (ITU-T G.114 puts one-way delay
// above 400 ms out of bounds for conversation).
const (
	minPlayoutDelay = 40 * time.Millisecond
	maxPlayoutDelay = 300 * time.Millisecond
)

// frameInterval is the playout tick: one 20 ms frame (ptime 20).
const frameInterval = audio.FrameDurationMs * time.Millisecond

// AudioPlayout is the receive side of one audio stream, shared by both media
// paths: RTP goes into a jitter buffer from the transport's goroutine and
// comes out decoded, concealed or as silence in the playout loop. The
// decoder follows the payload type of what arrives (the peer may switch
// between the negotiated codecs, RFC 3264 §6.1).
type AudioPlayout struct {
	mu   sync.Mutex
	jb   *audio.JitterBuffer
	dec  audio.Decoder
	name string

	// Playout-loop state (only the loop touches these).
	wasReceiving bool
	missed       int

	fecDecoded uint64 // under mu
}

// fecDecoder is a decoder that can rebuild a lost frame from the next
// packet's in-band FEC (audio.OpusDecoder).
type fecDecoder interface {
	DecodeFEC(next []byte, frame []int16) (int, error)
}

// FECDecoded counts lost frames rebuilt from the next packet's in-band
// FEC.
func (p *AudioPlayout) FECDecoded() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fecDecoded
}

// NewAudioPlayout makes an empty playout.
func NewAudioPlayout() *AudioPlayout {
	return &AudioPlayout{jb: audio.NewJitterBuffer(audio.WithAdaptiveDelay(minPlayoutDelay, maxPlayoutDelay)), missed: maxConcealed}
}

// Push adds one voice packet of codec name ("opus", "PCMU", "PCMA").
func (p *AudioPlayout) Push(name string, seq uint16, ts uint32, payload []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dec == nil || p.name != name {
		dec, err := audio.NewDecoder(name)
		if err != nil {
			return
		}
		if p.dec != nil {
			p.jb.Reset()
		}
		p.jb.SetClockRate(rtpClock(name))
		p.dec, p.name = dec, name
	}
	p.jb.Push(seq, ts, payload)
}

// Lost is the jitter buffer's count of lost packets.
func (p *AudioPlayout) Lost() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.jb.Stats().Lost
}

// TargetDelay is the playout delay the jitter buffer holds now.
func (p *AudioPlayout) TargetDelay() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.jb.Stats().Target
}

// rtpClock is the RTP clock rate of a voice codec: 48 kHz for Opus (RFC
// 7587 §4.1), 8 kHz for G.711 and G.722 (RFC 3551 §4.5.2).
func rtpClock(name string) int {
	if strings.EqualFold(name, audio.CodecOpus) {
		return 48000
	}
	return 8000
}

// Codec is the name of the codec being decoded ("" before the first packet).
func (p *AudioPlayout) Codec() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.name
}

// next fills frame with the next 20 ms: decoded audio, concealment for a
// missing packet, or silence while nothing arrives or the negotiated
// direction does not receive. Entering or leaving hold drops what is
// buffered, since it belongs to before and the peer's sequence jumps.
func (p *AudioPlayout) next(frame []int16, receiving bool) {
	clear(frame)
	p.mu.Lock()
	defer p.mu.Unlock()
	if receiving != p.wasReceiving {
		p.jb.Reset()
		p.missed = maxConcealed
	}
	p.wasReceiving = receiving
	if !receiving || p.dec == nil {
		return
	}
	lost := p.jb.Stats().Lost
	if payload, ok := p.jb.Pop(); ok {
		if _, err := p.dec.Decode(payload, frame); err != nil {
			clear(frame)
			return
		}
		p.missed = 0
		return
	}
	if p.missed < maxConcealed {
		// A lost packet whose successor is already here: Opus rebuilds
		// it from the successor's in-band FEC (RFC 7587 §3.3), better
		// than concealment. A gap with nothing after it (the stream
		// paused) is concealed.
		if f, ok := p.dec.(fecDecoder); ok && p.jb.Stats().Lost > lost {
			if next, ok := p.jb.Peek(); ok {
				if _, err := f.DecodeFEC(next, frame); err == nil {
					p.fecDecoded++
					p.missed = 0
					return
				}
			}
		}
		if _, err := p.dec.Decode(nil, frame); err != nil {
			clear(frame)
		}
	}
	p.missed++
}

// RunPlayout writes one frame to out every 20 ms until done is closed:
// from the stream current() returns (nil: silence), gated by receiving().
// Writing silence keeps a sound card fed at its own pace.
func RunPlayout(done <-chan struct{}, current func() *AudioPlayout, receiving func() bool, out audio.Sink, log *slog.Logger) {
	frame := make([]int16, audio.FrameSamples)
	writeErred := false
	everyFrame(done, nil, func() {
		if p := current(); p != nil {
			p.next(frame, receiving())
		} else {
			clear(frame)
		}
		if err := out.WriteFrame(frame); err != nil && !writeErred {
			log.Warn("audio sink failed", "err", err)
			writeErred = true
		}
	})
}
