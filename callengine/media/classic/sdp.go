package classic

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"

	"github.com/parlo-voip/parlo/callengine/audio"
	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/callengine/media/rtpmedia"
	"github.com/parlo-voip/parlo/capture/videocodec"
)

// Media protocols (RFC 4566 §5.14, RFC 3711 §12, RFC 5764 §8).
const (
	protoAVP      = "RTP/AVP"
	protoSAVP     = "RTP/SAVP"
	protoDTLSSAVP = "UDP/TLS/RTP/SAVP"
)

// Payload types we offer: the WebRTC path's numbers, so both paths look the
// same to a peer (RFC 3551 §6 static ones for G.711).
const (
	ptPCMU       = 0
	ptPCMA       = 8
	ptG722       = 9
	ptVP8        = 96
	ptRTXVP8     = 97 // RTX (RFC 4588) of VP8
	ptH264       = 102
	ptRTXH264    = 103 // RTX of H.264
	ptTelEvent8k = 101
	ptTelEvent48 = 110
	ptOpus       = 111
)

// rcodec is one rtpmap of a media line.
type rcodec struct {
	pt    uint8
	name  string // as in the rtpmap, e.g. "opus", "PCMU", "VP8"
	clock int
	fmtp  string
	// nack: the peer takes and sends generic NACK for this payload type
	// (RFC 4585 §4.2 a=rtcp-fb:<pt> nack, or the "*" wildcard).
	nack bool
}

// voiceName maps an rtpmap to the audio package's codec name, "" if we have
// no codec for it.
func voiceName(c rcodec) string {
	switch {
	case strings.EqualFold(c.name, audio.CodecOpus) && c.clock == 48000:
		return audio.CodecOpus
	case strings.EqualFold(c.name, audio.CodecPCMU) && c.clock == 8000:
		return audio.CodecPCMU
	case strings.EqualFold(c.name, audio.CodecPCMA) && c.clock == 8000:
		return audio.CodecPCMA
	case strings.EqualFold(c.name, audio.CodecG722) && c.clock == 8000:
		// 8000 is right for 16 kHz G.722 (RFC 3551 §4.5.2).
		return audio.CodecG722
	}
	return ""
}

// videoName maps an rtpmap to the video codec we send and receive it as,
// "" if we have none for it (H.264 only in the format we packetise).
func videoName(c rcodec) videocodec.Name {
	name, ok := videocodec.Parse(c.name)
	if !ok || c.clock != videocodec.ClockRate {
		return ""
	}
	if name == videocodec.H264 && !rtpmedia.H264FmtpUsable(c.fmtp) {
		return ""
	}
	return name
}

// remoteLine is what we take from one of the peer's m-lines.
type remoteLine struct {
	kind     string
	port     int
	proto    string
	addr     net.IP
	rtcpPort int
	rtcpAddr net.IP
	mux      bool
	dir      media.Direction // the peer's view
	codecs   []rcodec
	crypto   []cryptoAttr
	fp       string // "sha-256 AB:..."
	setup    string
	ufrag    string
	pwd      string
	cands    []string
	mid      string
	fmts     []string
}

// describeCodecs lists the line's formats with what the peer said of each
// ("96 H264/90000 packetization-mode=0"), for a refusal's log.
func (r *remoteLine) describeCodecs() string {
	out := make([]string, 0, len(r.fmts))
	for _, f := range r.fmts {
		d := f
		for _, c := range r.codecs {
			if strconv.Itoa(int(c.pt)) == f {
				d = fmt.Sprintf("%s %s/%d", f, c.name, c.clock)
				if c.fmtp != "" {
					d += " " + c.fmtp
				}
			}
		}
		out = append(out, d)
	}
	return strings.Join(out, ", ")
}

func (r *remoteLine) rtpAddr() *net.UDPAddr {
	if r.addr == nil || r.addr.IsUnspecified() || r.port == 0 {
		return nil
	}
	return &net.UDPAddr{IP: r.addr, Port: r.port}
}

func (r *remoteLine) rtcpUDPAddr() *net.UDPAddr {
	if r.mux {
		return r.rtpAddr()
	}
	ip, port := r.addr, r.port+1
	if r.rtcpPort != 0 {
		port = r.rtcpPort
	}
	if r.rtcpAddr != nil {
		ip = r.rtcpAddr
	}
	if ip == nil || ip.IsUnspecified() || r.port == 0 {
		return nil
	}
	return &net.UDPAddr{IP: ip, Port: port}
}

