package webrtcmedia

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/callengine/media/rtpmedia"
)

// Video payload types and feedback. VP8 is WebRTC's mandatory codec
// (RFC 7742 §5) and stays preferred; H.264 constrained baseline
// (RFC 7742 §6.2, RFC 6184) is offered second for peers that only decode
// that. PT 96 is what Chrome and baresip use for VP8; 102 is Chrome's for
// this H.264 profile.
const (
	ptVP8  = 96
	ptH264 = 102
)

// h264Fmtp: packetization-mode 1 (FU-A and STAP-A, RFC 6184 §6.3), the
// constrained baseline profile at level 3.1 (profile-level-id 42e01f,
// RFC 6184 §8.1), and level-asymmetry-allowed so the peer may send at
// another level than it receives (RFC 6184 §8.1). x264 signals the level its
// picture size needs in the SPS; decoders go by that.
const h264Fmtp = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"

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
		{RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeH264, ClockRate: 90000, RTCPFeedback: fb,
			SDPFmtpLine: h264Fmtp,
		}, PayloadType: ptH264},
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
	track   *videoTrack
	sender  *webrtc.RTPSender
	started bool
	codec   string // what v was started with
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
		codec := cur.codec
		s.mu.Unlock()
		if err := v.Start(codec, s.writeVideo(cur, codec)); err != nil {
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
	track := newVideoTrack("screen", "parlo")
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
	codec, err := sendCodec(vs.track, remote, vs.v.Codecs())
	if err != nil {
		return err
	}
	s.mu.Lock()
	vs.started = true
	vs.codec = codec
	v := vs.v
	s.mu.Unlock()
	if err := v.Start(codec, s.writeVideo(vs, codec)); err != nil {
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

// sendCodec is the codec our video goes out in: the one pion bound the
// track to (the first of the negotiated list we can packetise), which
// SetLocalDescription/SetRemoteDescription did before we get here. If
// pion has not bound it, the first codec of the peer's video line that the
// sender encodes. It must be one the sender can encode.
func sendCodec(track *videoTrack, remote *sdp.SessionDescription, can []string) (string, error) {
	codec := track.boundCodec()
	if codec == "" {
		codec = firstRemoteVideoCodec(remote, can)
	}
	for _, c := range can {
		if c == codec {
			return codec, nil
		}
	}
	return "", fmt.Errorf("%w (bound %q, sender encodes %v)", errNoVideoCodec, codec, can)
}

// firstRemoteVideoCodec returns the first codec of the accepted video line
// that is in can, in the peer's order.
func firstRemoteVideoCodec(sd *sdp.SessionDescription, can []string) string {
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Media != "video" || md.MediaName.Port.Value == 0 {
			continue
		}
		for _, f := range md.MediaName.Formats {
			for _, a := range md.Attributes {
				if a.Key != "rtpmap" || !strings.HasPrefix(a.Value, f+" ") {
					continue
				}
				enc, _, _ := strings.Cut(strings.TrimPrefix(a.Value, f+" "), "/")
				name := videoCodecName("video/" + enc)
				for _, c := range can {
					if name != "" && c == name {
						return name
					}
				}
			}
		}
	}
	return ""
}

func (s *Session) writeVideo(vs *videoSend, codec string) func([]byte, time.Duration) error {
	return func(frame []byte, d time.Duration) error {
		if err := vs.track.writeFrame(codec, frame, d); err != nil {
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
	name := videoCodecName(codec.MimeType)
	var depack rtp.Depacketizer
	switch name {
	case "VP8":
		depack = &codecs.VP8Packet{}
	case "H264":
		// Annex-B output (start codes), what the decoder takes.
		depack = &codecs.H264Packet{}
	default:
		s.log.Warn("remote video codec not supported, dropping", "codec", codec.MimeType)
		s.drain(tr)
		return
	}
	s.mu.Lock()
	s.remoteVideoSSRC = uint32(tr.SSRC())
	s.mu.Unlock()
	// Ask for a keyframe at once: we are joining a stream mid-way.
	s.RequestKeyframe()
	fa := rtpmedia.NewFrameAssembler(depack)
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		s.stats.videoPackets.Add(1)
		s.stats.videoBytes.Add(uint64(len(pkt.Payload)))
		frames, dropped := fa.Push(pkt)
		if dropped {
			s.RequestKeyframe()
		}
		for _, frame := range frames {
			s.stats.videoFrames.Add(1)
			if out := s.opts.VideoOut; out != nil {
				if err := out.WriteVideoFrame(name, frame); err != nil {
					s.RequestKeyframe()
				}
			}
		}
	}
}

// videoStats fills the video part of Stats.
func (s *Session) videoStats(st *media.Stats) {
	s.mu.Lock()
	vs := s.video
	var sentCodec string
	if vs != nil {
		sentCodec = vs.codec
	}
	s.mu.Unlock()
	if vs != nil {
		st.Video.Sent.Codec = sentCodec
		st.Video.Sent.Frames = vs.frames.Load()
		st.Video.Sent.Bytes = vs.bytes.Load()
		st.Video.Sent.KeyframeRequests = vs.keyReqs.Load()
		st.Video.Sent.BitrateKbps = vs.kbps
	}
	if n := s.stats.videoPackets.Load(); n > 0 {
		st.Video.Received.Codec = s.remoteVideoCodec()
		st.Video.Received.Packets = n
		st.Video.Received.Bytes = s.stats.videoBytes.Load()
		st.Video.Received.FramesAssembled = s.stats.videoFrames.Load()
	}
}

// remoteVideoCodec names the codec of the peer's video track ("" when none).
func (s *Session) remoteVideoCodec() string {
	for _, t := range s.pc.GetTransceivers() {
		if t.Kind() != webrtc.RTPCodecTypeVideo || t.Receiver() == nil {
			continue
		}
		if tr := t.Receiver().Track(); tr != nil {
			if name := videoCodecName(tr.Codec().MimeType); name != "" {
				return name
			}
		}
	}
	return ""
}
