// Package classic implements media.Session with one transport per m-line,
// for SIP peers outside the WebRTC profile: desk phones, PBX trunks, baresip
// and Linphone in their default set-ups. Each line has its own UDP port pair
// (or rtcp-mux), its own ICE agent when the peer offers ICE, and its own
// security: plain RTP/AVP, SDES-keyed SRTP (RFC 4568) or DTLS-SRTP (RFC
// 5763/5764) without BUNDLE.
//
// As offerer it uses SDES, the one SRTP keying every SRTP-capable desk phone
// and trunk speaks (DTLS-SRTP without ICE is rare outside WebRTC gateways):
// SRTPRequired offers RTP/SAVP with a=crypto, SRTPOptional offers RTP/AVP
// with a=crypto (best-effort SRTP, which peers without SRTP answer in plain
// RTP), SRTPOff offers plain RTP/AVP. As answerer it follows the offer's
// profile and keying, within the policy.
package classic

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parlo-voip/parlo/callengine/audio"
	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/callengine/media/rtpmedia"
	"github.com/parlo-voip/parlo/capture/videocodec"
)

var (
	// ErrNoPendingOffer is returned by ApplyAnswer without a pending offer.
	ErrNoPendingOffer = errors.New("classic: no pending offer")
	// ErrTransportFailed is passed to Events.OnFailed.
	ErrTransportFailed = errors.New("classic: ICE/DTLS transport failed")
)

var (
	_ media.Factory = New
	_ media.Session = (*Session)(nil)
)

// Session is one call's media over per-line transports.
type Session struct {
	opts media.Options
	ev   media.Events
	log  *slog.Logger

	bindIP, advIP net.IP

	sigMu sync.Mutex // serialises offer/answer; mu is never held while waiting

	mu           sync.Mutex
	closed       bool
	lines        []*line
	dir          media.Direction
	localDir     media.Direction
	pendingOffer []byte
	pendingDir   media.Direction
	sessID       uint64
	version      uint64
	identity     *dtlsIdentity
	recv         atomic.Pointer[rtpmedia.AudioPlayout] // what the playout loop plays
	video        *videoSend
	remoteVideo  uint32
	audioSSRC    uint32

	muted atomic.Bool
	stats rtpmedia.Counters
	pli   rtpmedia.PLIGate

	connectedOnce sync.Once
	failedOnce    sync.Once

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
}

// New creates a Session (a media.Factory). Ports are bound when the first
// offer or answer needs them.
func New(opts media.Options, ev media.Events) (media.Session, error) {
	return newSession(opts, ev)
}

func newSession(opts media.Options, ev media.Events) (*Session, error) {
	if opts.AudioIn == nil || opts.AudioOut == nil {
		return nil, errors.New("classic: Options.AudioIn and AudioOut are required")
	}
	switch opts.SRTP {
	case "":
		opts.SRTP = media.SRTPRequired
	case media.SRTPPreferred:
		// As answerer "preferred" is "optional": SRTP when offered, plain
		// RTP otherwise. Calls we place get an explicit policy per offer
		// (callengine's outgoing profiles), so this is the answer case.
		opts.SRTP = media.SRTPOptional
	case media.SRTPRequired, media.SRTPOptional, media.SRTPOff:
	default:
		return nil, fmt.Errorf("classic: unknown SRTP policy %q", opts.SRTP)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Session{
		opts:      opts,
		ev:        ev,
		log:       slog.Default().With("component", "classic"),
		sessID:    uint64(rand.Uint32()),
		audioSSRC: rand.Uint32(),
		ctx:       ctx,
		cancel:    cancel,
		done:      make(chan struct{}),
	}
	s.bindIP, s.advIP = localAddresses(opts)
	s.wg.Add(2)
	go s.sendLoop()
	go s.playoutLoop()
	return s, nil
}

// localAddresses picks where ports are bound and what SDP advertises:
// loopback only for local calls, else all interfaces with the first
// non-loopback IPv4 address in c=.
func localAddresses(opts media.Options) (bind, adv net.IP) {
	lo := net.IPv4(127, 0, 0, 1)
	if opts.LoopbackOnly {
		return lo, lo
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return net.IPv4zero, n.IP.To4()
		}
	}
	return net.IPv4zero, lo
}

