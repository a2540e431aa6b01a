package classic

import (
	"sync"

	"github.com/pion/rtp"

	"github.com/parlo-voip/parlo/callengine/audio"
	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/callengine/media/rtpmedia"
)

// onAudioRTP handles the audio line's RTP (transport goroutine).
func (s *Session) onAudioRTP(l *line) func(*rtp.Packet) {
	var trackOnce sync.Once
	return func(p *rtp.Packet) {
		s.stats.AudioReceived(len(p.Payload))
		s.mu.Lock()
		name := l.recvNames[p.PayloadType]
		s.remoteAudio = p.SSRC
		r := s.recv.Load()
		if r == nil {
			r = rtpmedia.NewAudioPlayout()
			s.recv.Store(r)
		}
		s.mu.Unlock()
		if name == "" {
			return // telephone-event, comfort noise or unknown
		}
		trackOnce.Do(func() {
			if s.ev.OnTrack != nil {
				s.ev.OnTrack(media.TrackInfo{Kind: "audio", Codec: name, ID: "audio"})
			}
		})
		r.Push(name, p.SequenceNumber, p.Timestamp, p.Payload)
	}
}

// sending reports whether audio goes on the wire: the negotiated direction
// sends, we are not muted and not holding (Parlo mutes on hold like the
// WebRTC path and the Wazo SDK).
func (s *Session) sending() (*line, bool) {
	if s.muted.Load() {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	holding := s.localDir == media.SendOnly || s.localDir == media.Inactive
	a := s.audioLineLocked()
	if s.closed || holding || a == nil || !a.hasSend || !a.dir.Sends() {
		return nil, false
	}
	return a, true
}

// sendLoop sends one frame from the source every 20 ms, encoded with the
// negotiated codec, while the line sends (rtpmedia.AudioSender).
func (s *Session) sendLoop() {
	defer s.wg.Done()
	a := rtpmedia.NewAudioSender(&s.stats, s.log)
	ticks, loss := 0, 0
	rtpmedia.RunAudioCapture(s.done, s.opts.AudioIn, s.log, func(frame []int16) {
		if ticks++; ticks%50 == 0 {
			loss = s.peerAudioLoss()
		}
		l, ok := s.sending()
		if !ok {
			a.Advance(0)
			a.Pause()
			return
		}
		s.mu.Lock()
		c := rtpmedia.AudioSendCodec{Name: l.sendName, PT: l.sendPT, Clock: l.sendClock, SSRC: s.audioSSRC}
		if l.sendName == audio.CodecOpus {
			c.Opus = &rtpmedia.OpusSendParams{FEC: l.sendFEC, DTX: l.sendDTX, LossPct: loss}
		}
		tr := l.tr
		s.mu.Unlock()
		a.Send(frame, a.Advance(c.Clock), c, tr.writeRTP)
	})
}

func (s *Session) receiving() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.closed && s.dir.Receives()
}

// playoutLoop plays the received audio (rtpmedia.RunPlayout) until Close.
func (s *Session) playoutLoop() {
	defer s.wg.Done()
	rtpmedia.RunPlayout(s.done, s.recv.Load, s.receiving, s.opts.AudioOut, s.log)
}
