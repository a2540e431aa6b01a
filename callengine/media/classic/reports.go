package classic

import (
	"math"

	"github.com/pion/interceptor"

	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/capture/videocodec"
)

// streamInfo describes l's streams to its RTCP interceptors: the clock rate
// of the payload type (for jitter, RFC 3550 §6.4.1, and the SR's RTP
// timestamp, §6.4.1) and generic NACK where the peer's SDP has it for that
// payload type on the video line.
func (s *Session) streamInfo(l *line) streamInfoFunc {
	return func(ssrc uint32, pt uint8, local bool) (interceptor.StreamInfo, bool) {
		s.mu.Lock()
		defer s.mu.Unlock()
		info := interceptor.StreamInfo{SSRC: ssrc, PayloadType: pt}
		name := l.recvNames[pt]
		if local {
			if !l.hasSend || (pt != l.sendPT && !(l.hasTel && pt == l.telPT)) {
				return info, false
			}
			name = l.sendName
		}
		if name == "" {
			return info, false
		}
		switch {
		case l.kind == "video":
			info.ClockRate = videocodec.ClockRate
			info.MimeType = "video/" + name
		case name == "opus":
			info.ClockRate = 48000
			info.MimeType = "audio/opus"
		default:
			info.ClockRate = 8000 // G.711, and G.722's RTP clock (RFC 3551 §4.5.2)
			info.MimeType = "audio/" + name
		}
		if l.kind == "video" && l.nackPTs[pt] {
			info.RTCPFeedback = []interceptor.RTCPFeedback{{Type: "nack"}}
			if local && l.hasRTX && s.video != nil && ssrc == s.video.ssrc {
				// The NACK responder resends as RTX (RFC 4588).
				info.SSRCRetransmission = s.video.rtxSSRC
				info.PayloadTypeRetransmission = l.sendRTXPT
			}
		}
		return info, true
	}
}

// rtcpStats fills what the RTCP interceptors measured: jitter of the
// peer's audio and the round trip from its receiver reports (RFC 3550
// §6.4.1), and the NACK and PLI counts of the video line.
func (s *Session) rtcpStats(st *media.Stats) {
	s.mu.Lock()
	var ac, vc *rtcpChain
	if a := s.audioLineLocked(); a != nil && a.tr != nil {
		ac = a.tr.chain
	}
	if v := s.videoLineLocked(); v != nil && v.tr != nil {
		vc = v.tr.chain
	}
	remoteAudio, remoteVideo := s.remoteAudio, s.remoteVideo
	var videoSSRC uint32
	if s.video != nil {
		videoSSRC = s.video.ssrc
	}
	s.mu.Unlock()
	if x := ac.streamStats(remoteAudio); x != nil {
		st.Audio.JitterMs = x.InboundRTPStreamStats.Jitter * 1000
	}
	if x := ac.streamStats(s.audioSSRC); x != nil && x.RemoteInboundRTPStreamStats.RoundTripTimeMeasurements > 0 {
		// A peer's DLSR (RFC 3550 §6.4.1, in 1/65536 s, often from a
		// millisecond clock) can put a loopback round trip a fraction of
		// a millisecond below zero: report the smallest positive value,
		// since 0 means not measured.
		st.Audio.RTTMs = max(float64(x.RemoteInboundRTPStreamStats.RoundTripTime.Microseconds())/1000, 0.01)
	}
	if x := vc.streamStats(remoteVideo); x != nil {
		st.Video.Received.NACKsSent = uint64(x.InboundRTPStreamStats.NACKCount)
		st.Video.Received.PLIsSent = uint64(x.InboundRTPStreamStats.PLICount)
	}
	if x := vc.streamStats(videoSSRC); x != nil {
		st.Video.Sent.NACKsReceived = uint64(x.OutboundRTPStreamStats.NACKCount)
	}
}

// peerAudioLoss is the loss of our audio the peer's last receiver report
// gave (RFC 3550 §6.4.1 fraction lost), in percent rounded up, which
// sizes our Opus FEC.
func (s *Session) peerAudioLoss() int {
	s.mu.Lock()
	var c *rtcpChain
	if a := s.audioLineLocked(); a != nil && a.tr != nil {
		c = a.tr.chain
	}
	s.mu.Unlock()
	x := c.streamStats(s.audioSSRC)
	if x == nil {
		return 0
	}
	return int(math.Ceil(x.FractionLost * 100))
}
