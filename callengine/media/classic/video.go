package classic

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/callengine/media/rtpmedia"
	"github.com/parlo-voip/parlo/capture/videocodec"
)

// videoStartKbps is the share's encoder target on a classic line before
// feedback: SIP video phones send receiver reports (RFC 3550 §6.4.2) and
// some REMB, but no transport-wide feedback, so the target starts lower
// than on the WebRTC path and follows their loss.
const videoStartKbps = 1500

// videoSend is our screen share on the video line: the shared sender
// lifecycle plus this path's own packetiser (there is no pion track).
type videoSend struct {
	*rtpmedia.VideoSend
	ssrc    uint32
	rtxSSRC uint32 // RFC 4588 retransmissions, when negotiated

	pmu        sync.Mutex
	packetizer rtp.Packetizer
}

// SetVideoSender implements media.Session.
func (s *Session) SetVideoSender(v media.VideoSender) (bool, error) {
	s.sigMu.Lock()
	defer s.sigMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false, media.ErrClosed
	}
	cur := s.video
	if cur == nil {
		s.video = &videoSend{VideoSend: rtpmedia.NewVideoSend(v, rtpmedia.VideoSendOptions{StartKbps: videoStartKbps, AdaptBitrate: true}), ssrc: rand.Uint32(), rtxSSRC: rand.Uint32()}
	}
	s.mu.Unlock()
	if cur == nil {
		return true, nil
	}
	// Swap the source on the running line: no re-INVITE.
	running, err := cur.Replace(v, s.writeVideo(cur))
	if err != nil {
		return false, fmt.Errorf("classic: %w", err)
	}
	return !running, nil
}

// RemoveVideoSender implements media.Session: the source stops first, then
// a line we added for the share is disabled (port 0 in the next offer, RFC
// 3264 §8.2); a line the peer opened stays for its video, without ours.
func (s *Session) RemoveVideoSender() error {
	s.sigMu.Lock()
	defer s.sigMu.Unlock()
	s.mu.Lock()
	vs := s.video
	s.video = nil
	vl := s.videoLineLocked()
	s.mu.Unlock()
	if vs == nil {
		return media.ErrNoVideoSender
	}
	vs.Stop()
	if vl != nil && vl.ours {
		s.disableLine(vl)
	}
	return nil
}

// VideoSending implements media.Session.
func (s *Session) VideoSending() bool {
	s.mu.Lock()
	vs := s.video
	s.mu.Unlock()
	return vs != nil && vs.Started()
}

// maybeStartVideo starts our sender, in the codec the negotiation put first
// (RFC 3264 §6.1), once a negotiated video line lets us send.
func (s *Session) maybeStartVideo() {
	s.mu.Lock()
	vs := s.video
	vl := s.videoLineLocked()
	if vs == nil || vs.Started() || vl == nil || !vl.hasSend || !vl.dir.Sends() {
		s.mu.Unlock()
		return
	}
	codec, pt := videocodec.Name(vl.sendName), vl.sendPT
	s.mu.Unlock()
	pk, err := rtpmedia.NewPacketizer(codec, pt, vs.ssrc)
	if err != nil {
		s.log.Warn("video sender cannot packetise the negotiated codec", "codec", codec, "err", err)
		return
	}
	vs.pmu.Lock()
	vs.packetizer = pk
	vs.pmu.Unlock()
	if err := vs.Start(codec, s.writeVideo(vs)); err != nil {
		s.log.Warn("video sender failed to start", "err", err)
	}
}

// writeVideo packetises one encoded frame (RFC 7741, RFC 6184) onto the
// video line.
func (s *Session) writeVideo(vs *videoSend) rtpmedia.FrameWriter {
	return func(frame []byte, d time.Duration) error {
		s.mu.Lock()
		vl := s.videoLineLocked()
		var tr *transport
		if vl != nil && vl.dir.Sends() {
			tr = vl.tr
		}
		s.mu.Unlock()
		if tr == nil {
			return rtpmedia.ErrFrameDropped // on hold or line gone
		}
		vs.pmu.Lock()
		pkts := vs.packetizer.Packetize(frame, uint32(d*videocodec.ClockRate/time.Second))
		vs.pmu.Unlock()
		for _, p := range pkts {
			vs.Pace(p.MarshalSize())
			if err := tr.writeRTP(p); err != nil {
				// Not keyed yet (DTLS): drop, the next keyframe heals.
				return rtpmedia.ErrFrameDropped
			}
			vs.PacketsSent(1)
		}
		return nil
	}
}

// onVideoRTP depacketises the peer's video, in whichever of the negotiated
// codecs it arrives, into frames for opts.VideoOut.
func (s *Session) onVideoRTP(l *line) func(*rtp.Packet) {
	var (
		recv *rtpmedia.VideoReceive
		once sync.Once
	)
	return func(p *rtp.Packet) {
		s.mu.Lock()
		apt, isRTX := l.rtxApt[p.PayloadType]
		mediaSSRC := s.remoteVideo
		if !isRTX {
			s.remoteVideo = p.SSRC
		}
		s.mu.Unlock()
		if isRTX {
			// RFC 4588 §4: the original sequence number, then the
			// original payload; it repairs the one video stream.
			if len(p.Payload) < 2 || mediaSSRC == 0 {
				return
			}
			orig := &rtp.Packet{Header: p.Header, Payload: p.Payload[2:]}
			orig.SequenceNumber = binary.BigEndian.Uint16(p.Payload)
			orig.PayloadType, orig.SSRC = apt, mediaSSRC
			orig.Padding, orig.PaddingSize = false, 0
			s.stats.VideoRetransmission()
			if c := l.tr.chain; c != nil {
				if raw, err := orig.Marshal(); err == nil {
					c.readRTP(raw, orig) // the NACK generator stops asking
				}
			}
			p = orig
		}
		s.mu.Lock()
		name := videocodec.Name(l.recvNames[p.PayloadType])
		s.mu.Unlock()
		if recv == nil || recv.Codec() != name {
			r, err := rtpmedia.NewVideoReceive(name, s.opts.VideoOut, s.RequestKeyframe, &s.stats)
			if err != nil {
				return // a payload type we did not negotiate
			}
			recv = r
		}
		once.Do(func() {
			if s.ev.OnTrack != nil {
				s.ev.OnTrack(media.TrackInfo{Kind: "video", Codec: string(name), ID: "video"})
			}
			s.RequestKeyframe() // joining mid-stream
		})
		recv.Push(p)
	}
}

// onVideoRTCP hands the peer's feedback on our video to the sender.
func (s *Session) onVideoRTCP(pkts []rtcp.Packet) {
	s.mu.Lock()
	vs := s.video
	s.mu.Unlock()
	if vs != nil {
		vs.HandleRTCP(pkts, vs.ssrc)
	}
}

// RequestKeyframe implements media.Session: a PLI (RFC 4585 §6.3.1) for the
// peer's video, throttled (rtpmedia.PLIGate).
func (s *Session) RequestKeyframe() {
	s.mu.Lock()
	ssrc := s.remoteVideo
	vl := s.videoLineLocked()
	var tr *transport
	if vl != nil {
		tr = vl.tr
	}
	var sender uint32 = 1
	if vs := s.video; vs != nil {
		sender = vs.ssrc
	}
	s.mu.Unlock()
	if ssrc == 0 || tr == nil || !s.pli.Allow() {
		return
	}
	_ = tr.writeRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{SenderSSRC: sender, MediaSSRC: ssrc}})
}
