package webrtcmedia

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	pionmedia "github.com/pion/webrtc/v4/pkg/media"

	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/callengine/media/rtpmedia"
)

// Video payload type and feedback. VP8 is WebRTC's mandatory codec
// (RFC 7742 §5); PT 96 is what Chrome and baresip use for it.
const ptVP8 = 96

func videoCodecsOffered() []webrtc.RTPCodecParameters {
	fb := []webrtc.RTCPFeedback{
		{Type: "nack"},
		{Type: "nack", Parameter: "pli"}, // RFC 4585 §6.3.1
		{Type: "ccm", Parameter: "fir"},  // RFC 5104 §4.3.1
		{Type: "goog-remb"},
	}
	return []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: fb,
		}, PayloadType: ptVP8},
	}
}

// Bitrate adaptation from receiver reports: a loss-based controller like the
// loss half of GCC (draft-ietf-rmcat-gcc-02 §6): above 10 % loss the target
// drops by half the loss, below 2 % it grows by 8 % per report.
const (
	minVideoKbps = 150
	maxVideoKbps = 4000
	startKbps    = 2500
)

// videoSend is our video sender on the PeerConnection.
type videoSend struct {
	v       media.VideoSender
	track   *webrtc.TrackLocalStaticSample
	sender  *webrtc.RTPSender
	started bool
	kbps    int

	frames, bytes, keyReqs atomic.Uint64
	stop                   chan struct{}
	wg                     sync.WaitGroup
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
		// Replace the running source on the negotiated sender: no new
		// offer (the Wazo SDK's replaceTrack).
		cur.v.Stop()
		s.mu.Lock()
		cur.v = v
		s.mu.Unlock()
		if err := v.Start("VP8", s.writeVideo(cur)); err != nil {
			return false, fmt.Errorf("webrtcmedia: start video: %w", err)
		}
		return false, nil
	}
	if cur != nil {
		cur.v.Stop()
		s.mu.Lock()
		cur.v = v
		s.mu.Unlock()
		return true, nil
	}
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "screen", "parlo")
	if err != nil {
		return false, fmt.Errorf("webrtcmedia: video track: %w", err)
	}
	// AddTrack reuses a video transceiver the peer opened or an earlier
	// share left (RFC 8829 §5.2.2: m-lines are never removed), else adds one.
	sender, err := s.pc.AddTrack(track)
	if err != nil {
		return false, fmt.Errorf("webrtcmedia: add video track: %w", err)
	}
	vs := &videoSend{v: v, track: track, sender: sender, kbps: startKbps, stop: make(chan struct{})}
	vs.wg.Add(1)
	go s.readVideoRTCP(vs)
	s.mu.Lock()
	s.video = vs
	s.pendingOffer = nil // the next offer must carry the new line
	s.mu.Unlock()
	return true, nil
}

// RemoveVideoSender implements media.Session. The source is stopped first,
// so no frame is captured once it returns.
func (s *Session) RemoveVideoSender() error {
	s.sigMu.Lock()
	defer s.sigMu.Unlock()
	s.mu.Lock()
	vs := s.video
	s.video = nil
	s.pendingOffer = nil // the next offer must not carry the line as sending
	s.mu.Unlock()
	if vs == nil {
		return media.ErrNoVideoSender
	}
	vs.v.Stop()
	close(vs.stop)
	err := s.pc.RemoveTrack(vs.sender)
	vs.wg.Wait()
	if err != nil && !s.isClosed() {
		return fmt.Errorf("webrtcmedia: remove video track: %w", err)
	}
	return nil
}

// VideoSending implements media.Session.
func (s *Session) VideoSending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.video != nil && s.video.started
}

// maybeStartVideo starts the video sender once a negotiation has accepted
// our video line: the remote description has it with a port and a
// direction that lets us send. Called with sigMu held.
func (s *Session) maybeStartVideo(remote *sdp.SessionDescription) error {
	s.mu.Lock()
	vs := s.video
	s.mu.Unlock()
	if vs == nil || vs.started {
		return nil
	}
	if !videoAccepted(remote) {
		return nil
	}
	s.mu.Lock()
	vs.started = true
	v := vs.v
	s.mu.Unlock()
	if err := v.Start("VP8", s.writeVideo(vs)); err != nil {
		return fmt.Errorf("webrtcmedia: start video: %w", err)
	}
	v.SetBitrate(vs.kbps)
	return nil
}

// videoAccepted reports whether the peer's description has a video line it
// will receive on: port not 0 and not sendonly/inactive from its side.
func videoAccepted(sd *sdp.SessionDescription) bool {
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Media != "video" || md.MediaName.Port.Value == 0 {
			continue
		}
		dir := media.SendRecv
		for _, a := range md.Attributes {
			switch a.Key {
			case "sendonly":
				dir = media.SendOnly
			case "recvonly":
				dir = media.RecvOnly
			case "inactive":
				dir = media.Inactive
			}
		}
		if dir.Receives() {
			return true
		}
	}
	return false
}

