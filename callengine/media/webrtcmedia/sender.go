package webrtcmedia

import (
	"math/rand/v2"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/parlo-voip/parlo/callengine/audio"
	"github.com/parlo-voip/parlo/callengine/media"
)

// frameInterval is the packetisation time of every frame we send.
const frameInterval = audio.FrameDurationMs * time.Millisecond

// sendLoop ticks every 20 ms: read one frame from the source, and when the
// call sends, encode it with the negotiated codec and write one RTP packet.
// The source is read on every tick even while muted or on hold, so a file
// or tone source stays in time with the wall clock.
func (s *Session) sendLoop() {
	defer s.wg.Done()
	t := time.NewTicker(frameInterval)
	defer t.Stop()

	frame := make([]int16, audio.FrameSamples)
	payload := make([]byte, 1500)
	var (
		enc       audio.Encoder
		encFor    webrtc.PayloadType
		h         = rtp.Header{Version: 2, SequenceNumber: uint16(rand.Uint32()), Timestamp: rand.Uint32()}
		gap       = true // next packet starts a talkspurt
		readErred bool
		dt        dtmfState
	)
	defer func() {
		if dt.job != nil {
			dt.job.done <- media.ErrClosed
		}
	}()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		if err := s.opts.AudioIn.ReadFrame(frame); err != nil {
			if !readErred {
				s.log.Warn("audio source failed, sending silence", "err", err)
				readErred = true
			}
			clear(frame)
		}
		w, codec, ssrc, ok := s.track.bound()
		if !ok {
			continue
		}
		// RTP time runs on while we send nothing (RFC 3550 §5.1: the
		// timestamp follows the sampling clock), so the receiver sees a
		// gap in time, not a jump back, when we resume.
		step := codec.ClockRate * audio.FrameDurationMs / 1000
		ts := h.Timestamp
		h.Timestamp += step
		if dt.job == nil {
			select {
			case j := <-s.dtmf:
				dt = dtmfState{job: j}
			default:
			}
		}
		if dt.job != nil && s.eventsAllowed() {
			if s.stepDTMF(&dt, w, ssrc, &h, ts, step) {
				gap = true // the voice after an event starts a talkspurt
				continue
			}
		}
		if !s.sending() {
			gap = true
			continue
		}
		if enc == nil || encFor != codec.PayloadType {
			name := codecName(codec.MimeType)
			e, err := audio.NewEncoder(name)
			if err != nil {
				s.log.Error("no encoder for negotiated codec", "codec", codec.MimeType, "err", err)
				continue
			}
			enc, encFor = e, codec.PayloadType
			s.stats.sendCodec.Store(name)
		}
		n, err := enc.Encode(frame, payload)
		if err != nil {
			s.log.Warn("encode failed", "err", err)
			continue
		}
		pkt := h
		pkt.Timestamp = ts
		pkt.SSRC = ssrc
		pkt.PayloadType = uint8(codec.PayloadType)
		// RFC 3551 §4.1: the marker bit flags the first packet of a
		// talkspurt, here the first after start, mute or hold.
		pkt.Marker = gap
		if _, err := w.WriteRTP(&pkt, payload[:n]); err != nil {
			s.log.Debug("write RTP", "err", err)
			continue
		}
		gap = false
		h.SequenceNumber++
		s.stats.packetsSent.Add(1)
		s.stats.bytesSent.Add(uint64(n))
	}
}

// stepDTMF sends this tick's telephone-event packet, if the job is in a
// tone; it reports false during the gap between tones, when the tick
// carries voice as usual. Voice is not sent during an event (RFC 4733
// §2.5.1.3). All packets of one event share its start timestamp and grow
// its duration; the end packet goes out three times.
func (s *Session) stepDTMF(st *dtmfState, w webrtc.TrackLocalWriter, ssrc uint32, h *rtp.Header, ts, step uint32) bool {
	te, ok := s.track.telephoneEvent()
	if !ok {
		st.job.done <- media.ErrNoTelephoneEvent
		*st = dtmfState{}
		return false
	}
	if st.gapFrames > 0 {
		st.gapFrames--
		return false
	}
	first := !st.started
	if first {
		st.started = true
		st.startTS = ts
		st.elapsed = 0
		st.ends = 0
		st.total = uint32(st.job.duration.Seconds() * float64(te.ClockRate))
	}
	end := st.ends > 0
	if !end {
		st.elapsed += step
		if st.elapsed >= st.total {
			st.elapsed, end = st.total, true
		}
	}
	pkt := rtp.Header{
		Version: 2, Marker: first, PayloadType: uint8(te.PayloadType),
		SequenceNumber: h.SequenceNumber, Timestamp: st.startTS, SSRC: ssrc,
	}
	payload := eventPayload(st.job.events[st.idx], end, st.elapsed)
	if _, err := w.WriteRTP(&pkt, payload); err != nil {
		s.log.Debug("write telephone-event", "err", err)
	}
	h.SequenceNumber++
	s.stats.packetsSent.Add(1)
	if end {
		st.ends++
		if st.ends >= endRepeats {
			st.idx++
			st.started = false
			if st.idx >= len(st.job.events) {
				st.job.done <- nil
				*st = dtmfState{}
			} else {
				st.gapFrames = int(toneGap / frameInterval)
			}
		}
	}
	return true
}
