package webrtcmedia

import (
	"fmt"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/parlo-voip/parlo/callengine/media"
)

// CancelOffer implements media.OfferCanceler: the peer refused our pending
// offer (491 glare, 488, timeout), so the session must return to the last
// negotiated state. pion cannot roll back a local offer (pion/webrtc#2416:
// SetLocalDescription rejects the rollback type), so the offer is completed
// with a synthetic answer that restates what was negotiated before: every
// m-line the previous negotiation had gets the peer's previous parameters,
// and a line our offer added is rejected with port 0 (RFC 3264 §6). A video
// sender attached for that new line stays attached and is offered again by
// the next CreateOffer.
func (s *Session) CancelOffer() error {
	s.sigMu.Lock()
	defer s.sigMu.Unlock()
	return s.cancelOfferLocked()
}

// cancelOfferLocked is CancelOffer with sigMu held.
func (s *Session) cancelOfferLocked() error {
	s.mu.Lock()
	pending := s.pendingLocal
	s.mu.Unlock()
	if pending == nil {
		return nil
	}
	if s.pc.SignalingState() == webrtc.SignalingStateStable {
		// pion already left have-local-offer (a failed attempt got that
		// far): only our bookkeeping is stale.
		s.mu.Lock()
		s.pendingOffer, s.pendingLocal = nil, nil
		s.mu.Unlock()
		return nil
	}
	prevRemote := s.pc.CurrentRemoteDescription()
	prevLocal := s.pc.CurrentLocalDescription()
	if prevRemote == nil || prevLocal == nil {
		return fmt.Errorf("webrtcmedia: cancel offer: nothing negotiated before")
	}
	remote, err := prevRemote.Unmarshal()
	if err != nil {
		return fmt.Errorf("webrtcmedia: cancel offer: %w", err)
	}
	local, err := prevLocal.Unmarshal()
	if err != nil {
		return fmt.Errorf("webrtcmedia: cancel offer: %w", err)
	}
	ans := syntheticAnswer(pending, remote, local)
	raw, err := ans.Marshal()
	if err != nil {
		return fmt.Errorf("webrtcmedia: cancel offer: %w", err)
	}
	if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(raw)}); err != nil {
		return fmt.Errorf("webrtcmedia: cancel offer: %w", err)
	}
	s.mu.Lock()
	s.pendingOffer, s.pendingLocal = nil, nil
	s.mu.Unlock()
	return nil
}

// syntheticAnswer answers offer with what remote (the peer's previous
// description) and local (ours) negotiated: the peer's session attributes
// (ICE credentials, fingerprint), its previous m-lines by index, the DTLS
// role opposite to ours, and port 0 for lines that are new in offer.
func syntheticAnswer(offer, remote, local *sdp.SessionDescription) *sdp.SessionDescription {
	ans := &sdp.SessionDescription{
		Version:               0,
		Origin:                remote.Origin,
		SessionName:           remote.SessionName,
		TimeDescriptions:      []sdp.TimeDescription{{Timing: sdp.Timing{}}},
		ConnectionInformation: remote.ConnectionInformation,
	}
	ans.Origin.SessionVersion++
	var bundle []string
	for _, a := range remote.Attributes {
		if a.Key == sdp.AttrKeyGroup {
			continue // rebuilt below from the kept lines
		}
		if a.Key == "setup" {
			continue
		}
		ans.Attributes = append(ans.Attributes, a)
	}
	role := "passive"
	for _, md := range local.MediaDescriptions {
		if v, ok := md.Attribute("setup"); ok && v == "passive" {
			role = "active"
		}
	}
	if v, ok := local.Attribute("setup"); ok && v == "passive" {
		role = "active"
	}
	for i, om := range offer.MediaDescriptions {
		mid, _ := om.Attribute(sdp.AttrKeyMID)
		if i < len(remote.MediaDescriptions) && remote.MediaDescriptions[i].MediaName.Port.Value != 0 {
			prev := remote.MediaDescriptions[i]
			md := &sdp.MediaDescription{
				MediaName:             prev.MediaName,
				MediaTitle:            prev.MediaTitle,
				ConnectionInformation: prev.ConnectionInformation,
			}
			for _, a := range prev.Attributes {
				switch a.Key {
				case sdp.AttrKeyMID, "setup":
					continue
				}
				md.Attributes = append(md.Attributes, a)
			}
			md.Attributes = append(md.Attributes, sdp.Attribute{Key: sdp.AttrKeyMID, Value: mid}, sdp.Attribute{Key: "setup", Value: role})
			ans.MediaDescriptions = append(ans.MediaDescriptions, md)
			bundle = append(bundle, mid)
			continue
		}
		rej := &sdp.MediaDescription{MediaName: om.MediaName}
		rej.MediaName.Port = sdp.RangedPort{Value: 0}
		rej.Attributes = []sdp.Attribute{{Key: sdp.AttrKeyMID, Value: mid}, {Key: "inactive"}}
		// pion wants an rtpmap for every listed format, even on a rejected line.
		for _, a := range om.Attributes {
			if a.Key == "rtpmap" || a.Key == "fmtp" {
				rej.Attributes = append(rej.Attributes, a)
			}
		}
		ans.MediaDescriptions = append(ans.MediaDescriptions, rej)
	}
	if hasBundleGroup(offer) && len(bundle) > 0 {
		v := "BUNDLE"
		for _, m := range bundle {
			v += " " + m
		}
		ans.Attributes = append([]sdp.Attribute{{Key: sdp.AttrKeyGroup, Value: v}}, ans.Attributes...)
	}
	return ans
}

var _ media.OfferCanceler = (*Session)(nil)
