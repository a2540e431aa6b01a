package webrtcmedia

import (
	"strings"

	"github.com/pion/webrtc/v4"

	"github.com/parlo-voip/parlo/callengine/audio"
	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/callengine/media/rtpmedia"
)

// onTrack runs in a goroutine pion starts per remote track; the Session
// owns it (wg) and pc.Close ends it by failing ReadRTP.
func (s *Session) onTrack(tr *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	// The track's codec is that of its first packet, which may be a
	// telephone-event (a peer that starts with DTMF); the voice codec is
	// the first negotiated one we can decode.
	voice, tePT := voiceAndEventCodecs(recv.GetParameters().Codecs)
	c := tr.Codec()
	if tr.Kind() == webrtc.RTPCodecTypeAudio && voice.MimeType != "" &&
		(tePT[uint8(c.PayloadType)] || codecName(c.MimeType) == "") {
		c = voice
	}
	info := media.TrackInfo{Kind: tr.Kind().String(), Codec: codecName(c.MimeType), ID: tr.ID()}
	if info.Codec == "" {
		info.Codec = c.MimeType
	}
	s.log.Info("remote track", "kind", info.Kind, "codec", info.Codec, "pt", c.PayloadType, "ssrc", tr.SSRC())
	if s.ev.OnTrack != nil {
		s.ev.OnTrack(info)
	}
	if tr.Kind() == webrtc.RTPCodecTypeVideo {
		s.receiveVideo(tr)
		return
	}
	if tr.Kind() != webrtc.RTPCodecTypeAudio {
		s.drain(tr)
		return
	}
	voiceName := codecName(c.MimeType)
	if _, err := audio.NewDecoder(voiceName); err != nil {
		s.log.Error("no decoder for remote codec", "codec", c.MimeType, "err", err)
		s.drain(tr)
		return
	}
	voicePT := uint8(c.PayloadType)
	r := rtpmedia.NewAudioPlayout()
	var lastEventTS uint32
	var haveEvent bool
	s.recv.Store(r)

	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		s.stats.AudioReceived(len(pkt.Payload))
		// telephone-event (RFC 4733) shares the SSRC but is not voice: one
		// event is reported once, at its first end packet (§2.5.2.2: the
		// end is retransmitted, all with the event's timestamp).
		if tePT[pkt.PayloadType] {
			ev, end, ok := parseEvent(pkt.Payload)
			if ok && end && (!haveEvent || pkt.Timestamp != lastEventTS) {
				lastEventTS, haveEvent = pkt.Timestamp, true
				if tone := media.DTMFTone(ev); tone != "" && s.ev.OnDTMF != nil {
					s.ev.OnDTMF(tone)
				}
			}
			continue
		}
		if pkt.PayloadType != voicePT {
			continue
		}
		r.Push(voiceName, pkt.SequenceNumber, pkt.Timestamp, pkt.Payload)
	}
}

// drain reads a track we do not play, so pion's buffers do not fill.
func (s *Session) drain(tr *webrtc.TrackRemote) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := tr.Read(buf); err != nil {
			return
		}
	}
}

// playoutLoop plays the received audio (rtpmedia.RunPlayout) until Close.
func (s *Session) playoutLoop() {
	defer s.wg.Done()
	rtpmedia.RunPlayout(s.done, s.recv.Load, s.receiving, s.opts.AudioOut, s.log)
}

// voiceAndEventCodecs splits a receiver's negotiated codecs into the first
// voice codec we can decode and the set of telephone-event payload types
// (RFC 4733 §7.1.1).
func voiceAndEventCodecs(codecs []webrtc.RTPCodecParameters) (webrtc.RTPCodecParameters, map[uint8]bool) {
	var voice webrtc.RTPCodecParameters
	te := map[uint8]bool{}
	for _, c := range codecs {
		switch {
		case strings.EqualFold(c.MimeType, mimeTelephoneEvent):
			te[uint8(c.PayloadType)] = true
		case voice.MimeType == "" && codecName(c.MimeType) != "":
			voice = c
		}
	}
	return voice, te
}
