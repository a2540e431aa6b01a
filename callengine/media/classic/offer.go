package classic

import (
	"context"
	"fmt"
	"strings"

	"github.com/parlo-voip/parlo/callengine/media"
)

// CreateOffer implements media.Session.
func (s *Session) CreateOffer(ctx context.Context, dir media.Direction) ([]byte, error) {
	s.sigMu.Lock()
	defer s.sigMu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, media.ErrClosed
	}
	if s.pendingOffer != nil && s.pendingDir == dir {
		out := append([]byte(nil), s.pendingOffer...)
		s.mu.Unlock()
		return out, nil
	}
	needAudio := len(s.lines) == 0
	vs := s.video
	var videoLine *line
	for _, l := range s.lines {
		if l.kind == "video" && !l.disabled {
			videoLine = l
			break
		}
	}
	s.mu.Unlock()

	if needAudio {
		sec, proto := s.offerSecurity()
		l, err := s.newUDPLine("audio", sec)
		if err != nil {
			return nil, err
		}
		l.proto = proto
		// Offer rtcp-mux (RFC 5761 §5.1.1); the answer decides.
		l.mux = true
		if sec == secSDES {
			if err := offerCrypto(l); err != nil {
				l.closeTransport()
				return nil, err
			}
		}
		s.mu.Lock()
		s.lines = append(s.lines, l)
		s.mu.Unlock()
	}
	if vs != nil && videoLine == nil {
		if err := s.addVideoLine(ctx); err != nil {
			return nil, err
		}
	}
	out, err := s.writeSDP(dir, true)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.pendingOffer = append([]byte(nil), out...)
	s.pendingDir = dir
	s.mu.Unlock()
	s.log.Debug("offer created", "dir", dir.String(), "bytes", len(out))
	return out, nil
}

// offerSecurity is what a new line we offer uses under the policy.
func (s *Session) offerSecurity() (security, string) {
	switch s.opts.SRTP {
	case media.SRTPOff:
		return secNone, protoAVP
	case media.SRTPOptional:
		return secSDES, protoAVP
	default:
		return secSDES, protoSAVP
	}
}

// offerCrypto gives l both SDES suites, _80 preferred (RFC 4568 §6.2).
func offerCrypto(l *line) error {
	c1, err := newCrypto(1, suite80)
	if err != nil {
		return err
	}
	c2, err := newCrypto(2, suite32)
	if err != nil {
		return err
	}
	l.localCrypto = []cryptoAttr{c1, c2}
	return nil
}

// addVideoLine adds (or reuses a disabled slot for, RFC 3264 §8.3) a video
// line in the audio line's transport family.
func (s *Session) addVideoLine(ctx context.Context) error {
	s.mu.Lock()
	var audioLine *line
	slot := -1
	for i, l := range s.lines {
		if l.kind == "audio" && audioLine == nil && !l.disabled {
			audioLine = l
		}
		if l.kind == "video" && l.disabled && slot < 0 {
			slot = i
		}
	}
	s.mu.Unlock()
	if audioLine == nil {
		return fmt.Errorf("%w: no audio line to add video to", media.ErrBadSDP)
	}
	l := &line{kind: "video", sec: audioLine.sec, proto: audioLine.proto, ours: true, mux: true}
	if audioLine.ice != nil {
		il, err := newICELink(ctx, s.iceConfig())
		if err != nil {
			return err
		}
		l.ice = il
		l.tr = newTransport(il, l.sec)
		s.attach(l)
	} else {
		u, err := newUDPLink(s.bindIP, s.advIP)
		if err != nil {
			return err
		}
		l.udp = u
		l.tr = newTransport(u, l.sec)
		s.attach(l)
	}
	switch l.sec {
	case secSDES:
		if err := offerCrypto(l); err != nil {
			l.closeTransport()
			return err
		}
	case secDTLS:
		if _, err := s.dtlsID(); err != nil {
			l.closeTransport()
			return err
		}
		l.setup = "actpass" // RFC 5763 §5: the offerer offers actpass
	}
	s.mu.Lock()
	if slot >= 0 {
		s.lines[slot] = l
	} else {
		s.lines = append(s.lines, l)
	}
	s.mu.Unlock()
	return nil
}

