package classic

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/callengine/media/rtpmedia"
)

// videoMTU bounds an RTP video packet so SRTP's tag and the IP/UDP headers
// stay inside a 1500-byte Ethernet frame.
const videoMTU = 1200

// videoSend is our screen share on the video line.
type videoSend struct {
	v       media.VideoSender
	started bool
	ssrc    uint32

	pmu        sync.Mutex
	packetizer rtp.Packetizer
	pt         uint8

	frames, bytes, packets, keyReqs atomic.Uint64
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
	s.mu.Unlock()
	if cur != nil && cur.started {
		// Swap the source on the running line: no re-INVITE.
		cur.v.Stop()
		s.mu.Lock()
		cur.v = v
		s.mu.Unlock()
		if err := v.Start("VP8", s.writeVideo(cur)); err != nil {
			return false, fmt.Errorf("classic: start video: %w", err)
		}
		return false, nil
	}
	if cur != nil {
		cur.v.Stop()
	}
	vs := &videoSend{v: v, ssrc: rand.Uint32()}
	s.mu.Lock()
	s.video = vs
	s.mu.Unlock()
	return true, nil
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
	vs.v.Stop()
	if vl != nil && vl.ours {
		s.disableLine(vl)
	}
	return nil
}

// VideoSending implements media.Session.
func (s *Session) VideoSending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.video != nil && s.video.started
}

// maybeStartVideo starts our sender once a negotiated video line lets us
// send, and stops it when a renegotiation no longer does.
func (s *Session) maybeStartVideo() {
	s.mu.Lock()
	vs := s.video
	vl := s.videoLineLocked()
	if vs == nil {
		s.mu.Unlock()
		return
	}
	can := vl != nil && vl.hasSend && vl.dir.Sends()
	start := can && !vs.started
	if start {
		vs.started = true
		vs.pmu.Lock()
		vs.pt = vl.sendPT
		vs.packetizer = rtp.NewPacketizer(videoMTU, vl.sendPT, vs.ssrc, &codecs.VP8Payloader{EnablePictureID: true}, rtp.NewRandomSequencer(), 90000)
		vs.pmu.Unlock()
	}
	v := vs.v
	s.mu.Unlock()
	if start {
		if err := v.Start("VP8", s.writeVideo(vs)); err != nil {
			s.log.Warn("video sender failed to start", "err", err)
		}
		v.SetBitrate(1500)
	}
}

// writeVideo packetises one encoded frame (RFC 7741) onto the video line.
func (s *Session) writeVideo(vs *videoSend) func([]byte, time.Duration) error {
	return func(frame []byte, d time.Duration) error {
		s.mu.Lock()
		vl := s.videoLineLocked()
		var tr *transport
		if vl != nil && vl.dir.Sends() {
			tr = vl.tr
		}
		s.mu.Unlock()
		if tr == nil {
			return nil // on hold or line gone: drop
		}
		vs.pmu.Lock()
		pkts := vs.packetizer.Packetize(frame, uint32(d*90000/time.Second))
		vs.pmu.Unlock()
		for _, p := range pkts {
			if err := tr.writeRTP(p); err != nil {
				return nil // not keyed yet (DTLS): drop, the next keyframe heals
			}
			vs.packets.Add(1)
		}
		vs.frames.Add(1)
		vs.bytes.Add(uint64(len(frame)))
		return nil
	}
}

// onVideoRTP depacketises the peer's VP8 into frames for opts.VideoOut.
func (s *Session) onVideoRTP(l *line) func(*rtp.Packet) {
	fa := rtpmedia.NewFrameAssembler(&codecs.VP8Packet{})
	var once sync.Once
	return func(p *rtp.Packet) {
		s.mu.Lock()
		name := l.recvNames[p.PayloadType]
		s.remoteVideo = p.SSRC
		s.mu.Unlock()
		if name != "VP8" {
			return
		}
		once.Do(func() {
			if s.ev.OnTrack != nil {
				s.ev.OnTrack(media.TrackInfo{Kind: "video", Codec: "VP8", ID: "video"})
			}
			s.RequestKeyframe() // joining mid-stream
		})
		s.stats.videoPackets.Add(1)
		s.stats.videoBytes.Add(uint64(len(p.Payload)))
		frames, dropped := fa.Push(p)
		if dropped {
			s.RequestKeyframe()
		}
		for _, frame := range frames {
			s.stats.videoFrames.Add(1)
			if out := s.opts.VideoOut; out != nil {
				if err := out.WriteVideoFrame("VP8", frame); err != nil {
					s.RequestKeyframe()
				}
			}
		}
	}
}

// onVideoRTCP turns PLI and FIR (RFC 4585 §6.3.1, RFC 5104 §4.3.1) into
// keyframes.
func (s *Session) onVideoRTCP(pkts []rtcp.Packet) {
	for _, p := range pkts {
		switch p.(type) {
		case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
			s.mu.Lock()
			vs := s.video
			s.mu.Unlock()
			if vs != nil {
				vs.keyReqs.Add(1)
				vs.v.RequestKeyframe()
			}
		}
	}
}

// RequestKeyframe implements media.Session: a PLI for the peer's video, at
// most one every 300 ms.
func (s *Session) RequestKeyframe() {
	s.mu.Lock()
	ssrc := s.remoteVideo
	vl := s.videoLineLocked()
	now := time.Now()
	if ssrc == 0 || vl == nil || now.Sub(s.lastPLI) < 300*time.Millisecond {
		s.mu.Unlock()
		return
	}
	s.lastPLI = now
	tr := vl.tr
	var sender uint32 = 1
	if vs := s.video; vs != nil {
		sender = vs.ssrc
	}
	s.mu.Unlock()
	_ = tr.writeRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{SenderSSRC: sender, MediaSSRC: ssrc}})
}
