package webrtcmedia

// Interop shims between pion/webrtc's SDP and what SIP peers send and expect.
// Each quirk is one function over a parsed pion/sdp SessionDescription, with
// its own table test in sdpshim_test.go. findings.md ("pion/webrtc ↔ baresip
// 1.0: what it took") explains where each one comes from.

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"

	"github.com/parlo-voip/parlo/callengine/media"
)

const (
	attrMid       = "mid"
	attrRTCP      = "rtcp"
	attrRTPMap    = "rtpmap"
	attrCandidate = "candidate"
	attrSSRC      = "ssrc"
	attrGroup     = "group"
	kindAudio     = "audio"
	// discardPort is what JSEP writes into m= before candidates are known
	// (RFC 8829 §5.2.1); trickle offers keep it (RFC 8840 §4.1.1).
	discardPort = 9
)

// directionAttrs are the four direction attributes of RFC 3264 §5.1.
var directionAttrs = map[string]media.Direction{
	"sendrecv": media.SendRecv,
	"sendonly": media.SendOnly,
	"recvonly": media.RecvOnly,
	"inactive": media.Inactive,
}

// parseSDP unmarshals raw SDP without ever panicking: pion/sdp is a lexer
// over network input, so a recover turns any latent bug into ErrBadSDP.
func parseSDP(raw []byte) (sd *sdp.SessionDescription, err error) {
	defer func() {
		if r := recover(); r != nil {
			sd, err = nil, fmt.Errorf("%w: parser panic: %v", media.ErrBadSDP, r)
		}
	}()
	sd = &sdp.SessionDescription{}
	if err := sd.UnmarshalString(string(raw)); err != nil {
		return nil, fmt.Errorf("%w: unparseable: %w", media.ErrBadSDP, err)
	}
	return sd, nil
}

// audioIndex returns the index of the first audio m-line, or -1.
func audioIndex(sd *sdp.SessionDescription) int {
	for i, md := range sd.MediaDescriptions {
		if md.MediaName.Media == kindAudio {
			return i
		}
	}
	return -1
}

// validateWebRTC checks that the peer's SDP is something one bundled
// PeerConnection can use: an audio line in the WebRTC profile (RFC 8827 §6.5,
// UDP/TLS/RTP/SAVPF), ICE credentials (RFC 8839 §5.4) and a DTLS fingerprint
// (RFC 8122 §5), at session or media level. Errors wrap media.ErrBadSDP or,
// when the audio line carries nothing we can decode, media.ErrNoCommonCodec.
func validateWebRTC(sd *sdp.SessionDescription) error {
	ai := audioIndex(sd)
	if ai < 0 {
		return fmt.Errorf("%w: no audio m-line", media.ErrBadSDP)
	}
	md := sd.MediaDescriptions[ai]
	proto := strings.Join(md.MediaName.Protos, "/")
	if !strings.Contains(proto, "SAVPF") {
		return fmt.Errorf("%w: audio proto %q is not the WebRTC profile (UDP/TLS/RTP/SAVPF)", media.ErrBadSDP, proto)
	}
	if !hasAttr(sd, md, "ice-ufrag") || !hasAttr(sd, md, "ice-pwd") {
		return fmt.Errorf("%w: no ICE credentials (a=ice-ufrag/a=ice-pwd)", media.ErrBadSDP)
	}
	if !hasAttr(sd, md, "fingerprint") {
		return fmt.Errorf("%w: no DTLS fingerprint (a=fingerprint)", media.ErrBadSDP)
	}
	if err := checkFingerprints(sd, md); err != nil {
		return err
	}
	if md.MediaName.Port.Value == 0 {
		// A port of zero rejects the stream (RFC 3264 §6).
		return fmt.Errorf("%w: audio m-line rejected (port 0)", media.ErrNoCommonCodec)
	}
	if len(audioCodecs(md)) == 0 {
		return fmt.Errorf("%w: audio formats %v", media.ErrNoCommonCodec, md.MediaName.Formats)
	}
	return nil
}

// fingerprintHashes are the hash functions of RFC 8122 §5 that DTLS can
// verify (md2/md5 are not allowed for DTLS-SRTP, RFC 5763 §5).
var fingerprintHashes = map[string]int{"sha-1": 20, "sha-224": 28, "sha-256": 32, "sha-384": 48, "sha-512": 64}

