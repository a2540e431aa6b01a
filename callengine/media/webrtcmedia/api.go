package webrtcmedia

import (
	"fmt"
	"net"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/webrtc/v4"

	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/callengine/media/rtpmedia"
)

// Payload types. PCMU, PCMA and G722 are static (RFC 3551 §6); the dynamic ones
// follow what Chrome offers so answers from browsers keep the same numbers.
const (
	ptPCMU       = 0
	ptPCMA       = 8
	ptG722       = 9
	ptTelEvent8k = 101
	ptTelEvent48 = 110
	ptOpus       = 111
)

// audioCodecsOffered is everything we put on the audio line, preferred
// first. Only these: every extra rtpmap costs bytes, and SIP over UDP must
// stay under 1300 bytes (RFC 3261 §18.1.1).
func audioCodecsOffered() []webrtc.RTPCodecParameters {
	return []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
			// RFC 7587 §7: minptime and in-band FEC.
			SDPFmtpLine: "minptime=10;useinbandfec=1",
		}, PayloadType: ptOpus},
		// Wideband G.722 before G.711; its rtpmap clock is 8000 though it
		// samples at 16 kHz (RFC 3551 §4.5.2).
		{RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeG722, ClockRate: 8000, Channels: 1,
		}, PayloadType: ptG722},
		{RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypePCMU, ClockRate: 8000, Channels: 1,
		}, PayloadType: ptPCMU},
		{RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypePCMA, ClockRate: 8000, Channels: 1,
		}, PayloadType: ptPCMA},
		// RFC 4733 events at both clock rates: an Opus call signals DTMF at
		// 48000, a G.711 one at 8000.
		{RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: mimeTelephoneEvent, ClockRate: 48000, Channels: 1, SDPFmtpLine: "0-16",
		}, PayloadType: ptTelEvent48},
		{RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: mimeTelephoneEvent, ClockRate: 8000, Channels: 1, SDPFmtpLine: "0-16",
		}, PayloadType: ptTelEvent8k},
	}
}

const mimeTelephoneEvent = "audio/telephone-event"

// newAPI builds the pion API of one Session: its own MediaEngine (pion
// records the negotiated codecs in it, so it must not be shared between
// calls), interceptors (NACK, RTCP sender/receiver reports) and a
// SettingEngine for the SIP use case. onEstimator receives the congestion
// controller of the PeerConnection the API makes.
func newAPI(opts media.Options, onEstimator func(cc.BandwidthEstimator)) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	for _, c := range audioCodecsOffered() {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			return nil, fmt.Errorf("webrtcmedia: register %s: %w", c.MimeType, err)
		}
	}
	for _, c := range videoCodecsOffered() {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeVideo); err != nil {
			return nil, fmt.Errorf("webrtcmedia: register %s: %w", c.MimeType, err)
		}
	}
	// The useful part of pion's default interceptors: NACK (RFC 4585) and
	// RTCP sender/receiver reports (RFC 3550 §6.4), and transport-cc on
	// video (configureCongestionControl). The rest of the defaults add
	// transport-cc on audio too (SDP bytes audio does not need) and simulcast
	// extensions.
	ir := &interceptor.Registry{}
	// Congestion control first: pion chains interceptors in the order they
	// are added, so the NACK responder below then sees the estimate (it
	// keeps retransmissions within it) and its retransmissions carry
	// transport-wide sequence numbers like any packet.
	if err := configureCongestionControl(m, ir, onEstimator); err != nil {
		return nil, err
	}
	// NACKs every 20 ms rather than pion's 100 ms, at most 10 times a
	// packet: the receiver's FrameAssembler holds a frame with a hole for
	// DefaultRepairWait (200 ms), so a retransmission has several chances
	// to arrive before the frame is given up for a keyframe.
	genOpts := []nack.GeneratorOption{nack.GeneratorInterval(20 * time.Millisecond), nack.GeneratorMaxNacksPerPacket(10)}
	if err := webrtc.ConfigureNackWithOptions(m, ir, genOpts); err != nil {
		return nil, fmt.Errorf("webrtcmedia: nack interceptor: %w", err)
	}
	// Sender and receiver reports as webrtc.ConfigureRTCPReports adds them,
	// but the sender reports at random waits (rtpmedia.NewReportTicker) so a
	// peer's receiver reports cannot lock in phase with them.
	rr, err := report.NewReceiverInterceptor()
	if err != nil {
		return nil, fmt.Errorf("webrtcmedia: receiver report interceptor: %w", err)
	}
	sr, err := report.NewSenderInterceptor(report.SenderTicker(rtpmedia.NewReportTicker))
	if err != nil {
		return nil, fmt.Errorf("webrtcmedia: sender report interceptor: %w", err)
	}
	ir.Add(rr)
	ir.Add(sr)
	// Jitter and round-trip time for Stats (no SDP cost).
	if err := webrtc.ConfigureStatsInterceptor(ir); err != nil {
		return nil, fmt.Errorf("webrtcmedia: stats interceptor: %w", err)
	}

	var se webrtc.SettingEngine
	// mDNS host names (RFC 8839 draft-ietf-mmusic-mdns-ice-candidates) mean
	// nothing to SIP peers and would break the default candidate in c=.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	// IPv4 UDP only: c= carries one IP4 address and every extra candidate
	// costs SDP bytes. nominate.go relies on it: with TCP gathered, its
	// never-used passive TCP candidate would be dialled.
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	disc, fail := opts.ICEDisconnectedTimeout, opts.ICEFailedTimeout
	if disc <= 0 {
		disc = 5 * time.Second
	}
	if fail <= 0 {
		fail = 15 * time.Second
	}
	// Keepalives well inside the disconnected timeout, so a quiet but live
	// path (hold, mute) is never taken for a dead one.
	se.SetICETimeouts(disc, fail, min(disc/3, 2*time.Second))
	// SIP answerers rarely declare a=ssrc (RFC 5576 is optional) and media
	// gateways such as rtpengine, bridging a classic phone, never do; with
	// one audio section and no MID header extension pion would otherwise
	// drop the answerer's stream ("early media without SDP answer") and the
	// caller hears nothing.
	se.SetHandleUndeclaredSSRCWithoutAnswer(true)
	switch {
	case opts.LoopbackOnly && len(opts.TURNServers) == 0:
		// Loopback only, so processes on one machine (and the tests) talk
		// over 127.0.0.1 whatever interfaces the host has.
		se.SetIncludeLoopbackCandidate(true)
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	case opts.IncludeLoopback:
		se.SetIncludeLoopbackCandidate(true)
	}
	return webrtc.NewAPI(
		webrtc.WithMediaEngine(m),
		webrtc.WithInterceptorRegistry(ir),
		webrtc.WithSettingEngine(se),
	), nil
}

// iceServers turns the STUN URIs of the options into a pion configuration.
func iceServers(opts media.Options) []webrtc.ICEServer {
	var out []webrtc.ICEServer
	if len(opts.STUNServers) > 0 {
		out = append(out, webrtc.ICEServer{URLs: append([]string(nil), opts.STUNServers...)})
	}
	for _, t := range opts.TURNServers {
		out = append(out, webrtc.ICEServer{URLs: []string{t.URL}, Username: t.Username, Credential: t.Credential})
	}
	return out
}
