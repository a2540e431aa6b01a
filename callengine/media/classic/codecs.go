package classic

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/parlo-voip/parlo/callengine/audio"
	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/capture/videocodec"
)

// negotiateCodecs picks what we send on l from the peer's list (its order
// is its preference, RFC 3264 §6.1) and what we can receive.
func (s *Session) negotiateCodecs(l *line, r *remoteLine, answering bool) error {
	recv := map[uint8]string{}
	nacks := map[uint8]bool{}
	var send *rcodec
	for i, c := range r.codecs {
		name := ""
		if l.kind == "audio" {
			name = voiceName(c)
		} else {
			name = string(videoName(c))
		}
		if name == "" {
			continue
		}
		recv[c.pt] = name
		nacks[c.pt] = c.nack && l.kind == "video"
		// Video: the peer's first. Audio: the best by our preference,
		// the peer's order among equals.
		if send == nil || l.kind == "audio" && audio.Preference(name) < audio.Preference(recv[send.pt]) {
			send = &r.codecs[i]
		}
	}
	if send == nil {
		return fmt.Errorf("%w: no %s codec in common (offered %s)", media.ErrNoCommonCodec, l.kind, r.describeCodecs())
	}
	if !answering {
		// Our own offered numbers may come too.
		if l.kind == "audio" {
			recv[ptOpus], recv[ptPCMU], recv[ptPCMA] = "opus", "PCMU", "PCMA"
			recv[ptG722] = "G722"
		} else {
			recv[ptVP8], recv[ptH264] = string(videocodec.VP8), string(videocodec.H264)
		}
	}
	name := recv[send.pt]
	var telPT uint8
	hasTel := false
	for _, c := range r.codecs {
		if strings.EqualFold(c.name, "telephone-event") && c.clock == send.clock {
			telPT, hasTel = c.pt, true
			break
		}
	}
	s.mu.Lock()
	l.sendPT, l.sendName, l.sendClock, l.hasSend = send.pt, name, send.clock, true
	l.telPT, l.hasTel = telPT, hasTel && l.kind == "audio"
	l.recvNames = recv
	l.nackPTs = nacks
	l.rtxApt, l.sendRTXPT, l.hasRTX = nil, 0, false
	if l.kind == "video" {
		l.rtxApt = map[uint8]uint8{}
		if !answering {
			l.rtxApt[ptRTXVP8], l.rtxApt[ptRTXH264] = ptVP8, ptH264
		}
		for _, c := range r.codecs {
			apt, ok := rtxApt(c)
			if !ok || recv[apt] == "" {
				continue
			}
			l.rtxApt[c.pt] = apt
			if apt == send.pt {
				l.sendRTXPT, l.hasRTX = c.pt, true
			}
		}
	}
	// RFC 7587 §6.1: the receiver's fmtp says whether it decodes in-band
	// FEC and prefers DTX; our Opus encoder follows the peer's.
	l.sendFEC = name == audio.CodecOpus && fmtpFlag(send.fmtp, "useinbandfec")
	l.sendDTX = name == audio.CodecOpus && fmtpFlag(send.fmtp, "usedtx")
	s.mu.Unlock()
	return nil
}

// rtxApt is the payload type an rtx format repairs (RFC 4588 §8.6
// "a=fmtp:<rtx pt> apt=<pt>").
func rtxApt(c rcodec) (uint8, bool) {
	if !strings.EqualFold(c.name, "rtx") || c.clock != videocodec.ClockRate {
		return 0, false
	}
	for _, kv := range strings.Split(c.fmtp, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		if strings.EqualFold(k, "apt") {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 && n < 128 {
				return uint8(n), true
			}
		}
	}
	return 0, false
}

// fmtpFlag reports whether an fmtp's parameter key is 1 ("a=1;b=0" form,
// RFC 7587 §6.1).
func fmtpFlag(fmtp, key string) bool {
	for _, kv := range strings.Split(fmtp, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		if strings.EqualFold(k, key) && strings.TrimSpace(v) == "1" {
			return true
		}
	}
	return false
}