// checkFingerprints validates every a=fingerprint of the session and the
// audio line: pion only checks that one exists and would fail later, in the
// DTLS handshake, with a less useful error.
func checkFingerprints(sd *sdp.SessionDescription, md *sdp.MediaDescription) error {
	attrs := append(append([]sdp.Attribute(nil), sd.Attributes...), md.Attributes...)
	for _, a := range attrs {
		if a.Key != "fingerprint" {
			continue
		}
		hash, value, ok := strings.Cut(strings.TrimSpace(a.Value), " ")
		size, known := fingerprintHashes[strings.ToLower(hash)]
		if !ok || !known {
			return fmt.Errorf("%w: fingerprint hash %q not supported", media.ErrBadSDP, hash)
		}
		parts := strings.Split(strings.TrimSpace(value), ":")
		if len(parts) != size {
			return fmt.Errorf("%w: %s fingerprint has %d bytes, want %d", media.ErrBadSDP, hash, len(parts), size)
		}
		for _, p := range parts {
			if _, err := strconv.ParseUint(p, 16, 8); err != nil || len(p) != 2 {
				return fmt.Errorf("%w: fingerprint byte %q is not hex", media.ErrBadSDP, p)
			}
		}
	}
	return nil
}

// hasAttr looks for an attribute at media level, then at session level.
func hasAttr(sd *sdp.SessionDescription, md *sdp.MediaDescription, key string) bool {
	if v, ok := md.Attribute(key); ok && v != "" {
		return true
	}
	v, ok := sd.Attribute(key)
	return ok && v != ""
}

// audioCodecs lists the codecs of an audio m-line that we can decode, in the
// order of the m-line (the peer's preference, RFC 3264 §5.1). Static payload
// types 0, 8 and 9 need no rtpmap (RFC 3551 §6).
func audioCodecs(md *sdp.MediaDescription) []string {
	names := map[string]string{"0": "PCMU", "8": "PCMA", "9": "G722"}
	for _, a := range md.Attributes {
		if a.Key != attrRTPMap {
			continue
		}
		pt, enc, ok := strings.Cut(a.Value, " ")
		if !ok {
			continue
		}
		name, rest, _ := strings.Cut(enc, "/")
		rate, _, _ := strings.Cut(rest, "/")
		// The clock rate is part of the codec (RFC 4566 §6): opus/48000
		// (RFC 7587 §7), PCMU/8000 and PCMA/8000 (RFC 3551 §6), G722/8000
		// though it samples at 16 kHz (RFC 3551 §4.5.2).
		switch {
		case strings.EqualFold(name, "opus") && rate == "48000",
			(strings.EqualFold(name, "PCMU") || strings.EqualFold(name, "PCMA") || strings.EqualFold(name, "G722")) && rate == "8000":
			names[pt] = name
		default:
			delete(names, pt)
		}
	}
	var out []string
	for _, f := range md.MediaName.Formats {
		switch name := names[f]; {
		case strings.EqualFold(name, "opus"):
			out = append(out, "opus")
		case strings.EqualFold(name, "PCMU"), strings.EqualFold(name, "PCMA"), strings.EqualFold(name, "G722"):
			out = append(out, strings.ToUpper(name))
		}
	}
	return out
}

// remoteDirection is the direction the peer wrote on its audio line, from the
// peer's point of view: the media-level attribute, else the session-level one,
// else sendrecv (RFC 3264 §5.1). Legacy hold (RFC 3264 §8.4, RFC 2543 style)
// writes c=0.0.0.0: the peer wants nothing sent to it, so its receive half is
// dropped. A JSEP/trickle line also carries 0.0.0.0 but with port 9 or
// candidates (RFC 8839 §5.1), and is not a hold.
func remoteDirection(sd *sdp.SessionDescription) media.Direction {
	ai := audioIndex(sd)
	if ai < 0 {
		return media.Inactive
	}
	md := sd.MediaDescriptions[ai]
	dir := media.SendRecv
	found := false
	for _, a := range md.Attributes {
		if d, ok := directionAttrs[a.Key]; ok {
			dir, found = d, true
			break
		}
	}
	if !found {
		for _, a := range sd.Attributes {
			if d, ok := directionAttrs[a.Key]; ok {
				dir = d
				break
			}
		}
	}
	if isLegacyHold(sd, md) {
		dir = dir.Intersect(media.SendOnly)
	}
	return dir
}

