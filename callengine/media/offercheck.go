package media

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// MaxMediaLines is the most m-lines an offer may carry. A call uses an
// audio and a video line (a few more with BFCP or data channels); every line
// costs a transport, ports and ICE gathering, so 300 of them are an attack,
// not a call.
const MaxMediaLines = 16

// MaxCandidates bounds the ICE candidates of one m-line. Browsers offer a
// handful per line (host, server-reflexive, relay, per interface); each one
// becomes connectivity checks we send, so thousands of them would make us
// send STUN to thousands of addresses a stranger chose.
const MaxCandidates = 64

// MaxLineAttributes bounds the attributes of one m-line (a browser's video
// line with every codec and feedback type has about 150).
const MaxLineAttributes = 512

// OfferCheck says what the answerer can do, so that CheckOffer refuses
// exactly what answering would refuse later.
type OfferCheck struct {
	// SRTP is the policy of the classic path (zero value: SRTPRequired;
	// the phone passes its own, SRTPPreferred by default).
	SRTP SRTPPolicy
	// Classic is whether the per-m-line path is available.
	Classic bool
}

// CheckOffer checks a remote offer completely before the phone rings: it
// parses, its m-line count is bounded, every port, ICE credential,
// fingerprint and a=crypto line is well formed, and at least one audio line
// is something we can answer (protocol, security under the policy, codec).
// It returns the path the answer will take (ChoosePath). Every refusal wraps
// ErrBadSDP or ErrNoCommonCodec, and its text is fit for a Warning header
// (it never quotes key material).
func CheckOffer(offer []byte, c OfferCheck) (Path, error) {
	if c.SRTP == "" {
		c.SRTP = SRTPRequired
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(string(offer)); err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadSDP, err)
	}
	n := len(sd.MediaDescriptions)
	if n == 0 {
		return "", fmt.Errorf("%w: no media line", ErrBadSDP)
	}
	if n > MaxMediaLines {
		return "", fmt.Errorf("%w: %d media lines, at most %d", ErrBadSDP, n, MaxMediaLines)
	}
	if err := checkAttrs(sd.Attributes, "session"); err != nil {
		return "", err
	}
	sessUfrag, sessPwd := attrValue(sd.Attributes, "ice-ufrag"), attrValue(sd.Attributes, "ice-pwd")
	sessFP := hasAttr(sd.Attributes, "fingerprint")
	var usable, why string
	for i, md := range sd.MediaDescriptions {
		where := fmt.Sprintf("m-line %d", i+1)
		port := md.MediaName.Port
		if port.Value < 0 || port.Value > 65535 {
			return "", fmt.Errorf("%w: %s: port %d", ErrBadSDP, where, port.Value)
		}
		if port.Range != nil && *port.Range != 1 {
			// RFC 4566 §5.14 port ranges are for layered codecs; no phone
			// answers them and we would have to open that many sockets.
			return "", fmt.Errorf("%w: %s: port range /%d", ErrBadSDP, where, *port.Range)
		}
		if len(md.Attributes) > MaxLineAttributes {
			return "", fmt.Errorf("%w: %s: %d attributes, at most %d", ErrBadSDP, where, len(md.Attributes), MaxLineAttributes)
		}
		if n := countAttr(md.Attributes, "candidate"); n > MaxCandidates {
			return "", fmt.Errorf("%w: %s: %d ICE candidates, at most %d", ErrBadSDP, where, n, MaxCandidates)
		}
		if err := checkAttrs(md.Attributes, where); err != nil {
			return "", err
		}
		ufrag, pwd := attrValue(md.Attributes, "ice-ufrag"), attrValue(md.Attributes, "ice-pwd")
		if ufrag == "" {
			ufrag = sessUfrag
		}
		if pwd == "" {
			pwd = sessPwd
		}
		if (ufrag == "") != (pwd == "") {
			// RFC 8839 §5.4: both or none.
			return "", fmt.Errorf("%w: %s: a=ice-ufrag and a=ice-pwd must come together", ErrBadSDP, where)
		}
		if port.Value > 0 && port.Value < 1024 && ufrag == "" {
			// Without ICE the m-line port is where RTP goes (RFC 4566
			// §5.14). No RTP stack uses a well-known port; sending media
			// at one (DNS, a web server) is acting for a stranger. With
			// ICE the port is a placeholder (JSEP uses 9) and candidates
			// decide.
			return "", fmt.Errorf("%w: %s: RTP to well-known port %d", ErrBadSDP, where, port.Value)
		}
		if port.Value == 0 || md.MediaName.Media != "audio" || usable != "" {
			continue
		}
		fp := sessFP || hasAttr(md.Attributes, "fingerprint")
		if err := answerable(md, fp, ufrag != "", c.SRTP); err != nil {
			if why == "" {
				why = where + ": " + err.Error()
			}
			continue
		}
		usable = where
	}
	if usable == "" {
		if why == "" {
			why = "no active audio line"
		}
		return "", fmt.Errorf("%w: nothing we can answer (%s)", ErrNoCommonCodec, why)
	}
	path, err := ChoosePath(offer)
	if err != nil {
		return "", err
	}
	if path == PathClassic && !c.Classic {
		return "", fmt.Errorf("%w: needs one media transport per m-line (no BUNDLE, plain RTP or SDES), not in this build", ErrBadSDP)
	}
	return path, nil
}

