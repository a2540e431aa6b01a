package webrtcmedia

import (
	"errors"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/parlo-voip/parlo/callengine/audio"
	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/callengine/media/rtpmedia"
)

// errNotKeyed means a packet was not sent because SRTP has no keys yet
// (DTLS still running): it keeps its sequence number for the next one.
var errNotKeyed = errors.New("webrtcmedia: SRTP not keyed yet")

// frameInterval is the packetisation time of every frame we send.
const frameInterval = audio.FrameDurationMs * time.Millisecond

// sendLoop sends one frame from the source every 20 ms once pion has bound
// the audio track: telephone-event while a DTMF job runs, else voice in the
// negotiated codec while the call sends (rtpmedia.AudioSender).
func (s *Session) sendLoop() {
	defer s.wg.Done()
	a := rtpmedia.NewAudioSender(&s.stats, s.log)
	var dt dtmfState
	defer func() {
		if dt.job != nil {
			dt.job.done <- media.ErrClosed
		}
	}()
	// A tick runs at once when the transport connects (keyed), so the
	// first packet leaves as soon as SRTP can carry it.
	rtpmedia.RunAudioCaptureNow(s.done, s.keyed, s.opts.AudioIn, s.log, func(frame []int16) {
		w, codec, ssrc, ok := s.track.bound()
		if !ok {
			return
		}
		ts := a.Advance(int(codec.ClockRate))
		if dt.job == nil {
			select {
			case j := <-s.dtmf:
				dt = dtmfState{job: j}
			default:
			}
		}
		if dt.job != nil && s.eventsAllowed() {
			if s.stepDTMF(&dt, w, ssrc, a, ts, codec.ClockRate*audio.FrameDurationMs/1000) {
				a.Pause() // the voice after an event starts a talkspurt
				return
			}
		}
		if !s.sending() {
			a.Pause()
			return
		}
		c := rtpmedia.AudioSendCodec{Name: codecName(codec.MimeType), PT: uint8(codec.PayloadType), Clock: int(codec.ClockRate), SSRC: ssrc}
		a.Send(frame, ts, c, func(p *rtp.Packet) error {
			n, err := w.WriteRTP(&p.Header, p.Payload)
			if err == nil && n == 0 {
				// pion drops what is written before SRTP is keyed
				// and says so only by writing nothing.
				return errNotKeyed
			}
			return err
		})
	})
}

// stepDTMF sends this tick's telephone-event packet, if the job is in a
// tone; it reports false during the gap between tones, when the tick
// carries voice as usual. Voice is not sent during an event (RFC 4733
// §2.5.1.3). All packets of one event share its start timestamp and grow
// its duration; the end packet goes out three times.
func (s *Session) stepDTMF(st *dtmfState, w webrtc.TrackLocalWriter, ssrc uint32, a *rtpmedia.AudioSender, ts, step uint32) bool {
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
		SequenceNumber: a.NextSeq(), Timestamp: st.startTS, SSRC: ssrc,
	}
	payload := eventPayload(st.job.events[st.idx], end, st.elapsed)
	if _, err := w.WriteRTP(&pkt, payload); err != nil {
		s.log.Debug("write telephone-event", "err", err)
	}
	s.stats.AudioSent(len(payload))
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