func (s *Session) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// newLine creates a line with a fresh UDP transport of the given security.
func (s *Session) newUDPLine(kind string, sec security) (*line, error) {
	u, err := newUDPLink(s.bindIP, s.advIP)
	if err != nil {
		return nil, err
	}
	l := &line{kind: kind, sec: sec, udp: u, mux: false}
	l.tr = newTransport(u, sec)
	s.attach(l)
	return l, nil
}

// attach wires a line's transport to the session's media handlers and
// starts reading.
func (s *Session) attach(l *line) {
	if l.kind == "audio" {
		l.tr.setHandlers(s.onAudioRTP(l), nil)
	} else {
		l.tr.setHandlers(s.onVideoRTP(l), s.onVideoRTCP)
	}
	l.tr.start()
}

func (s *Session) dtlsID() (*dtlsIdentity, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.identity == nil {
		id, err := newDTLSIdentity()
		if err != nil {
			return nil, err
		}
		s.identity = id
	}
	return s.identity, nil
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

func (s *Session) iceConfig() iceConfig {
	return iceConfig{stunServers: s.opts.STUNServers, loopback: s.opts.IncludeLoopback, loopbackOnly: s.opts.LoopbackOnly}
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

// keySDES keys l's transport from our crypto line and the peer's.
func (s *Session) keySDES(l *line, local, remote cryptoAttr) error {
	if l.remoteKey != nil && string(l.remoteKey) == string(remote.key) && l.tr.enc != nil {
		return nil
	}
	p := local.profile()
	err := l.tr.setKeys(p, local.key[:sdesKeyLen], local.key[sdesKeyLen:], remote.key[:sdesKeyLen], remote.key[sdesKeyLen:])
	if err != nil {
		return err
	}
	l.remoteKey = remote.key
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

func (s *Session) audioLineLocked() *line {
	for _, l := range s.lines {
		if l.kind == "audio" && !l.disabled {
			return l
		}
	}
	return nil
}

func (s *Session) videoLineLocked() *line {
	for _, l := range s.lines {
		if l.kind == "video" && !l.disabled {
			return l
		}
	}
	return nil
}

// negotiateCodecs picks what we send on l from the peer's list (its order
// is its preference, RFC 3264 §6.1) and what we can receive.
func (s *Session) negotiateCodecs(l *line, r *remoteLine, answering bool) error {
	recv := map[uint8]string{}
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
	s.mu.Unlock()
	return nil
}

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

// startICE starts connectivity checks on l. The offerer controls (RFC 8445
// §6.1.1); we only do ICE when the peer offered it, so we are controlled.
func (s *Session) startICE(l *line, r *remoteLine) {
	if l.ice == nil || l.ice.cancel != nil {
		return
	}
	_ = l.ice.connect(false, r.ufrag, r.pwd, r.cands)
}

// startDTLS runs the handshake in the background: after ICE when the line
// has ICE. Success keys SRTP and reports the call connected.
func (s *Session) startDTLS(l *line, client bool) {
	id, err := s.dtlsID()
	if err != nil {
		s.fail(err)
		return
	}
	l.dtlsActive = true
	fp := l.remoteFP
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(s.ctx, 20*time.Second)
		defer cancel()
		if l.ice != nil {
			if err := l.ice.wait(ctx); err != nil {
				s.lineFailed(l, err)
				return
			}
		}
		conn, err := dtlsHandshake(ctx, l.tr, id, client, fp)
		if err != nil {
			s.lineFailed(l, err)
			return
		}
		s.mu.Lock()
		if s.closed || l.disabled {
			s.mu.Unlock()
			_ = conn.Close()
			return
		}
		l.dtlsConn = conn
		s.mu.Unlock()
		s.log.Info("DTLS-SRTP up", "kind", l.kind, "client", client)
		if l.kind == "audio" {
			s.connected()
		}
	}()
}

func (s *Session) lineFailed(l *line, err error) {
	if s.isClosed() {
		return
	}
	s.log.Warn("media transport failed", "kind", l.kind, "err", err)
	if l.kind == "audio" {
		s.fail(err)
	}
}

func (s *Session) fail(err error) {
	s.failedOnce.Do(func() {
		if s.ev.OnFailed != nil && !s.isClosed() {
			s.ev.OnFailed(fmt.Errorf("%w: %w", ErrTransportFailed, err))
		}
	})
}

func (s *Session) connected() {
	s.connectedOnce.Do(func() {
		if s.ev.OnConnected != nil && !s.isClosed() {
			s.ev.OnConnected()
		}
	})
}

// afterNegotiation reports a plain or SDES audio line connected (nothing to
// handshake) and starts or stops our video sender.
func (s *Session) afterNegotiation() {
	s.mu.Lock()
	a := s.audioLineLocked()
	instant := a != nil && a.sec != secDTLS && a.ice == nil
	s.mu.Unlock()
	if instant {
		s.connected()
	}
	s.maybeStartVideo()
}

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
			return []string{fmt.Sprint(ptVP8), fmt.Sprint(ptH264)}
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
			writeVideoCodec(w, ptH264, videocodec.H264, offer)
			return
		}
		writeVideoCodec(w, l.sendPT, videocodec.Name(l.sendName), offer)
		return
	}
	if offer || !l.hasSend {
		w.line("a=rtpmap:111 opus/48000/2")
		w.line("a=fmtp:111 minptime=10;useinbandfec=1")
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
		w.line("a=fmtp:%d minptime=10;useinbandfec=1", l.sendPT)
	default:
		w.line("a=rtpmap:%d %s/8000", l.sendPT, l.sendName)
	}
	if pt, ok := l.telEvent(); ok {
		w.line("a=rtpmap:%d telephone-event/%d", pt, l.sendClock)
		w.line("a=fmtp:%d 0-16", pt)
	}
	w.line("a=ptime:20")
}