// answerable says whether we can answer one active audio line: its
// protocol, its security under the policy, and its codecs.
func answerable(md *sdp.MediaDescription, fingerprint, ice bool, policy SRTPPolicy) error {
	proto := strings.ToUpper(strings.Join(md.MediaName.Protos, "/"))
	switch proto {
	case "UDP/TLS/RTP/SAVP", "UDP/TLS/RTP/SAVPF":
		if policy == SRTPOff {
			return fmt.Errorf("%s refused: SRTP is off", proto)
		}
		if !fingerprint {
			return fmt.Errorf("%s without a=fingerprint", proto)
		}
		if proto == "UDP/TLS/RTP/SAVPF" && !ice {
			// The WebRTC profile always runs over ICE (RFC 8827 §6.4,
			// RFC 8834 §4.2); DTLS-SRTP without ICE is UDP/TLS/RTP/SAVP
			// (RFC 5763).
			return fmt.Errorf("%s without ICE credentials", proto)
		}
	case "RTP/SAVP", "RTP/SAVPF":
		if policy == SRTPOff {
			return fmt.Errorf("%s refused: SRTP is off", proto)
		}
		if !hasSupportedCrypto(md.Attributes) {
			return fmt.Errorf("%s without a supported a=crypto", proto)
		}
	case "RTP/AVP", "RTP/AVPF":
		if policy == SRTPRequired && !hasSupportedCrypto(md.Attributes) {
			return fmt.Errorf("plain RTP refused: SRTP required")
		}
	default:
		return fmt.Errorf("media protocol %q not supported", proto)
	}
	if !hasAudioCodec(md) {
		return fmt.Errorf("no codec we support (opus, G722, PCMU, PCMA)")
	}
	return nil
}

// hasAudioCodec: one of the line's formats is opus/48000, G722/8000,
// PCMU/8000 or PCMA/8000, by rtpmap or by static payload type (RFC 3551 §6).
func hasAudioCodec(md *sdp.MediaDescription) bool {
	rtpmaps := map[string]string{}
	for _, a := range md.Attributes {
		if a.Key == "rtpmap" {
			if pt, enc, ok := strings.Cut(a.Value, " "); ok {
				rtpmaps[pt] = strings.ToLower(enc)
			}
		}
	}
	for _, f := range md.MediaName.Formats {
		enc, ok := rtpmaps[f]
		if !ok {
			if f == "0" || f == "8" || f == "9" {
				return true
			}
			continue
		}
		name, rest, _ := strings.Cut(enc, "/")
		clock, _, _ := strings.Cut(rest, "/")
		switch {
		case name == "opus" && clock == "48000",
			(name == "pcmu" || name == "pcma" || name == "g722") && clock == "8000":
			return true
		}
	}
	return false
}

// checkAttrs checks the syntax of the attributes a transport is built from.
func checkAttrs(attrs []sdp.Attribute, where string) error {
	for _, a := range attrs {
		var err error
		switch a.Key {
		case "crypto":
			_, err = parseCryptoAttr(a.Value)
		case "fingerprint":
			err = checkFingerprint(a.Value)
		case "ice-ufrag":
			err = checkICEChars(a.Value, 4, 256)
		case "ice-pwd":
			err = checkICEChars(a.Value, 22, 256)
		default:
			continue
		}
		if err != nil {
			return fmt.Errorf("%w: %s: a=%s: %v", ErrBadSDP, where, a.Key, err)
		}
	}
	return nil
}

// checkICEChars: RFC 8839 §5.4, ice-char = ALPHA / DIGIT / "+" / "/".
func checkICEChars(v string, minLen, maxLen int) error {
	if len(v) < minLen || len(v) > maxLen {
		return fmt.Errorf("length %d, want %d to %d", len(v), minLen, maxLen)
	}
	for i := 0; i < len(v); i++ {
		b := v[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '+' || b == '/') {
			return fmt.Errorf("character %q not allowed", b)
		}
	}
	return nil
}

// fingerprintLen is the digest size of each hash function RFC 8122 §5
// lists (RFC 3279 names).
var fingerprintLen = map[string]int{
	"sha-1": 20, "sha-224": 28, "sha-256": 32, "sha-384": 48, "sha-512": 64, "md5": 16, "md2": 16,
}

