package audio

import (
	"fmt"

	"github.com/zaf/g711"
)

// G.711 runs at 8 kHz (RFC 3551 §4.5.14): 160 one-byte samples per 20 ms.
const (
	g711Rate         = 8000
	g711FrameSamples = g711Rate * FrameDurationMs / 1000
)

// G711Law selects the companding law.
type G711Law int

const (
	// MuLaw is PCMU, RTP static payload type 0 (RFC 3551 §6).
	MuLaw G711Law = iota
	// ALaw is PCMA, RTP static payload type 8 (RFC 3551 §6).
	ALaw
)

// String returns the SDP encoding name.
func (l G711Law) String() string {
	if l == ALaw {
		return "PCMA"
	}
	return "PCMU"
}

// G711Encoder encodes 48 kHz frames to PCMU or PCMA, resampling to 8 kHz
// with a low-pass decimator that keeps its history across frames.
type G711Encoder struct {
	law G711Law
	rs  *Resampler
	pcm []int16
}

// NewG711Encoder returns an encoder for law.
func NewG711Encoder(law G711Law) *G711Encoder {
	return &G711Encoder{law: law, rs: NewResampler(SampleRate, g711Rate), pcm: make([]int16, 0, g711FrameSamples)}
}

// Encode encodes one frame of FrameSamples into dst (at least 160 bytes).
func (e *G711Encoder) Encode(frame []int16, dst []byte) (int, error) {
	if len(frame) != FrameSamples {
		return 0, fmt.Errorf("%w: G.711 encode of %d samples", ErrFrameSize, len(frame))
	}
	e.pcm = e.rs.Process(frame, e.pcm[:0])
	if len(dst) < len(e.pcm) {
		return 0, fmt.Errorf("%w: G.711 payload needs %d bytes, have %d", ErrFrameSize, len(e.pcm), len(dst))
	}
	for i, s := range e.pcm {
		if e.law == ALaw {
			dst[i] = g711.EncodeAlawFrame(s)
		} else {
			dst[i] = g711.EncodeUlawFrame(s)
		}
	}
	return len(e.pcm), nil
}

// G711Decoder decodes PCMU or PCMA payloads to 48 kHz frames.
type G711Decoder struct {
	law  G711Law
	rs   *Resampler
	pcm  []int16 // 8 kHz samples of the payload being decoded
	out  []int16 // 48 kHz samples
	last []int16 // the last good 8 kHz frame, for concealment
	lost int     // consecutive concealed frames
}

// NewG711Decoder returns a decoder for law.
func NewG711Decoder(law G711Law) *G711Decoder {
	return &G711Decoder{law: law, rs: NewResampler(g711Rate, SampleRate)}
}

// Decode decodes payload (any length; 160 bytes for 20 ms) into frame and
// returns the samples written. A nil payload conceals one lost frame by
// repeating the last good frame, fading by 6 dB each time, then silence
// after 3 frames: G.711 has no PLC of its own, and a hard cut to silence
// clicks. A payload of more than len(frame)/6 bytes fills frame and returns
// ErrFrameSize.
func (d *G711Decoder) Decode(payload []byte, frame []int16) (int, error) {
	if len(payload) == 0 {
		return d.conceal(frame), nil
	}
	d.lost = 0
	d.pcm = d.pcm[:0]
	for _, b := range payload {
		if d.law == ALaw {
			d.pcm = append(d.pcm, g711.DecodeAlawFrame(b))
		} else {
			d.pcm = append(d.pcm, g711.DecodeUlawFrame(b))
		}
	}
	d.last = append(d.last[:0], d.pcm...)
	return d.emit(frame)
}

func (d *G711Decoder) conceal(frame []int16) int {
	want := len(frame) / (SampleRate / g711Rate)
	d.pcm = d.pcm[:0]
	if d.lost < 4 {
		d.lost++
	}
	shift := d.lost // halve per lost frame
	for i := range want {
		var s int16
		if d.lost <= 3 && len(d.last) > 0 {
			s = d.last[i%len(d.last)] >> shift
		}
		d.pcm = append(d.pcm, s)
	}
	n, _ := d.emit(frame)
	return n
}

func (d *G711Decoder) emit(frame []int16) (int, error) {
	d.out = d.rs.Process(d.pcm, d.out[:0])
	n := copy(frame, d.out)
	if len(d.out) > len(frame) {
		return n, fmt.Errorf("%w: G.711 payload of %d samples", ErrFrameSize, len(d.pcm))
	}
	return n, nil
}
