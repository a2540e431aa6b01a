package rtpmedia

import (
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/pion/rtp"

	"github.com/parlo-voip/parlo/callengine/audio"
)

// AudioSendCodec is what one frame goes out as: the negotiated codec, its
// payload type and clock rate, and our SSRC.
type AudioSendCodec struct {
	Name  string // audio package codec name ("opus", "PCMU", "PCMA")
	PT    uint8
	Clock int
	SSRC  uint32
	// Opus, when set, is what the peer's fmtp asked of our Opus encoder
	// (RFC 7587 §6.1); nil keeps the encoder's defaults.
	Opus *OpusSendParams
}

// OpusSendParams tune the Opus encoder to the peer's SDP and the loss it
// reports.
type OpusSendParams struct {
	// FEC: the peer's fmtp has useinbandfec=1 (it decodes in-band FEC).
	FEC bool
	// DTX: the peer's fmtp has usedtx=1 (it prefers discontinuous
	// transmission in silence).
	DTX bool
	// LossPct is the loss the peer's receiver reports show, which sizes
	// the FEC data (libopus codes none at 0 %).
	LossPct int
}

// opusTuner is the Opus encoder's tuning (audio.OpusEncoder).
type opusTuner interface {
	SetInBandFEC(on bool) error
	SetDTX(on bool) error
	SetExpectedLoss(pct int) error
}

// AudioSender is the send side of one audio stream, shared by both media
// paths: RTP numbering, the talkspurt marker and the encoder of the
// negotiated codec. The path decides on each tick whether the frame goes
// out and how a packet reaches the wire. Only the send loop touches it.
type AudioSender struct {
	stats   *Counters
	log     *slog.Logger
	seq     uint16
	ts      uint32
	step    uint32
	gap     bool // the next voice packet starts a talkspurt
	enc     audio.Encoder
	encName string
	payload []byte
	opus    *OpusSendParams // applied to enc; nil: defaults
}

// NewAudioSender starts sequence number and timestamp at random (RFC 3550
// §5.1).
func NewAudioSender(stats *Counters, log *slog.Logger) *AudioSender {
	return &AudioSender{
		stats: stats, log: log,
		seq: uint16(rand.Uint32()), ts: rand.Uint32(),
		step: 48000 * audio.FrameDurationMs / 1000, gap: true,
		payload: make([]byte, 1500),
	}
}

// Advance moves RTP time on by one frame at clock Hz (0: the last clock
// used) and returns this frame's timestamp. It is called on every tick,
// sending or not: the timestamp follows the sampling clock (RFC 3550 §5.1),
// so after mute or hold the receiver sees a gap in time, not a jump back.
func (a *AudioSender) Advance(clock int) uint32 {
	if clock > 0 {
		a.step = uint32(clock * audio.FrameDurationMs / 1000)
	}
	ts := a.ts
	a.ts += a.step
	return ts
}

// Pause notes a tick without voice: the next voice packet carries the
// marker bit.
func (a *AudioSender) Pause() { a.gap = true }

// NextSeq takes the next sequence number for another payload of the same
// stream (telephone-event, RFC 4733 §2.1).
func (a *AudioSender) NextSeq() uint16 {
	s := a.seq
	a.seq++
	return s
}

// Send encodes frame in c and writes it as one RTP packet stamped ts. The
// encoder follows the negotiated codec, which a re-INVITE may change.
func (a *AudioSender) Send(frame []int16, ts uint32, c AudioSendCodec, write func(*rtp.Packet) error) {
	if a.enc == nil || a.encName != c.Name {
		e, err := audio.NewEncoder(c.Name)
		if err != nil {
			a.log.Error("no encoder for negotiated codec", "codec", c.Name, "err", err)
			return
		}
		a.enc, a.encName, a.opus = e, c.Name, nil
		a.stats.setSendCodec(c.Name)
	}
	dtx := a.tuneOpus(c.Opus)
	n, err := a.enc.Encode(frame, a.payload)
	if err != nil {
		a.log.Warn("encode failed", "codec", c.Name, "err", err)
		return
	}
	if dtx && audio.IsDTXFrame(a.payload[:n]) {
		// Silence under DTX (RFC 7587 §3.1.3): nothing goes out, and the
		// next packet starts a talkspurt.
		a.gap = true
		a.stats.dtxFrames.Add(1)
		return
	}
	pkt := rtp.Packet{
		Header: rtp.Header{
			Version: 2, PayloadType: c.PT, SequenceNumber: a.seq, Timestamp: ts, SSRC: c.SSRC,
			// RFC 3551 §4.1: the marker bit flags the first packet of a
			// talkspurt, here the first after start, mute or hold.
			Marker: a.gap,
		},
		Payload: a.payload[:n],
	}
	if err := write(&pkt); err != nil {
		// Not keyed yet (DTLS) or the line is gone: the frame is lost,
		// the next one tries again.
		a.log.Debug("write RTP", "err", err)
		return
	}
	a.gap = false
	a.seq++
	a.stats.AudioSent(n)
}

// tuneOpus applies p to an Opus encoder when it changed and reports
// whether DTX is on.
func (a *AudioSender) tuneOpus(p *OpusSendParams) bool {
	t, ok := a.enc.(opusTuner)
	if !ok || p == nil {
		return false
	}
	if a.opus != nil && *a.opus == *p {
		return p.DTX
	}
	loss := 0
	if p.FEC {
		loss = p.LossPct
	}
	if err := errors.Join(t.SetInBandFEC(p.FEC), t.SetDTX(p.DTX), t.SetExpectedLoss(loss)); err != nil {
		a.log.Warn("opus tuning failed", "err", err)
	}
	cp := *p
	a.opus = &cp
	return p.DTX
}

// RunAudioCapture reads one frame from src every 20 ms (ptime 20) until
// done is closed and hands it to tick. The source is read on every tick,
// even while muted or on hold, so a file or tone source stays in time with
// the wall clock; a failing source gives silence, warned of once.
func RunAudioCapture(done <-chan struct{}, src audio.Source, log *slog.Logger, tick func(frame []int16)) {
	RunAudioCaptureNow(done, nil, src, log, tick)
}

// RunAudioCaptureNow is RunAudioCapture with one more clock input: a value
// on now runs a tick at once and restarts the 20 ms clock from there. A
// path sends on it when its transport becomes able to carry media (SRTP
// keyed), so the first packet leaves then instead of up to a frame later.
func RunAudioCaptureNow(done, now <-chan struct{}, src audio.Source, log *slog.Logger, tick func(frame []int16)) {
	frame := make([]int16, audio.FrameSamples)
	readErred := false
	everyFrame(done, now, func() {
		if err := src.ReadFrame(frame); err != nil {
			if !readErred {
				log.Warn("audio source failed, sending silence", "err", err)
				readErred = true
			}
			clear(frame)
		}
		tick(frame)
	})
}

// everyFrame calls fn every 20 ms (one frame, ptime 20) until done is
// closed, and at once on each value from now (nil: never), which restarts
// the 20 ms clock. Both directions of audio keep this one clock.
func everyFrame(done, now <-chan struct{}, fn func()) {
	t := time.NewTicker(frameInterval)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		case <-now:
			t.Reset(frameInterval)
		}
		fn()
	}
}
