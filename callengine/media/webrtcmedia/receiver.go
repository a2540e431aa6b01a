package webrtcmedia

import (
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parlo-voip/parlo/callengine/audio"
	"github.com/parlo-voip/parlo/callengine/media"
)

// maxConcealed is how many missing frames in a row the decoder conceals
// (PLC) before playout falls back to silence: a few frames hide a lost
// packet, more would only smear a stream that has stopped (hold, mute).
const maxConcealed = 5

// receiver is the receive side of one remote audio track: RTP goes into the
// jitter buffer from the track's reader, the playout loop takes it out.
type receiver struct {
	codec string
	pt    uint8

	mu  sync.Mutex
	jb  *audio.JitterBuffer
	dec audio.Decoder
}

func (r *receiver) push(seq uint16, ts uint32, payload []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.jb.Push(seq, ts, payload)
}

func (r *receiver) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.jb.Reset()
}

// next decodes the next frame into frame. It returns false when there was
// nothing to play and concealment was not asked for.
func (r *receiver) next(frame []int16, conceal bool) (decoded bool, lost bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	payload, ok := r.jb.Pop()
	if ok {
		if _, err := r.dec.Decode(payload, frame); err != nil {
			clear(frame)
			return false, false
		}
		return true, false
	}
	if conceal {
		if _, err := r.dec.Decode(nil, frame); err == nil {
			return true, true
		}
	}
	return false, true
}

func (r *receiver) lost() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.jb.Stats().Lost
}

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
	dec, err := audio.NewDecoder(codecName(c.MimeType))
	if err != nil {
		s.log.Error("no decoder for remote codec", "codec", c.MimeType, "err", err)
		s.drain(tr)
		return
	}
	r := &receiver{codec: info.Codec, pt: uint8(c.PayloadType), jb: audio.NewJitterBuffer(), dec: dec}
	var lastEventTS uint32
	var haveEvent bool
	s.mu.Lock()
	s.recv = r
	s.mu.Unlock()

	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		s.stats.packetsReceived.Add(1)
		s.stats.bytesReceived.Add(uint64(len(pkt.Payload)))
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
		if pkt.PayloadType != r.pt {
			continue
		}
		r.push(pkt.SequenceNumber, pkt.Timestamp, pkt.Payload)
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

// playoutLoop writes one frame to AudioOut every 20 ms: decoded audio,
// concealment for a missing packet, or silence while nothing arrives or the
// negotiated direction does not receive. Writing silence keeps the sink (a
// sound card) fed at its own pace.
func (s *Session) playoutLoop() {
	defer s.wg.Done()
	t := time.NewTicker(frameInterval)
	defer t.Stop()
	frame := make([]int16, audio.FrameSamples)
	var (
		wasReceiving bool
		missed       = maxConcealed
		writeErred   bool
	)
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		clear(frame)
		s.mu.Lock()
		r := s.recv
		s.mu.Unlock()
		rx := s.receiving()
		if r != nil {
			if rx != wasReceiving {
				// Entering or leaving hold: what is buffered belongs to
				// before, and the peer's sequence numbers jump.
				r.reset()
				missed = maxConcealed
			}
			if rx {
				decoded, lost := r.next(frame, missed < maxConcealed)
				switch {
				case decoded && !lost:
					missed = 0
				case lost:
					missed++
				}
				if !decoded {
					clear(frame)
				}
			}
		}
		wasReceiving = rx
		if err := s.opts.AudioOut.WriteFrame(frame); err != nil && !writeErred {
			s.log.Warn("audio sink failed", "err", err)
			writeErred = true
		}
	}
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