// ApplyAnswer implements media.Session.
func (s *Session) ApplyAnswer(ctx context.Context, answer []byte) error {
	s.sigMu.Lock()
	defer s.sigMu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return media.ErrClosed
	}
	if s.pendingOffer == nil {
		s.mu.Unlock()
		return ErrNoPendingOffer
	}
	offeredDir := s.pendingDir
	lines := append([]*line(nil), s.lines...)
	s.mu.Unlock()

	remote, err := parseRemote(answer)
	if err != nil {
		return err
	}
	if len(remote) != len(lines) {
		return fmt.Errorf("%w: answer has %d media lines, offer had %d (RFC 3264 §6)", media.ErrBadSDP, len(remote), len(lines))
	}
	for i, l := range lines {
		r := remote[i]
		if l.disabled {
			continue
		}
		if r.kind != l.kind {
			return fmt.Errorf("%w: answer line %d is %s, offered %s", media.ErrBadSDP, i, r.kind, l.kind)
		}
		if r.port == 0 {
			if l.kind == "audio" {
				return fmt.Errorf("%w: peer refused the audio line", media.ErrNoCommonCodec)
			}
			s.disableLine(l)
			continue
		}
		if err := s.applyAnswerLine(l, r, offeredDir); err != nil {
			if l.kind == "audio" {
				return err
			}
			s.log.Warn("video line unusable, disabled", "err", err)
			s.disableLine(l)
		}
	}
	s.mu.Lock()
	s.pendingOffer = nil
	s.localDir = offeredDir
	if a := s.audioLineLocked(); a != nil {
		s.dir = a.dir
	}
	s.mu.Unlock()
	s.afterNegotiation()
	s.log.Debug("answer applied", "dir", s.Direction().String())
	return nil
}

// applyAnswerLine negotiates one of our offered lines with the peer's
// answer for it.
func (s *Session) applyAnswerLine(l *line, r *remoteLine, offered media.Direction) error {
	switch l.sec {
	case secSDES:
		var chosen *cryptoAttr
		for _, rc := range r.crypto {
			for _, lc := range l.localCrypto {
				if rc.tag == lc.tag && rc.suite == lc.suite {
					chosen = &rc
				}
			}
			if chosen != nil {
				break
			}
		}
		switch {
		case chosen != nil:
			var local cryptoAttr
			for _, lc := range l.localCrypto {
				if lc.tag == chosen.tag {
					local = lc
				}
			}
			if err := s.keySDES(l, local, *chosen); err != nil {
				return err
			}
			l.localCrypto = []cryptoAttr{local}
		case l.proto == protoAVP && s.opts.SRTP != media.SRTPRequired:
			// Best-effort SRTP refused (RFC 4568 §7.1.2 answer without
			// crypto): plain RTP, which the policy allows.
			s.mu.Lock()
			l.sec = secNone
			l.tr.mu.Lock()
			l.tr.sec = secNone
			l.tr.mu.Unlock()
			s.mu.Unlock()
		default:
			return fmt.Errorf("%w: answer has no acceptable a=crypto for %s", media.ErrBadSDP, l.proto)
		}
	case secDTLS:
		if r.fp == "" {
			return fmt.Errorf("%w: DTLS answer without fingerprint", media.ErrBadSDP)
		}
		l.remoteFP = r.fp
	}
	if err := s.negotiateCodecs(l, r, false); err != nil {
		return err
	}
	l.mux = l.mux && r.mux
	if l.udp != nil {
		l.udp.setRemote(r.rtpAddr(), r.rtcpUDPAddr(), l.mux)
	}
	s.mu.Lock()
	l.remoteDir = r.dir
	l.dir = s.lineWant(l, offered).Intersect(r.dir.Reverse())
	l.done = true
	s.mu.Unlock()
	if l.ice != nil && r.ufrag != "" {
		s.startICE(l, r)
	}
	if l.sec == secDTLS && !l.dtlsActive {
		// RFC 5763 §5: the answerer's setup decides: active means it
		// connects to us (we are the DTLS server).
		client := strings.EqualFold(r.setup, "passive")
		if client {
			l.setup = "active"
		} else {
			l.setup = "passive"
		}
		s.startDTLS(l, client)
	}
	return nil
}

// lineWant is the direction we want on l when the audio direction is dir.
func (s *Session) lineWant(l *line, dir media.Direction) media.Direction {
	if l.kind == "audio" {
		return dir
	}
	send := s.video != nil && dir.Sends()
	recv := s.opts.VideoOut != nil && dir.Receives()
	switch {
	case send && recv:
		return media.SendRecv
	case send:
		return media.SendOnly
	case recv:
		return media.RecvOnly
	default:
		return media.Inactive
	}
}

func (s *Session) disableLine(l *line) {
	s.mu.Lock()
	l.disabled = true
	l.dir = media.Inactive
	s.mu.Unlock()
	l.closeTransport()
}
