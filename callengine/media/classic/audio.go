package classic

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/pion/rtp"

	"github.com/parlo-voip/parlo/callengine/audio"
	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/callengine/media/rtpmedia"
)

// frameInterval is the packetisation time of every frame we send (ptime 20).
const frameInterval = audio.FrameDurationMs * time.Millisecond

// onAudioRTP handles the audio line's RTP (transport goroutine).
func (s *Session) onAudioRTP(l *line) func(*rtp.Packet) {
	var trackOnce sync.Once
	return func(p *rtp.Packet) {
		s.stats.packetsReceived.Add(1)
		s.stats.bytesReceived.Add(uint64(len(p.Payload)))
		s.mu.Lock()
		name := l.recvNames[p.PayloadType]
		if s.recv == nil {
			s.recv = rtpmedia.NewAudioPlayout()
		}
		r := s.recv
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

// sendLoop ticks every 20 ms: one frame from the source (read even when not
// sending, so a file or tone keeps wall-clock time), encoded with the
// negotiated codec into one RTP packet.
func (s *Session) sendLoop() {
	defer s.wg.Done()
	t := time.NewTicker(frameInterval)
	defer t.Stop()
	frame := make([]int16, audio.FrameSamples)
	payload := make([]byte, 1500)
	var (
		enc       audio.Encoder
		encName   string
		h         = rtp.Header{Version: 2, SequenceNumber: uint16(rand.Uint32()), Timestamp: rand.Uint32(), SSRC: s.audioSSRC}
		gap       = true
		readErred bool
		step      uint32 = 960
	)
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
		l, ok := s.sending()
		if !ok {
			// RTP time runs on (RFC 3550 §5.1) while we send nothing.
			h.Timestamp += step
			gap = true
			continue
		}
		s.mu.Lock()
		name, pt, clock, tr := l.sendName, l.sendPT, l.sendClock, l.tr
		s.mu.Unlock()
		step = uint32(clock * audio.FrameDurationMs / 1000)
		ts := h.Timestamp
		h.Timestamp += step
		if enc == nil || encName != name {
			e, err := audio.NewEncoder(name)
			if err != nil {
				s.log.Error("no encoder for negotiated codec", "codec", name, "err", err)
				continue
			}
			enc, encName = e, name
			s.stats.sendCodec.Store(name)
		}
		n, err := enc.Encode(frame, payload)
		if err != nil {
			continue
		}
		pkt := rtp.Packet{Header: h, Payload: payload[:n]}
		pkt.Timestamp = ts
		pkt.PayloadType = pt
		pkt.Marker = gap // RFC 3551 §4.1: first packet of a talkspurt
		if err := tr.writeRTP(&pkt); err != nil {
			continue
		}
		gap = false
		h.SequenceNumber++
		s.stats.packetsSent.Add(1)
		s.stats.bytesSent.Add(uint64(n))
	}
}

func (s *Session) receiving() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.closed && s.dir.Receives()
}

// playoutLoop plays the received audio (rtpmedia.RunPlayout) until Close.
func (s *Session) playoutLoop() {
	defer s.wg.Done()
	rtpmedia.RunPlayout(s.done, func() *rtpmedia.AudioPlayout {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.recv
	}, s.receiving, s.opts.AudioOut, s.log)
}