// checkFingerprint: "hash-func SP 2UHEX *(":" 2UHEX)" (RFC 8122 §5), with
// as many bytes as the hash function makes.
func checkFingerprint(v string) error {
	hash, fp, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok {
		return fmt.Errorf("want hash function and fingerprint")
	}
	want, known := fingerprintLen[strings.ToLower(hash)]
	if !known {
		return fmt.Errorf("unknown hash function %q", hash)
	}
	parts := strings.Split(strings.TrimSpace(fp), ":")
	if len(parts) != want {
		return fmt.Errorf("%s fingerprint of %d bytes, want %d", hash, len(parts), want)
	}
	for _, p := range parts {
		if len(p) != 2 {
			return fmt.Errorf("fingerprint byte %q", p)
		}
		if _, err := hex.DecodeString(p); err != nil {
			return fmt.Errorf("fingerprint byte %q", p)
		}
	}
	return nil
}

// sdesKeySaltLen is the master key plus salt length of each SRTP crypto
// suite registered for SDES (RFC 4568 §6.2, RFC 6188 §7, RFC 7714 §12).
var sdesKeySaltLen = map[string]int{
	"AES_CM_128_HMAC_SHA1_80": 30, "AES_CM_128_HMAC_SHA1_32": 30, "F8_128_HMAC_SHA1_80": 30,
	"AES_192_CM_HMAC_SHA1_80": 38, "AES_192_CM_HMAC_SHA1_32": 38,
	"AES_256_CM_HMAC_SHA1_80": 46, "AES_256_CM_HMAC_SHA1_32": 46,
	"AEAD_AES_128_GCM": 28, "AEAD_AES_256_GCM": 44,
}

// supportedSDES are the suites the classic path answers.
var supportedSDES = map[string]bool{"AES_CM_128_HMAC_SHA1_80": true, "AES_CM_128_HMAC_SHA1_32": true}

// parseCryptoAttr checks an a=crypto value against RFC 4568 §9.2:
// "tag 1*WSP crypto-suite 1*WSP key-params *(1*WSP session-param)", tag
// 1*9DIGIT, key-params "inline:" key||salt base64 ["|" lifetime]
// ["|" MKI ":" length], several separated by ";". For a known suite the key
// and salt must have the suite's length. It returns the suite.
func parseCryptoAttr(v string) (string, error) {
	f := strings.Fields(v)
	if len(f) < 3 {
		return "", fmt.Errorf("want tag, suite and key parameters")
	}
	if len(f[0]) > 9 || strings.Trim(f[0], "0123456789") != "" {
		return "", fmt.Errorf("tag %q is not 1 to 9 digits", f[0])
	}
	suite := strings.ToUpper(f[1])
	want := sdesKeySaltLen[suite]
	for _, kp := range strings.Split(f[2], ";") {
		info, ok := strings.CutPrefix(kp, "inline:")
		if !ok {
			return "", fmt.Errorf("key method is not inline")
		}
		parts := strings.Split(info, "|")
		if len(parts) > 3 {
			return "", fmt.Errorf("too many key fields")
		}
		key, err := base64.StdEncoding.DecodeString(parts[0])
		if err != nil {
			key, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(parts[0], "="))
		}
		if err != nil {
			return "", fmt.Errorf("key is not base64")
		}
		if want != 0 && len(key) != want {
			return "", fmt.Errorf("%s key and salt of %d bytes, want %d", suite, len(key), want)
		}
		for _, p := range parts[1:] {
			if err := checkLifetimeOrMKI(p); err != nil {
				return "", err
			}
		}
	}
	return suite, nil
}

// checkLifetimeOrMKI: lifetime ["2^"] 1*DIGIT, or MKI 1*DIGIT ":" 1*3DIGIT.
func checkLifetimeOrMKI(p string) error {
	if mki, length, ok := strings.Cut(p, ":"); ok {
		n, err := strconv.Atoi(length)
		if !digits(mki) || !digits(length) || err != nil || n < 1 || n > 128 {
			return fmt.Errorf("MKI %q", p)
		}
		return nil
	}
	if !digits(strings.TrimPrefix(p, "2^")) {
		return fmt.Errorf("lifetime %q", p)
	}
	return nil
}

func digits(s string) bool {
	return s != "" && len(s) <= 20 && strings.Trim(s, "0123456789") == ""
}

func hasSupportedCrypto(attrs []sdp.Attribute) bool {
	for _, a := range attrs {
		if a.Key != "crypto" {
			continue
		}
		// What the classic path takes: one key, no MKI, no session
		// parameters (see classic.parseCrypto).
		suite, err := parseCryptoAttr(a.Value)
		f := strings.Fields(a.Value)
		if err == nil && supportedSDES[suite] && len(f) == 3 && !strings.ContainsAny(strings.TrimPrefix(f[2], "inline:"), ";:") {
			return true
		}
	}
	return false
}

func countAttr(attrs []sdp.Attribute, key string) int {
	n := 0
	for _, a := range attrs {
		if a.Key == key {
			n++
		}
	}
	return n
}

func attrValue(attrs []sdp.Attribute, key string) string {
	for _, a := range attrs {
		if a.Key == key {
			return a.Value
		}
	}
	return ""
}
