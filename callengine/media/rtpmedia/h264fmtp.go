package rtpmedia

import "strings"

// H264Fmtp is the H.264 format both media paths offer and answer with:
// packetization-mode 1 (FU-A and STAP-A, RFC 6184 §6.3, what the
// packetizer writes), the constrained baseline profile at level 3.1
// (profile-level-id 42e01f, RFC 6184 §8.1), and level-asymmetry-allowed so
// the peer may send at another level than it receives. x264 signals the
// level its picture size needs in the SPS; decoders go by that.
const H264Fmtp = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"

// H264FmtpUsable reports whether a peer's H.264 format is one we can send
// and receive: packetization-mode 1 (its absence means mode 0, single NAL
// units only, RFC 6184 §8.1) in the baseline profile family (profile_idc
// 0x42; absent, the default is baseline).
func H264FmtpUsable(fmtp string) bool {
	mode1, baseline := false, true
	for _, p := range strings.Split(fmtp, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(k) {
		case "packetization-mode":
			mode1 = strings.TrimSpace(v) == "1"
		case "profile-level-id":
			v = strings.TrimSpace(v)
			baseline = len(v) == 6 && strings.EqualFold(v[:2], "42")
		}
	}
	return mode1 && baseline
}