func isLegacyHold(sd *sdp.SessionDescription, md *sdp.MediaDescription) bool {
	c := md.ConnectionInformation
	if c == nil {
		c = sd.ConnectionInformation
	}
	if c == nil || c.Address == nil || c.Address.Address != "0.0.0.0" {
		return false
	}
	if md.MediaName.Port.Value == discardPort {
		return false
	}
	for _, a := range md.Attributes {
		if a.Key == attrCandidate {
			return false
		}
	}
	return true
}

// setAudioDirection replaces (or adds) the direction attribute of the audio
// m-line. pion v4 has no public way to set a transceiver's direction for
// hold, so we negotiate direction in the SDP ourselves and gate the media in
// the Session.
func setAudioDirection(sd *sdp.SessionDescription, dir media.Direction) {
	ai := audioIndex(sd)
	if ai < 0 {
		return
	}
	md := sd.MediaDescriptions[ai]
	attrs := md.Attributes[:0]
	for _, a := range md.Attributes {
		if _, ok := directionAttrs[a.Key]; !ok {
			attrs = append(attrs, a)
		}
	}
	md.Attributes = append(attrs, sdp.NewPropertyAttribute(dir.String()))
	// A session-level direction would override nothing at media level but
	// confuses readers; drop it.
	sess := sd.Attributes[:0]
	for _, a := range sd.Attributes {
		if _, ok := directionAttrs[a.Key]; !ok {
			sess = append(sess, a)
		}
	}
	sd.Attributes = sess
}

// fillMissingMIDs gives every remote m-line without a=mid the MID of the
// local m-line at the same index (RFC 3264 §6: the answer has the same
// m-lines in the same order). baresip 1.0 answers without a=mid and pion
// then never fires OnTrack although RTP arrives. For an initial offer
// without MIDs (no local description yet) the index itself is the MID.
func fillMissingMIDs(remote, local *sdp.SessionDescription) {
	for i, md := range remote.MediaDescriptions {
		if _, ok := md.Attribute(attrMid); ok {
			continue
		}
		mid := strconv.Itoa(i)
		if local != nil && i < len(local.MediaDescriptions) {
			if v, ok := local.MediaDescriptions[i].Attribute(attrMid); ok {
				mid = v
			}
		}
		md.Attributes = append(md.Attributes, sdp.NewAttribute(attrMid, mid))
	}
}

// candidate is the part of an a=candidate line (RFC 8839 §5.1) we need.
type candidate struct {
	component int
	transport string
	priority  uint64
	address   string
	port      int
	typ       string
}

func parseCandidate(value string) (candidate, bool) {
	f := strings.Fields(value)
	if len(f) < 8 || f[6] != "typ" {
		return candidate{}, false
	}
	comp, err1 := strconv.Atoi(f[1])
	prio, err2 := strconv.ParseUint(f[3], 10, 32)
	port, err3 := strconv.Atoi(f[5])
	if err1 != nil || err2 != nil || err3 != nil {
		return candidate{}, false
	}
	return candidate{comp, strings.ToLower(f[2]), prio, f[4], port, f[7]}, true
}

// candidateTypeRank orders default candidate choices: RFC 8839 §5.1 suggests
// the candidate most likely to work, relay over server-reflexive over host.
var candidateTypeRank = map[string]int{"relay": 3, "srflx": 2, "prflx": 1, "host": 0}

// defaultCandidate picks the RTP (component 1) UDP IPv4 candidate of an
// m-line to advertise in c= and m=.
func defaultCandidate(md *sdp.MediaDescription) (candidate, bool) {
	var best candidate
	found := false
	for _, a := range md.Attributes {
		if a.Key != attrCandidate {
			continue
		}
		c, ok := parseCandidate(a.Value)
		if !ok || c.component != 1 || c.transport != "udp" || strings.Contains(c.address, ":") ||
			strings.HasSuffix(c.address, ".local") {
			continue
		}
		if !found || candidateTypeRank[c.typ] > candidateTypeRank[best.typ] ||
			(candidateTypeRank[c.typ] == candidateTypeRank[best.typ] && c.priority > best.priority) {
			best, found = c, true
		}
	}
	return best, found
}

