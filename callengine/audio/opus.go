package audio

import (
	"fmt"

	"gopkg.in/hraban/opus.v2"
)

// opusMaxFrame is the longest Opus packet duration (120 ms, RFC 6716 §3.2.5)
// at 48 kHz; packets decode into a scratch buffer this big so a peer using a
// longer ptime cannot make libopus write past the caller's frame.
const opusMaxFrame = SampleRate * 120 / 1000

// OpusEncoder encodes 20 ms mono frames at 48 kHz with libopus.
type OpusEncoder struct {
	enc  *opus.Encoder
	loss int
}

// SetInBandFEC turns in-band FEC (RFC 7587 §3.3, the LBRR copy of each
// frame in the next packet) on or off. libopus only codes it while the
// expected loss (SetExpectedLoss) is above zero.
func (e *OpusEncoder) SetInBandFEC(on bool) error {
	if err := e.enc.SetInBandFEC(on); err != nil {
		return fmt.Errorf("audio: opus FEC: %w", err)
	}
	return nil
}

// SetDTX turns discontinuous transmission (RFC 7587 §3.1.3) on or off: in
// silence the encoder produces packets of at most two bytes, which the
// sender does not transmit (IsDTXFrame), and a comfort-noise update every
// 400 ms.
func (e *OpusEncoder) SetDTX(on bool) error {
	if err := e.enc.SetDTX(on); err != nil {
		return fmt.Errorf("audio: opus DTX: %w", err)
	}
	return nil
}

// SetExpectedLoss tells the encoder the packet loss to code for, in
// percent (from the peer's receiver reports, RFC 3550 §6.4.1): it sizes the
// FEC data.
func (e *OpusEncoder) SetExpectedLoss(pct int) error {
	pct = max(0, min(pct, 100))
	if pct == e.loss {
		return nil
	}
	if err := e.enc.SetPacketLossPerc(pct); err != nil {
		return fmt.Errorf("audio: opus loss %d %%: %w", pct, err)
	}
	e.loss = pct
	return nil
}

// IsDTXFrame reports whether an Opus payload is a DTX frame, which is not
// sent (RFC 7587 §3.1.3): libopus returns at most two bytes (the TOC and
// nothing to decode) for a frame it decided not to code.
func IsDTXFrame(payload []byte) bool { return len(payload) <= 2 }

// NewOpusEncoder returns an Opus encoder for mono 48 kHz, 20 ms, VoIP
// application, at bitrate bits per second (0 means libopus' automatic
// choice). In-band FEC is on, so a peer can recover a lost packet from the
// next one (RFC 7587 §3.3 useinbandfec).
func NewOpusEncoder(bitrate int) (Encoder, error) {
	enc, err := opus.NewEncoder(SampleRate, 1, opus.AppVoIP)
	if err != nil {
		return nil, fmt.Errorf("audio: opus encoder: %w", err)
	}
	if bitrate > 0 {
		if err := enc.SetBitrate(bitrate); err != nil {
			return nil, fmt.Errorf("audio: opus bitrate %d: %w", bitrate, err)
		}
	}
	if err := enc.SetInBandFEC(true); err != nil {
		return nil, fmt.Errorf("audio: opus FEC: %w", err)
	}
	return &OpusEncoder{enc: enc}, nil
}

// Encode encodes one frame of FrameSamples into dst (1275 bytes is always
// enough, RFC 6716 §3.2.1) and returns the payload length.
func (e *OpusEncoder) Encode(frame []int16, dst []byte) (int, error) {
	if len(frame) != FrameSamples {
		return 0, fmt.Errorf("%w: opus encode of %d samples", ErrFrameSize, len(frame))
	}
	// libopus writes up to cap(dst); limit it to what the caller gave.
	n, err := e.enc.Encode(frame, dst[:len(dst):len(dst)])
	if err != nil {
		return 0, fmt.Errorf("audio: opus encode: %w", err)
	}
	return n, nil
}

// OpusDecoder decodes Opus payloads to mono 48 kHz PCM.
type OpusDecoder struct {
	dec     *opus.Decoder
	scratch []int16
}

// DecodeFEC decodes the frame lost before next from next's in-band FEC
// data (RFC 7587 §3.3, libopus decode_fec) into frame, whose length is the
// lost frame's. A next without FEC data gives libopus' concealment.
func (d *OpusDecoder) DecodeFEC(next []byte, frame []int16) (int, error) {
	n := min(len(frame), opusMaxFrame)
	n -= n % (SampleRate / 400)
	if n == 0 || len(next) == 0 {
		return 0, fmt.Errorf("%w: FEC of %d samples", ErrFrameSize, len(frame))
	}
	pcm := d.scratch[:n:n]
	if err := d.dec.DecodeFEC(next, pcm); err != nil {
		return 0, fmt.Errorf("audio: opus FEC decode: %w", err)
	}
	return copy(frame, pcm), nil
}

// NewOpusDecoder returns a mono Opus decoder at 48 kHz. RFC 7587 §7 makes
// the SDP say opus/48000/2 whatever the sender's channel count, and a sender
// may code stereo; a one-channel libopus decoder downmixes stereo packets
// itself, so this decoder accepts both.
func NewOpusDecoder() (Decoder, error) {
	dec, err := opus.NewDecoder(SampleRate, 1)
	if err != nil {
		return nil, fmt.Errorf("audio: opus decoder: %w", err)
	}
	return &OpusDecoder{dec: dec, scratch: make([]int16, opusMaxFrame)}, nil
}

// Decode decodes payload into frame and returns the number of samples
// written. A nil or empty payload runs libopus' packet-loss concealment for
// len(frame) samples. A payload longer than len(frame) (a peer using a ptime
// above 20 ms) fills frame and returns ErrFrameSize: the rest is dropped.
func (d *OpusDecoder) Decode(payload []byte, frame []int16) (int, error) {
	if len(frame) == 0 {
		return 0, fmt.Errorf("%w: empty frame", ErrFrameSize)
	}
	if len(payload) == 0 {
		// PLC length must be a multiple of 2.5 ms; libopus takes the length
		// from the buffer's capacity, hence the full slice expression.
		n := min(len(frame), opusMaxFrame)
		n -= n % (SampleRate / 400)
		if n == 0 {
			return 0, fmt.Errorf("%w: PLC of %d samples", ErrFrameSize, len(frame))
		}
		pcm := d.scratch[:n:n]
		if err := d.dec.DecodePLC(pcm); err != nil {
			return 0, fmt.Errorf("audio: opus PLC: %w", err)
		}
		return copy(frame, pcm), nil
	}
	n, err := d.dec.Decode(payload, d.scratch[:opusMaxFrame:opusMaxFrame])
	if err != nil {
		return 0, fmt.Errorf("audio: opus decode: %w", err)
	}
	c := copy(frame, d.scratch[:n])
	if n > len(frame) {
		return c, fmt.Errorf("%w: opus packet of %d samples", ErrFrameSize, n)
	}
	return c, nil
}
