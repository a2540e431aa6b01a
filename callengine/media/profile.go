package media

import (
	"fmt"
	"strings"

	"github.com/pion/sdp/v3"
)

// Path is the way a call's media is carried.
type Path string

const (
	// PathWebRTC is one bundled pion PeerConnection (browsers, Wazo/Asterisk
	// WebRTC lines): ICE, DTLS-SRTP, BUNDLE, rtcp-mux.
	PathWebRTC Path = "webrtc"
	// PathClassic is one transport per m-line (desk phones, trunks, baresip
	// and Linphone defaults): plain RTP/AVP, SDES-keyed RTP/SAVP, or
	// DTLS-SRTP without BUNDLE.
	PathClassic Path = "classic"
)

// SRTPPolicy says which offers and answers are acceptable security-wise.
type SRTPPolicy string

const (
	// SRTPPreferred is the default: calls we place offer DTLS-SRTP, then
	// SDES, and plain RTP only when the peer refused both; offers we get
	// are answered with SRTP when they carry it and plain RTP otherwise, so
	// a desk phone or PBX without SRTP still connects (what Linphone,
	// MicroSIP and baresip do by default). Stats say which one a call got.
	SRTPPreferred SRTPPolicy = "preferred"
	// SRTPRequired accepts DTLS-SRTP or SDES only.
	SRTPRequired SRTPPolicy = "required"
	// SRTPOptional offers SRTP and accepts plain RTP.
	SRTPOptional SRTPPolicy = "optional"
	// SRTPOff offers and accepts plain RTP/AVP only.
	SRTPOff SRTPPolicy = "off"
)

// ChoosePath picks the media path for a remote offer (RFC 3264 answerer):
// an offer in the WebRTC profile (UDP/TLS/RTP/SAVPF with ICE credentials and
// a fingerprint) whose active m-lines are all in one BUNDLE group, or that
// has a single active m-line, takes the PeerConnection; anything else takes
// the per-line path. Unparseable SDP wraps ErrBadSDP.
func ChoosePath(offer []byte) (Path, error) {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(string(offer)); err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadSDP, err)
	}
	bundled := map[string]bool{}
	for _, a := range sd.Attributes {
		if a.Key == sdp.AttrKeyGroup && strings.HasPrefix(a.Value, "BUNDLE") {
			for _, mid := range strings.Fields(strings.TrimPrefix(a.Value, "BUNDLE")) {
				bundled[mid] = true
			}
		}
	}
	sessionICE := hasAttr(sd.Attributes, "ice-ufrag")
	sessionFP := hasAttr(sd.Attributes, "fingerprint")
	active := 0
	allBundled := true
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Port.Value == 0 {
			continue
		}
		active++
		proto := strings.Join(md.MediaName.Protos, "/")
		if proto != "UDP/TLS/RTP/SAVPF" {
			return PathClassic, nil
		}
		if !(sessionICE || hasAttr(md.Attributes, "ice-ufrag")) || !(sessionFP || hasAttr(md.Attributes, "fingerprint")) {
			return PathClassic, nil
		}
		mid, _ := md.Attribute(sdp.AttrKeyMID)
		if !bundled[mid] {
			allBundled = false
		}
	}
	if active == 0 {
		return "", fmt.Errorf("%w: no active media line", ErrBadSDP)
	}
	if active == 1 || allBundled {
		return PathWebRTC, nil
	}
	return PathClassic, nil
}

func hasAttr(attrs []sdp.Attribute, key string) bool {
	for _, a := range attrs {
		if a.Key == key {
			return true
		}
	}
	return false
}
