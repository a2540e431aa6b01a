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
	"sync"
	"sync/atomic"

	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/callengine/media/rtpmedia"
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
	remoteAudio  uint32
	audioSSRC    uint32
	cname        string // SDES CNAME of our RTCP (RFC 3550 §6.5.1)

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
		cname:     fmt.Sprintf("parlo-%016x", rand.Uint64()),
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
	chain, err := newRTCPChain(s.streamInfo(l), s.cname, l.tr.sendRTP, l.tr.sendRTCP)
	if err != nil {
		// Media still flows without reports; the interceptors only fail
		// on bad options, which are constants here.
		s.log.Warn("no RTCP on this line", "kind", l.kind, "err", err)
	} else {
		l.tr.chain = chain
	}
	if l.kind == "audio" {
		l.tr.setHandlers(s.onAudioRTP(l), nil)
	} else {
		l.tr.setHandlers(s.onVideoRTP(l), s.onVideoRTCP)
	}
	l.tr.start()
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
			st.Transport.RTCPReceived += l.tr.rtcpCount()
		}
	}
	s.mu.Unlock()
	st.Audio = s.stats.Audio(r)
	if vs != nil {
		st.Video.Sent = vs.Stats()
	}
	st.Video.Received = s.stats.VideoReceived()
	s.rtcpStats(&st)
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
