package webrtcmedia

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/callengine/media/rtpmedia"
	"github.com/parlo-voip/parlo/capture/videocodec"
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
			SDPFmtpLine: rtpmedia.H264Fmtp,
		}, PayloadType: ptH264},
	}
}

// startKbps is the share's encoder target before the peer's feedback
// (rtpmedia.VideoSend adapts it).
const startKbps = 2500

// videoSend is our video sender on the PeerConnection: the shared sender
// lifecycle plus pion's track and RTP sender, and the RTCP reader this
// path owns.
type videoSend struct {
	*rtpmedia.VideoSend
	track  *videoTrack
	sender *webrtc.RTPSender

	stop chan struct{}
	wg   sync.WaitGroup
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
	if cur != nil {
		// A running source is replaced on the negotiated sender: no new
		// offer (the Wazo SDK's replaceTrack).
		running, err := cur.Replace(v, s.writeVideo(cur))
		if err != nil {
			return false, fmt.Errorf("webrtcmedia: %w", err)
		}
		return !running, nil
	}
	track := newVideoTrack("screen", "parlo")
	// AddTrack reuses a video transceiver the peer opened or an earlier
	// share left (RFC 8829 §5.2.2: m-lines are never removed), else adds one.
	sender, err := s.pc.AddTrack(track)
	if err != nil {
		return false, fmt.Errorf("webrtcmedia: add video track: %w", err)
	}
	vs := &videoSend{
		VideoSend: rtpmedia.NewVideoSend(v, rtpmedia.VideoSendOptions{StartKbps: s.estimatedKbps(), AdaptBitrate: true}),
		track:     track, sender: sender, stop: make(chan struct{}),
	}
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
	vs.Stop()
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
	vs := s.video
	s.mu.Unlock()
	return vs != nil && vs.Started()
}

// maybeStartVideo starts the video sender once a negotiation has accepted
// our video line: the remote description has it with a port and a
// direction that lets us send. Called with sigMu held.
func (s *Session) maybeStartVideo(remote *sdp.SessionDescription) error {
	s.mu.Lock()
	vs := s.video
	s.mu.Unlock()
	if vs == nil || vs.Started() {
		return nil
	}
	if !videoAccepted(remote) {
		return nil
	}
	codec, err := sendCodec(vs.track, remote, vs.Source().Codecs())
	if err != nil {
		return err
	}
	if err := vs.Start(codec, s.writeVideo(vs)); err != nil {
		return fmt.Errorf("webrtcmedia: %w", err)
	}
	return nil
}

// videoAccepted reports whether the peer's description has a video line it
// will receive on: port not 0 and not sendonly/inactive from its side.
func videoAccepted(sd *sdp.SessionDescription) bool {
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Media != "video" || md.MediaName.Port.Value == 0 {
			continue
		}
		if media.MediaDirection(sd, md).Receives() {
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
func sendCodec(track *videoTrack, remote *sdp.SessionDescription, can []videocodec.Name) (videocodec.Name, error) {
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
func firstRemoteVideoCodec(sd *sdp.SessionDescription, can []videocodec.Name) videocodec.Name {
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
				name, ok := videocodec.Parse(enc)
				if ok && slices.Contains(can, name) {
					return name
				}
			}
		}
	}
	return ""
}

// writeVideo sends one encoded frame on the bound track.
func (s *Session) writeVideo(vs *videoSend) rtpmedia.FrameWriter {
	return func(frame []byte, d time.Duration) error {
		// A frame in another codec than the track is bound to fails
		// (errVideoNotBound) rather than go out under the wrong payload type.
		n, err := vs.track.writeFrame(vs.Codec(), frame, d, vs.Pace)
		vs.PacketsSent(n)
		return err
	}
}

// readVideoRTCP hands the peer's feedback on our video to the sender
// (keyframes, bitrate) and keeps pion's interceptors fed.
func (s *Session) readVideoRTCP(vs *videoSend) {
	defer vs.wg.Done()
	var bad rtcpReadErrors
	for {
		pkts, _, err := vs.sender.ReadRTCP()
		select {
		case <-vs.stop:
			return
		default:
		}
		if err != nil {
			if bad.end(err) {
				return
			}
			continue
		}
		bad.reset()
		s.rtcpReceived.Add(1)
		vs.HandleRTCP(pkts, uint32(vs.sender.GetParameters().Encodings[0].SSRC))
	}
}

// RequestKeyframe implements media.Session: a PLI (RFC 4585 §6.3.1) for
// the peer's video, throttled (rtpmedia.PLIGate).
func (s *Session) RequestKeyframe() {
	s.mu.Lock()
	ssrc := s.remoteVideoSSRC
	s.mu.Unlock()
	if ssrc == 0 || !s.pli.Allow() {
		return
	}
	if err := s.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}); err != nil {
		s.log.Debug("PLI", "err", err)
	}
}

// receiveVideo depacketises a remote video track into complete frames for
// opts.VideoOut. It runs in the track's goroutine.
func (s *Session) receiveVideo(tr *webrtc.TrackRemote) {
	name, _ := videocodec.Parse(tr.Codec().MimeType)
	recv, err := rtpmedia.NewVideoReceive(name, s.opts.VideoOut, s.RequestKeyframe, &s.stats)
	if err != nil {
		s.log.Warn("remote video codec not supported, dropping", "codec", tr.Codec().MimeType)
		s.drain(tr)
		return
	}
	s.mu.Lock()
	s.remoteVideoSSRC = uint32(tr.SSRC())
	s.mu.Unlock()
	// Ask for a keyframe at once: we are joining a stream mid-way.
	s.RequestKeyframe()
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		recv.Push(pkt)
	}
}