// parseRemote parses an SDP into its lines. It never panics on network
// input; anything it cannot make sense of wraps media.ErrBadSDP.
func parseRemote(raw []byte) ([]*remoteLine, error) {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(string(raw)); err != nil {
		return nil, fmt.Errorf("%w: %w", media.ErrBadSDP, err)
	}
	var sessAddr net.IP
	if sd.ConnectionInformation != nil && sd.ConnectionInformation.Address != nil {
		sessAddr = net.ParseIP(sd.ConnectionInformation.Address.Address)
	}
	sessDir, sessHas := media.DirectionOf(sd.Attributes)
	var sessFP, sessSetup, sessUfrag, sessPwd string
	for _, a := range sd.Attributes {
		switch a.Key {
		case "fingerprint":
			sessFP = a.Value
		case "setup":
			sessSetup = a.Value
		case "ice-ufrag":
			sessUfrag = a.Value
		case "ice-pwd":
			sessPwd = a.Value
		}
	}
	if len(sd.MediaDescriptions) == 0 {
		return nil, fmt.Errorf("%w: no media line", media.ErrBadSDP)
	}
	var out []*remoteLine
	for _, md := range sd.MediaDescriptions {
		r := &remoteLine{
			kind:  md.MediaName.Media,
			port:  md.MediaName.Port.Value,
			proto: strings.Join(md.MediaName.Protos, "/"),
			addr:  sessAddr,
			fp:    sessFP, setup: sessSetup, ufrag: sessUfrag, pwd: sessPwd,
			fmts: md.MediaName.Formats,
		}
		if md.ConnectionInformation != nil && md.ConnectionInformation.Address != nil {
			r.addr = net.ParseIP(md.ConnectionInformation.Address.Address)
		}
		dir, has := media.DirectionOf(md.Attributes)
		if !has {
			dir = media.SendRecv
			if sessHas {
				dir = sessDir
			}
		}
		// Legacy hold (RFC 2543, RFC 3264 §8.4): c=0.0.0.0 means the peer
		// does not want to receive.
		if r.addr != nil && r.addr.IsUnspecified() {
			dir = dir.Intersect(media.SendOnly)
		}
		r.dir = dir
		rtpmaps := map[string]rcodec{}
		fmtps := map[string]string{}
		nacks := map[string]bool{}
		for _, a := range md.Attributes {
			switch a.Key {
			case "rtpmap":
				pt, rest, ok := strings.Cut(a.Value, " ")
				if !ok {
					continue
				}
				parts := strings.Split(rest, "/")
				if len(parts) < 2 {
					continue
				}
				clock, err := strconv.Atoi(parts[1])
				if err != nil {
					continue
				}
				rtpmaps[pt] = rcodec{name: parts[0], clock: clock}
			case "fmtp":
				pt, rest, ok := strings.Cut(a.Value, " ")
				if ok {
					fmtps[pt] = rest
				}
			case "rtcp":
				// RFC 3605: port [IN IP4 addr]
				f := strings.Fields(a.Value)
				if len(f) > 0 {
					if p, err := strconv.Atoi(f[0]); err == nil && p > 0 && p < 65536 {
						r.rtcpPort = p
					}
				}
				if len(f) == 4 {
					r.rtcpAddr = net.ParseIP(f[3])
				}
			case "rtcp-mux":
				r.mux = true
			case "rtcp-fb":
				// RFC 4585 §4.2: "<pt or *> nack" is generic NACK;
				// "nack pli" and others are not.
				if f := strings.Fields(a.Value); len(f) == 2 && f[1] == "nack" {
					nacks[f[0]] = true
				}
			case "crypto":
				if c, ok := parseCrypto(a.Value); ok {
					r.crypto = append(r.crypto, c)
				}
			case "fingerprint":
				r.fp = a.Value
			case "setup":
				r.setup = a.Value
			case "ice-ufrag":
				r.ufrag = a.Value
			case "ice-pwd":
				r.pwd = a.Value
			case "candidate":
				r.cands = append(r.cands, a.Value)
			case "mid":
				r.mid = a.Value
			}
		}
		for _, f := range md.MediaName.Formats {
			pt, err := strconv.Atoi(f)
			if err != nil || pt < 0 || pt > 127 {
				continue
			}
			c, ok := rtpmaps[f]
			if !ok {
				// Static payload types need no rtpmap (RFC 3551 §6).
				switch pt {
				case ptPCMU:
					c = rcodec{name: "PCMU", clock: 8000}
				case ptPCMA:
					c = rcodec{name: "PCMA", clock: 8000}
				case ptG722:
					c = rcodec{name: "G722", clock: 8000}
				default:
					continue
				}
			}
			c.pt = uint8(pt)
			c.fmtp = fmtps[f]
			c.nack = nacks[f] || nacks["*"]
			r.codecs = append(r.codecs, c)
		}
		out = append(out, r)
	}
	return out, nil
}

// sdpWriter builds our SDP as text: classic peers are picky about order and
// we want exactly the lines below, nothing pion would add.
type sdpWriter struct{ b strings.Builder }

func (w *sdpWriter) line(format string, args ...any) {
	fmt.Fprintf(&w.b, format, args...)
	w.b.WriteString("\r\n")
}

func (w *sdpWriter) bytes() []byte { return []byte(w.b.String()) }
