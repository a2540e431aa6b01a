package classic

import (
	"context"
	"fmt"
	"strings"

	"github.com/parlo-voip/parlo/callengine/media"
)

// CreateAnswer implements media.Session.
func (s *Session) CreateAnswer(ctx context.Context, offer []byte, local media.Direction) ([]byte, error) {
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
	s.mu.Unlock()
	remote, err := parseRemote(offer)
	if err != nil {
		return nil, err
	}
	// Glare (RFC 3261 §14.2): the peer's offer replaces ours; we can drop
	// ours, including lines it added that were never negotiated.
	s.mu.Lock()
	s.pendingOffer = nil
	var keep, drop []*line
	for i, l := range s.lines {
		if i < len(remote) && (l.done || l.disabled) {
			keep = append(keep, l)
		} else {
			drop = append(drop, l)
		}
	}
	s.lines = keep
	s.mu.Unlock()
	for _, l := range drop {
		l.closeTransport()
	}

	// Answer in a copy of the line list: an offer we refuse leaves the
	// call as it was (RFC 3264 §8: a rejected re-offer changes nothing).
	s.mu.Lock()
	old := append([]*line(nil), s.lines...)
	s.mu.Unlock()
	var (
		answered []*line
		created  []*line
		seen     = map[string]bool{}
	)
	fail := func(err error) ([]byte, error) {
		for _, l := range created {
			l.closeTransport()
		}
		return nil, err
	}
	for i, r := range remote {
		var l *line
		if i < len(old) && old[i].kind == r.kind && !old[i].disabled {
			l = old[i]
		}
		if r.port == 0 || seen[r.kind] || (r.kind != "audio" && r.kind != "video") {
			answered = append(answered, &line{kind: r.kind, proto: r.proto, disabled: true, mid: r.mid, remoteFmts: r.fmts})
			if l != nil {
				defer l.closeTransport()
			}
			continue
		}
		nl, err := s.answerLine(ctx, l, r, local)
		if err != nil {
			if r.kind == "audio" {
				return fail(err)
			}
			s.log.Info("video line refused", "err", err)
			answered = append(answered, &line{kind: r.kind, proto: r.proto, disabled: true, mid: r.mid, remoteFmts: r.fmts})
			continue
		}
		if nl != l {
			created = append(created, nl)
			if l != nil {
				defer l.closeTransport()
			}
		}
		seen[r.kind] = true
		answered = append(answered, nl)
	}
	if !seen["audio"] {
		return fail(fmt.Errorf("%w: offer has no usable audio line", media.ErrBadSDP))
	}
	s.mu.Lock()
	s.lines = answered
	s.localDir = local
	if a := s.audioLineLocked(); a != nil {
		s.dir = a.dir
	}
	s.mu.Unlock()
	out, err := s.writeSDP(local, false)
	if err != nil {
		return nil, err
	}
	// Start ICE and DTLS only now: our answer is ready and the peer will
	// have it as soon as signalling sends it.
	for i, l := range answered {
		if l.disabled {
			continue
		}
		r := remote[i]
		if l.ice != nil && !l.dtlsActive {
			s.startICE(l, r)
		}
		if l.sec == secDTLS && !l.dtlsActive {
			s.startDTLS(l, l.setup == "active")
		}
	}
	s.afterNegotiation()
	s.log.Debug("answer created", "dir", s.Direction().String(), "bytes", len(out))
	return out, nil
}

