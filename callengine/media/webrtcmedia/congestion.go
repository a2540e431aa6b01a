package webrtcmedia

import (
	"fmt"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/parlo-voip/parlo/callengine/media/rtpmedia"
)

// configureCongestionControl makes the share's bitrate follow the path
// rather than the receiver's reports alone: transport-wide sequence numbers
// on our video (draft-holmer-rmcat-transport-wide-cc-extensions-01), the
// peer's feedback on every packet's arrival time, and Google Congestion
// Control (draft-ietf-rmcat-gcc-02) on top, whose delay-based half sees a
// bottleneck's queue grow within a few feedback intervals (100 ms) — long
// before the loss in a receiver report (one a second, and blind to a lost
// tail) would. pion's interceptors do all of it; the estimate reaches the
// encoder and our pacer through onEstimator's estimator.
//
// Video only: on audio the header extension and the rtcp-fb lines would
// cost about 150 bytes of every SIP offer (RFC 3261 §18.1.1 keeps a UDP
// request under 1300) for a stream whose rate is fixed by its codec.
// Peers that do not negotiate transport-cc (SIP phones) leave the
// receiver-report controller of rtpmedia.VideoSend in charge.
func configureCongestionControl(m *webrtc.MediaEngine, ir *interceptor.Registry, onEstimator func(cc.BandwidthEstimator)) error {
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBTransportCC}, webrtc.RTPCodecTypeVideo)
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.TransportCCURI}, webrtc.RTPCodecTypeVideo); err != nil {
		return fmt.Errorf("webrtcmedia: transport-cc header extension: %w", err)
	}
	estimator, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
		return gcc.NewSendSideBWE(
			gcc.SendSideBWEInitialBitrate(startKbps*1000),
			gcc.SendSideBWEMinBitrate(rtpmedia.MinVideoKbps*1000),
			gcc.SendSideBWEMaxBitrate(rtpmedia.MaxVideoKbps*1000),
			// Our own pacer (rtpmedia.Pacer) spreads the frames: it blocks
			// the capture, which lowers the frame rate on a slow link, where
			// gcc's leaky bucket would queue without bound behind it.
			gcc.SendSideBWEPacer(gcc.NewNoOpPacer()),
		)
	})
	if err != nil {
		return fmt.Errorf("webrtcmedia: congestion controller: %w", err)
	}
	estimator.OnNewPeerConnection(func(_ string, e cc.BandwidthEstimator) { onEstimator(e) })
	ir.Add(estimator)
	// Added after the estimator, so it runs first on the way out: the
	// estimator reads the sequence number this one writes.
	seq, err := twcc.NewHeaderExtensionInterceptor()
	if err != nil {
		return fmt.Errorf("webrtcmedia: transport-cc sequence numbers: %w", err)
	}
	ir.Add(seq)
	// The receiving half: feedback on the peer's video every 100 ms.
	feedback, err := twcc.NewSenderInterceptor()
	if err != nil {
		return fmt.Errorf("webrtcmedia: transport-cc feedback: %w", err)
	}
	ir.Add(feedback)
	return nil
}

// onTargetBitrate hands the congestion controller's estimate (bits per
// second) to the running share, if any.
func (s *Session) onTargetBitrate(bps int) {
	s.mu.Lock()
	vs := s.video
	s.mu.Unlock()
	if vs != nil {
		vs.FollowEstimate(bps / 1000)
	}
}

// estimatedKbps is where a new share starts: the estimate the call's
// earlier traffic left, or startKbps.
func (s *Session) estimatedKbps() int {
	if s.bwe == nil {
		return startKbps
	}
	return max(s.bwe.GetTargetBitrate()/1000, rtpmedia.MinVideoKbps)
}