// applyDefaultCandidate writes each m-line's default candidate into its m=
// port and c= line instead of pion's 0.0.0.0 / 9, and adds a=rtcp with the
// same port (rtcp-mux). RFC 8839 §5.1: the default candidate goes into c=
// and m=; peers that see 0.0.0.0 declare ICE mismatch (baresip 1.0 answers
// a=ice-mismatch). RFC 3605 §2.1 / RFC 5761 §5.1.3: with rtcp-mux the
// a=rtcp port equals the RTP port; without a=rtcp baresip looks for
// component 2 at port+1 and fails ICE. The session-level c= gets the first
// m-line's address.
func applyDefaultCandidate(sd *sdp.SessionDescription) {
	first := ""
	for _, md := range sd.MediaDescriptions {
		c, ok := defaultCandidate(md)
		if !ok || md.MediaName.Port.Value == 0 {
			continue
		}
		if first == "" {
			first = c.address
		}
		md.MediaName.Port = sdp.RangedPort{Value: c.port}
		md.ConnectionInformation = &sdp.ConnectionInformation{
			NetworkType: "IN", AddressType: "IP4", Address: &sdp.Address{Address: c.address},
		}
		attrs := md.Attributes[:0]
		for _, a := range md.Attributes {
			if a.Key != attrRTCP {
				attrs = append(attrs, a)
			}
		}
		md.Attributes = append(attrs, sdp.NewAttribute(attrRTCP, fmt.Sprintf("%d IN IP4 %s", c.port, c.address)))
	}
	if first == "" {
		return
	}
	if sd.ConnectionInformation != nil {
		sd.ConnectionInformation = &sdp.ConnectionInformation{
			NetworkType: "IN", AddressType: "IP4", Address: &sdp.Address{Address: first},
		}
	}
	// RFC 4566 §5.2: o= carries the address of the originating host; some
	// SIP stacks read it, and 0.0.0.0 there looks like legacy hold to them.
	if sd.Origin.UnicastAddress == "0.0.0.0" {
		sd.Origin.UnicastAddress = first
	}
}

// trimForSIP drops what SIP peers do not use, since every byte counts for
// SIP over UDP (RFC 3261 §18.1.1: over 1300 bytes the request goes over
// TCP): the Plan-B era a=ssrc "mslabel" and "label" lines (a=msid, RFC
// 8830, says the same) and the browser-only "ufrag"/"generation"
// extensions pion appends to each candidate (about 40 bytes a line; RFC
// 8839 §5.1 makes extensions optional and the ICE credentials are in the
// SDP anyway).
func trimForSIP(sd *sdp.SessionDescription) {
	for _, md := range sd.MediaDescriptions {
		attrs := md.Attributes[:0]
		for _, a := range md.Attributes {
			if a.Key == attrCandidate {
				a.Value = trimCandidateExtensions(a.Value)
			}
			if a.Key == attrSSRC {
				if _, rest, ok := strings.Cut(a.Value, " "); ok &&
					(strings.HasPrefix(rest, "mslabel:") || strings.HasPrefix(rest, "label:")) {
					continue
				}
			}
			attrs = append(attrs, a)
		}
		md.Attributes = attrs
	}
}

// trimCandidateExtensions removes the "ufrag x" and "generation n" pairs
// from a candidate line and keeps everything else (raddr/rport, tcptype).
func trimCandidateExtensions(value string) string {
	f := strings.Fields(value)
	if len(f) < 8 {
		return value
	}
	out := f[:8]
	for i := 8; i+1 < len(f); i += 2 {
		if f[i] == "ufrag" || f[i] == "generation" {
			continue
		}
		out = append(out, f[i], f[i+1])
	}
	return strings.Join(out, " ")
}

// rewriteOutgoing applies every outgoing shim to pion's local description.
func rewriteOutgoing(sd *sdp.SessionDescription, dir media.Direction) {
	applyDefaultCandidate(sd)
	setAudioDirection(sd, dir)
	trimForSIP(sd)
}

// prepareIncoming applies the incoming shims before pion sees the peer's
// SDP and returns the direction the peer asked for (its point of view).
// The audio direction handed to pion is always sendrecv: pion stops a
// transceiver for good when an offer says inactive (so a later resume would
// find it dead) and has no public API to change direction again; the
// Session gates sending and playout itself from the returned direction.
func prepareIncoming(remote, local *sdp.SessionDescription) media.Direction {
	dir := remoteDirection(remote)
	fillMissingMIDs(remote, local)
	dropUnmappedRejectedFormats(remote)
	setAudioDirection(remote, media.SendRecv)
	return dir
}

// hasBundleGroup reports whether sd carries a=group:BUNDLE (RFC 8843).
func hasBundleGroup(sd *sdp.SessionDescription) bool {
	for _, a := range sd.Attributes {
		if a.Key == sdp.AttrKeyGroup && strings.HasPrefix(a.Value, "BUNDLE") {
			return true
		}
	}
	return false
}