// answerLine negotiates one offered line, reusing l's transport when the
// offer keeps its kind of transport.
func (s *Session) answerLine(ctx context.Context, l *line, r *remoteLine, local media.Direction) (*line, error) {
	sec, err := s.answerSecurity(r)
	if err != nil {
		return nil, err
	}
	useICE := r.ufrag != "" && r.pwd != ""
	reuse := l != nil && l.sec == sec && (l.ice != nil) == useICE
	if !reuse {
		nl := &line{kind: r.kind, sec: sec}
		if useICE {
			il, err := newICELink(ctx, s.iceConfig())
			if err != nil {
				return nil, err
			}
			nl.ice = il
			nl.tr = newTransport(il, sec)
		} else {
			u, err := newUDPLink(s.bindIP, s.advIP)
			if err != nil {
				return nil, err
			}
			nl.udp = u
			nl.tr = newTransport(u, sec)
		}
		s.attach(nl)
		if l != nil {
			nl.ours = l.ours
		}
		l = nl
	}
	cleanup := func(err error) (*line, error) {
		if !reuse {
			l.closeTransport()
		}
		return nil, err
	}
	l.proto, l.mid = r.proto, r.mid
	l.mux = r.mux || useICE
	switch sec {
	case secSDES:
		rc := r.crypto[0]
		var mine cryptoAttr
		for _, lc := range l.localCrypto {
			if lc.suite == rc.suite {
				mine = lc
			}
		}
		if mine.key == nil {
			if mine, err = newCrypto(rc.tag, rc.suite); err != nil {
				return cleanup(err)
			}
		}
		// RFC 4568 §7.1.1: the answer's line carries the offer's tag.
		mine.tag = rc.tag
		if err := s.keySDES(l, mine, rc); err != nil {
			return cleanup(err)
		}
		l.localCrypto = []cryptoAttr{mine}
	case secDTLS:
		if _, err := s.dtlsID(); err != nil {
			return cleanup(err)
		}
		if l.dtlsActive && l.remoteFP != "" && !strings.EqualFold(l.remoteFP, r.fp) {
			return cleanup(fmt.Errorf("%w: the peer changed its DTLS fingerprint mid-call (not supported)", media.ErrBadSDP))
		}
		l.remoteFP = r.fp
		if !l.dtlsActive {
			// RFC 5763 §5: answer active to actpass, the opposite of the
			// peer's role otherwise.
			if strings.EqualFold(r.setup, "active") {
				l.setup = "passive"
			} else {
				l.setup = "active"
			}
		}
	}
	if err := s.negotiateCodecs(l, r, true); err != nil {
		return cleanup(err)
	}
	if l.udp != nil {
		l.udp.setRemote(r.rtpAddr(), r.rtcpUDPAddr(), l.mux)
	}
	s.mu.Lock()
	l.remoteDir = r.dir
	l.dir = s.lineWant(l, local).Intersect(r.dir.Reverse())
	l.done = true
	s.mu.Unlock()
	return l, nil
}

// answerSecurity decides a line's security from the offer and our policy.
func (s *Session) answerSecurity(r *remoteLine) (security, error) {
	proto := strings.ToUpper(r.proto)
	switch {
	case strings.HasPrefix(proto, "UDP/TLS/RTP/SAVP"):
		if s.opts.SRTP == media.SRTPOff {
			return 0, fmt.Errorf("%w: DTLS-SRTP refused: SRTP is off for this account", media.ErrBadSDP)
		}
		if r.fp == "" {
			return 0, fmt.Errorf("%w: %s without a=fingerprint", media.ErrBadSDP, r.proto)
		}
		return secDTLS, nil
	case proto == "RTP/SAVP" || proto == "RTP/SAVPF":
		if s.opts.SRTP == media.SRTPOff {
			return 0, fmt.Errorf("%w: SRTP refused: SRTP is off for this account", media.ErrBadSDP)
		}
		if len(r.crypto) == 0 {
			return 0, fmt.Errorf("%w: %s without a supported a=crypto (need %s or %s)", media.ErrBadSDP, r.proto, suite80, suite32)
		}
		return secSDES, nil
	case proto == "RTP/AVP" || proto == "RTP/AVPF":
		if len(r.crypto) > 0 && s.opts.SRTP != media.SRTPOff {
			return secSDES, nil // best-effort SRTP offered: take it
		}
		if s.opts.SRTP == media.SRTPRequired {
			return 0, fmt.Errorf("%w: plain RTP refused: SRTP required", media.ErrBadSDP)
		}
		return secNone, nil
	default:
		return 0, fmt.Errorf("%w: media protocol %q not supported", media.ErrBadSDP, r.proto)
	}
}