// writeVideoCodec writes one video codec's rtpmap, fmtp and feedback.
func writeVideoCodec(w *sdpWriter, pt uint8, name videocodec.Name, offer bool) {
	w.line("a=rtpmap:%d %s/%d", pt, name, videocodec.ClockRate)
	if name == videocodec.H264 {
		w.line("a=fmtp:%d %s", pt, rtpmedia.H264Fmtp)
	}
	// RFC 4585 §4.2 / RFC 5104 §7.1: we honour PLI and FIR.
	w.line("a=rtcp-fb:%d nack pli", pt)
	if offer {
		w.line("a=rtcp-fb:%d ccm fir", pt)
	}
}

// Direction implements media.Session.
func (s *Session) Direction() media.Direction {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dir
}

// SetMuted implements media.Session.
func (s *Session) SetMuted(muted bool) { s.muted.Store(muted) }

// Stats implements media.Session.
func (s *Session) Stats() media.Stats {
	st := media.Stats{Path: string(media.PathClassic), SRTP: "none"}
	s.mu.Lock()
	if a := s.audioLineLocked(); a != nil {
		st.SRTP = a.sec.String()
	}
	r := s.recv.Load()
	vs := s.video
	for _, l := range s.lines {
		if l.tr != nil {
			st.Transport.ForeignDropped += l.tr.foreignDropped()
		}
	}
	s.mu.Unlock()
	st.Audio = s.stats.Audio(r)
	if vs != nil {
		st.Video.Sent = vs.Stats()
	}
	st.Video.Received = s.stats.VideoReceived()
	return st
}

// Close implements media.Session; idempotent.
func (s *Session) Close() error {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		vs := s.video
		s.video = nil
		lines := s.lines
		s.mu.Unlock()
		if vs != nil {
			vs.Stop() // the share must not outlive the call
		}
		s.cancel()
		close(s.done)
		for _, l := range lines {
			l.closeTransport()
		}
		s.wg.Wait()
	})
	return nil
}
