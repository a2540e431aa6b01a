package classic

import (
	"fmt"
	"strings"

	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/callengine/media/rtpmedia"
	"github.com/parlo-voip/parlo/capture/videocodec"
)

// writeSDP writes our offer or answer for the current lines.
func (s *Session) writeSDP(dir media.Direction, offer bool) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version++
	var w sdpWriter
	addr := s.advIP
	if a := s.audioLineLocked(); a != nil && a.tr != nil {
		addr, _, _ = a.localAddr()
	}
	w.line("v=0")
	w.line("o=parlo %d %d IN IP4 %s", s.sessID, s.version, addr)
	w.line("s=parlo")
	w.line("c=IN IP4 %s", addr)
	w.line("t=0 0")
	for _, l := range s.lines {
		if !l.disabled && l.sec == secDTLS && s.identity != nil {
			w.line("a=fingerprint:%s", s.identity.fp)
			break
		}
	}
	for _, l := range s.lines {
		if l.disabled || l.tr == nil {
			fmts := "0"
			if l.kind == "video" {
				fmts = "96"
			}
			if len(l.remoteFmts) > 0 {
				fmts = strings.Join(l.remoteFmts, " ")
			}
			proto := l.proto
			if proto == "" {
				proto = protoAVP
			}
			w.line("m=%s 0 %s %s", l.kind, proto, fmts)
			if l.mid != "" {
				w.line("a=mid:%s", l.mid)
			}
			continue
		}
		ip, port, rtcpPort := l.localAddr()
		var want media.Direction
		if offer {
			want = s.lineWant(l, dir)
		} else {
			want = l.dir
		}
		w.line("m=%s %d %s %s", l.kind, port, l.proto, strings.Join(s.formats(l, offer), " "))
		if !ip.Equal(addr) {
			w.line("c=IN IP4 %s", ip)
		}
		s.writeCodecs(&w, l, offer)
		if l.mid != "" {
			w.line("a=mid:%s", l.mid)
		}
		// RFC 3605 (and findings.md: baresip looks for RTCP at port+1
		// unless told).
		if l.mux {
			w.line("a=rtcp:%d IN IP4 %s", port, ip)
			w.line("a=rtcp-mux")
		} else {
			w.line("a=rtcp:%d IN IP4 %s", rtcpPort, ip)
		}
		if l.ice != nil {
			w.line("a=ice-ufrag:%s", l.ice.ufrag)
			w.line("a=ice-pwd:%s", l.ice.pwd)
			for _, c := range l.ice.candidates() {
				w.line("a=candidate:%s", c)
			}
		}
		switch l.sec {
		case secSDES:
			for _, c := range l.localCrypto {
				w.line("a=crypto:%s", c.String())
			}
		case secDTLS:
			// The fingerprint is at session level (RFC 8122 §5): one
			// certificate for every line, and SIP over UDP must stay
			// under 1300 bytes (RFC 3261 §18.1.1).
			w.line("a=setup:%s", l.setup)
		}
		w.line("a=%s", want.String())
	}
	return w.bytes(), nil
}

func (s *Session) formats(l *line, offer bool) []string {
	// A re-offer for a negotiated line offers what was negotiated (RFC
	// 3264 §8.3.2): the SDP then fits a SIP request over UDP.
	offer = offer && !l.hasSend
	if l.kind == "video" {
		if offer || !l.hasSend {
			return []string{fmt.Sprint(ptVP8), fmt.Sprint(ptRTXVP8), fmt.Sprint(ptH264), fmt.Sprint(ptRTXH264)}
		}
		if l.hasRTX {
			return []string{fmt.Sprint(l.sendPT), fmt.Sprint(l.sendRTXPT)}
		}
		return []string{fmt.Sprint(l.sendPT)}
	}
	if offer || !l.hasSend {
		// Preferred first (RFC 3264 §5.1): Opus, then wideband G.722,
		// then G.711.
		return []string{"111", "9", "0", "8", "110", "101"}
	}
	out := []string{fmt.Sprint(l.sendPT)}
	if pt, ok := l.telEvent(); ok {
		out = append(out, fmt.Sprint(pt))
	}
	return out
}

func (s *Session) writeCodecs(w *sdpWriter, l *line, offer bool) {
	offer = offer && !l.hasSend
	if l.kind == "video" {
		if offer || !l.hasSend {
			// VP8 first (RFC 7742 §5), H.264 for peers that only take that.
			writeVideoCodec(w, ptVP8, videocodec.VP8, offer)
			writeRTX(w, ptRTXVP8, ptVP8)
			writeVideoCodec(w, ptH264, videocodec.H264, offer)
			writeRTX(w, ptRTXH264, ptH264)
			return
		}
		writeVideoCodec(w, l.sendPT, videocodec.Name(l.sendName), offer)
		if l.hasRTX {
			writeRTX(w, l.sendRTXPT, l.sendPT)
		}
		return
	}
	if offer || !l.hasSend {
		w.line("a=rtpmap:111 opus/48000/2")
		// We decode in-band FEC and take DTX (RFC 7587 §6.1).
		w.line("a=fmtp:111 minptime=10;useinbandfec=1;usedtx=1")
		// G.722's rtpmap clock is 8000 though it samples at 16 kHz
		// (RFC 3551 §4.5.2).
		w.line("a=rtpmap:9 G722/8000")
		w.line("a=rtpmap:0 PCMU/8000")
		w.line("a=rtpmap:8 PCMA/8000")
		w.line("a=rtpmap:110 telephone-event/48000")
		w.line("a=fmtp:110 0-16")
		w.line("a=rtpmap:101 telephone-event/8000")
		w.line("a=fmtp:101 0-16")
		w.line("a=ptime:20")
		return
	}
	switch l.sendName {
	case "opus":
		w.line("a=rtpmap:%d opus/48000/2", l.sendPT)
		w.line("a=fmtp:%d minptime=10;useinbandfec=1;usedtx=1", l.sendPT)
	default:
		w.line("a=rtpmap:%d %s/8000", l.sendPT, l.sendName)
	}
	if pt, ok := l.telEvent(); ok {
		w.line("a=rtpmap:%d telephone-event/%d", pt, l.sendClock)
		w.line("a=fmtp:%d 0-16", pt)
	}
	w.line("a=ptime:20")
}

// writeRTX writes the retransmission format (RFC 4588 §8.6) repairing
// apt: what the NACK responder resends on its own SSRC, so a resend is
// never mistaken for the original and the original stream's counts stay
// its own.
func writeRTX(w *sdpWriter, pt, apt uint8) {
	w.line("a=rtpmap:%d rtx/%d", pt, videocodec.ClockRate)
	w.line("a=fmtp:%d apt=%d", pt, apt)
}

// writeVideoCodec writes one video codec's rtpmap, fmtp and feedback.
func writeVideoCodec(w *sdpWriter, pt uint8, name videocodec.Name, offer bool) {
	w.line("a=rtpmap:%d %s/%d", pt, name, videocodec.ClockRate)
	if name == videocodec.H264 {
		w.line("a=fmtp:%d %s", pt, rtpmedia.H264Fmtp)
	}
	// RFC 4585 §4.2 / RFC 5104 §7.1: we send and honour generic NACK,
	// PLI and FIR.
	w.line("a=rtcp-fb:%d nack", pt)
	w.line("a=rtcp-fb:%d nack pli", pt)
	if offer {
		w.line("a=rtcp-fb:%d ccm fir", pt)
	}
}