func (s *Session) writeVideo(vs *videoSend) func([]byte, time.Duration) error {
	return func(frame []byte, d time.Duration) error {
		if err := vs.track.WriteSample(pionmedia.Sample{Data: frame, Duration: d}); err != nil {
			return err
		}
		vs.frames.Add(1)
		vs.bytes.Add(uint64(len(frame)))
		return nil
	}
}

// readVideoRTCP turns the peer's feedback into encoder actions: PLI/FIR →
// keyframe, REMB and receiver-report loss → bitrate. It also keeps pion's
// interceptors fed.
func (s *Session) readVideoRTCP(vs *videoSend) {
	defer vs.wg.Done()
	for {
		pkts, _, err := vs.sender.ReadRTCP()
		if err != nil {
			return
		}
		select {
		case <-vs.stop:
			return
		default:
		}
		for _, p := range pkts {
			switch p := p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				vs.keyReqs.Add(1)
				s.currentVideoSender(vs).RequestKeyframe()
			case *rtcp.ReceiverEstimatedMaximumBitrate:
				kbps := clampKbps(int(p.Bitrate / 1000))
				if kbps < vs.kbps {
					s.setVideoKbps(vs, kbps)
				}
			case *rtcp.ReceiverReport:
				for _, r := range p.Reports {
					if r.SSRC != uint32(vs.sender.GetParameters().Encodings[0].SSRC) {
						continue
					}
					loss := float64(r.FractionLost) / 256
					switch {
					case loss > 0.10:
						s.setVideoKbps(vs, clampKbps(int(float64(vs.kbps)*(1-0.5*loss))))
					case loss < 0.02:
						s.setVideoKbps(vs, clampKbps(int(float64(vs.kbps)*1.08)))
					}
				}
			}
		}
	}
}

func (s *Session) currentVideoSender(vs *videoSend) media.VideoSender {
	s.mu.Lock()
	defer s.mu.Unlock()
	return vs.v
}

func (s *Session) setVideoKbps(vs *videoSend, kbps int) {
	if kbps == vs.kbps {
		return
	}
	vs.kbps = kbps
	s.currentVideoSender(vs).SetBitrate(kbps)
}

func clampKbps(k int) int { return min(max(k, minVideoKbps), maxVideoKbps) }

// RequestKeyframe implements media.Session: a PLI (RFC 4585 §6.3.1) for
// the peer's video, at most one every 300 ms.
func (s *Session) RequestKeyframe() {
	s.mu.Lock()
	ssrc := s.remoteVideoSSRC
	last := s.lastPLI
	now := time.Now()
	if ssrc == 0 || now.Sub(last) < 300*time.Millisecond {
		s.mu.Unlock()
		return
	}
	s.lastPLI = now
	s.mu.Unlock()
	if err := s.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}); err != nil {
		s.log.Debug("PLI", "err", err)
	}
}

// receiveVideo depacketises a remote video track into complete frames for
// opts.VideoOut. It runs in the track's goroutine.
func (s *Session) receiveVideo(tr *webrtc.TrackRemote) {
	codec := tr.Codec()
	if !strings.EqualFold(codec.MimeType, webrtc.MimeTypeVP8) {
		s.log.Warn("remote video codec not supported, dropping", "codec", codec.MimeType)
		s.drain(tr)
		return
	}
	s.mu.Lock()
	s.remoteVideoSSRC = uint32(tr.SSRC())
	s.mu.Unlock()
	// Ask for a keyframe at once: we are joining a stream mid-way.
	s.RequestKeyframe()
	fa := rtpmedia.NewFrameAssembler(&codecs.VP8Packet{})
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		s.stats.videoPackets.Add(1)
		s.stats.videoBytes.Add(uint64(len(pkt.Payload)))
		frame, dropped := fa.Push(pkt)
		if dropped {
			s.RequestKeyframe()
		}
		if frame == nil {
			continue
		}
		s.stats.videoFrames.Add(1)
		if out := s.opts.VideoOut; out != nil {
			if err := out.WriteVideoFrame("VP8", frame); err != nil {
				s.RequestKeyframe()
			}
		}
	}
}

// videoStats fills the video part of Stats.
func (s *Session) videoStats(st *media.Stats) {
	s.mu.Lock()
	vs := s.video
	s.mu.Unlock()
	if vs != nil {
		st.Video.Sent.Codec = "VP8"
		st.Video.Sent.Frames = vs.frames.Load()
		st.Video.Sent.Bytes = vs.bytes.Load()
		st.Video.Sent.KeyframeRequests = vs.keyReqs.Load()
		st.Video.Sent.BitrateKbps = vs.kbps
	}
	if n := s.stats.videoPackets.Load(); n > 0 {
		st.Video.Received.Codec = "VP8"
		st.Video.Received.Packets = n
		st.Video.Received.Bytes = s.stats.videoBytes.Load()
		st.Video.Received.FramesAssembled = s.stats.videoFrames.Load()
	}
}