// bundleSingleLine gives an offer without a BUNDLE group, whose only active
// m-line is one, a group naming that line. pion answers every m-line outside
// the offer's BUNDLE group with port 0 (its answer code matches MIDs against
// the remote group, pion #2619), which rejected baresip 1.0's audio-only
// offers. One m-line on one transport is exactly what a one-line bundle is,
// so nothing changes on the wire; offers with several lines and no bundle
// need one transport per line and are refused here. It reports whether it
// added the group, so the answer can leave it out again (RFC 8843 §7.3.1:
// no group in an answer to an offer without one).
func bundleSingleLine(sd *sdp.SessionDescription) (added bool, err error) {
	if hasBundleGroup(sd) {
		return false, nil
	}
	var mids []string
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Port.Value == 0 {
			continue
		}
		mid, _ := md.Attribute(sdp.AttrKeyMID)
		mids = append(mids, mid)
	}
	if len(mids) > 1 {
		return false, fmt.Errorf("%w: %d media lines without a BUNDLE group need one transport per line", media.ErrBadSDP, len(mids))
	}
	if len(mids) == 0 || mids[0] == "" {
		return false, nil
	}
	sd.Attributes = append(sd.Attributes, sdp.Attribute{Key: sdp.AttrKeyGroup, Value: "BUNDLE " + mids[0]})
	return true, nil
}

// dropBundleGroup removes a=group:BUNDLE from our answer.
func dropBundleGroup(sd *sdp.SessionDescription) {
	out := sd.Attributes[:0]
	for _, a := range sd.Attributes {
		if a.Key == sdp.AttrKeyGroup && strings.HasPrefix(a.Value, "BUNDLE") {
			continue
		}
		out = append(out, a)
	}
	sd.Attributes = out
}

// localizeCandidates points the peer's host candidates that carry one of
// this machine's own addresses at 127.0.0.1. It is used only when the
// session is loopback-only (a phone listening on 127.0.0.1 talks to local
// peers only): baresip 1.0 gathers no loopback candidates, so its
// candidates name the host's interface address; our loopback socket's
// checks to that address are answered from 127.0.0.1, which ICE discards as
// a mismatched transaction (RFC 8445 §7.2.5.2.1), and the call only
// connected a second later over a peer-reflexive pair. The peer's socket
// listens on all addresses, so loopback reaches it directly.
func localizeCandidates(sd *sdp.SessionDescription, local map[string]bool) {
	rewrite := func(attrs []sdp.Attribute) {
		for i, a := range attrs {
			if a.Key != "candidate" {
				continue
			}
			f := strings.Fields(a.Value)
			// foundation component transport priority address port typ host ...
			if len(f) >= 8 && f[6] == "typ" && f[7] == "host" && local[f[4]] {
				f[4] = "127.0.0.1"
				attrs[i].Value = strings.Join(f, " ")
			}
		}
	}
	rewrite(sd.Attributes)
	for _, md := range sd.MediaDescriptions {
		rewrite(md.Attributes)
	}
}

// hostAddresses is the set of this machine's own non-loopback addresses.
func hostAddresses() map[string]bool {
	out := map[string]bool{}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return out
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() {
			out[n.IP.String()] = true
		}
	}
	return out
}

// dropUnmappedRejectedFormats keeps, on each rejected m-line (port 0, RFC
// 3264 §6), only the payload types that still carry an a=rtpmap, or else
// PT 0. A rejected line needs no attributes, and rtpengine
// and others send it bare ("m=audio 0 UDP/TLS/RTP/SAVPF 111 110"), but pion
// refuses any dynamic payload type without an rtpmap, even on a line it
// will not use, and with it the whole answer.
func dropUnmappedRejectedFormats(sd *sdp.SessionDescription) {
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Port.Value != 0 {
			continue
		}
		mapped := map[string]bool{}
		for _, a := range md.Attributes {
			if a.Key == attrRTPMap {
				if pt, _, ok := strings.Cut(a.Value, " "); ok {
					mapped[pt] = true
				}
			}
		}
		var keep []string
		for _, f := range md.MediaName.Formats {
			if mapped[f] {
				keep = append(keep, f)
			}
		}
		if len(keep) == 0 {
			keep = []string{"0"} // PCMU, which pion accepts without an rtpmap
		}
		md.MediaName.Formats = keep
	}
}
