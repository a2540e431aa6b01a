// Package videocodec names the video codecs Parlo encodes and decodes. It is
// pure Go and has no dependencies, so the media paths (which packetise by
// codec) and the cgo encoders in capture agree on one set of names without
// the media paths linking libvpx or x264.
package videocodec

import "strings"

// Name is a video codec's encoding name as SDP writes it in a=rtpmap
// (RFC 4566 §6) and as media.VideoSender and media.VideoSink pass it.
type Name string

const (
	// VP8 is WebRTC's mandatory video codec (RFC 7742 §5), carried per
	// RFC 7741.
	VP8 Name = "VP8"
	// H264 is H.264 constrained baseline (RFC 7742 §6.2), carried per RFC
	// 6184 in packetization-mode 1.
	H264 Name = "H264"
)

// ClockRate is the RTP clock of every video codec here (RFC 7741 §4.1, RFC
// 6184 §8.2.1).
const ClockRate = 90000

// All lists the codecs in Parlo's preference: VP8 first (screen-content
// tuning, WebRTC's mandatory codec), H.264 for peers that only take that.
func All() []Name { return []Name{VP8, H264} }

// Parse maps an rtpmap encoding name or a MIME type ("video/H264") to its
// Name, case-insensitively (RFC 4855 §3: media type names are
// case-insensitive); ok is false for a codec Parlo has none for.
func Parse(s string) (Name, bool) {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		s = s[i+1:]
	}
	for _, n := range All() {
		if strings.EqualFold(s, string(n)) {
			return n, true
		}
	}
	return "", false
}

// MimeType is the codec's MIME type as WebRTC names it ("video/VP8").
func (n Name) MimeType() string { return "video/" + string(n) }

// String implements fmt.Stringer.
func (n Name) String() string { return string(n) }
