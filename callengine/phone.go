// Package callengine is Parlo's phone: SIP signalling (sipgo), calls and their
// media sessions, mirroring the Wazo Platform SDK's phone API — the same
// event names, the same CallSession snapshot, the same semantics. It knows
// nothing of any GUI: front ends call the Phone's methods and read its
// events from a Subscription.
package callengine

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/parlo-voip/parlo/callengine/audio"
	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/callengine/media/classic"
	"github.com/parlo-voip/parlo/callengine/media/webrtcmedia"
	"github.com/parlo-voip/parlo/callengine/share"
)

// Options configure a Phone. The zero value listens nowhere and has no
// account; give at least one Listen address for direct mode.
type Options struct {
	// Listen are local SIP sockets, "udp:127.0.0.1:5071" etc. A udp
	// listener also listens on TCP at the same port, since every SIP element
	// must speak both (RFC 3261 §18) and large requests move to TCP.
	Listen []string
	// Account, when set, is registered by Register and used as the identity
	// and outbound proxy of every call.
	Account *Account
	// User is the user part of our address in direct mode (default "parlo").
	User string
	// DisplayName goes into From of our requests.
	DisplayName string
	// AutoAnswer accepts every incoming call at once.
	AutoAnswer bool
	// HonourAnswerMode accepts at once an incoming call that asks for it
	// with "Answer-Mode: Auto" (RFC 5373); off by default, since it lets the
	// caller open our microphone.
	HonourAnswerMode bool
	// TransferPolicy decides REFERs from the far end (default ask).
	TransferPolicy TransferPolicy
	// TransferConsentTimeout is how long an asked transfer waits for
	// AcceptTransfer before it is declined (default and maximum 25 s:
	// the transferor's REFER transaction times out at 32 s).
	TransferConsentTimeout time.Duration
	// DoNotDisturb answers every new incoming call 486 Busy Here.
	DoNotDisturb bool
	// NewAudioIn makes what a call sends (default: silence).
	NewAudioIn func() (audio.Source, error)
	// NewAudioOut makes where a call's received audio goes (default: null).
	NewAudioOut func() (audio.Sink, error)
	// MediaFactory makes a call's media session on the WebRTC path
	// (default: webrtcmedia.New).
	MediaFactory media.Factory
	// ClassicMediaFactory makes one on the per-m-line path (peers without
	// BUNDLE, plain RTP, SDES-SRTP); nil means such offers get 488.
	ClassicMediaFactory media.Factory
	// Media is the path of calls we place: "webrtc", "classic" or "auto"
	// (default: webrtc in direct mode; with an account see Account.Media,
	// which overrides this).
	Media string
	// SRTP is the security policy of the classic path when no account says
	// otherwise (default media.SRTPPreferred: SRTP first, plain RTP only
	// with peers that have no SRTP).
	SRTP media.SRTPPolicy
	// STUNServers for server-reflexive candidates.
	STUNServers []string
	// TURNServers relay media when no direct path works.
	TURNServers []media.TURNServer
	// RelayOnly sends media through TURN only (privacy, or tests).
	RelayOnly bool
	// ICEDisconnectedTimeout and ICEFailedTimeout tune how fast a lost
	// media path is noticed (defaults 5 s and 15 s).
	ICEDisconnectedTimeout, ICEFailedTimeout time.Duration
	// DTMFMode is "auto" (RFC 4733 when negotiated, else SIP INFO; the
	// default) or "info" (always SIP INFO application/dtmf-relay).
	DTMFMode string
	// Display is the X display screen sharing captures (default $DISPLAY).
	Display string
	// ShareFPS is the screen-share frame rate (0: DefaultShareFPS).
	ShareFPS int
	// ShareMaxKbps caps a screen share's bitrate (0: the path's estimate
	// alone decides). SetShareLimits changes both later.
	ShareMaxKbps int
	// RecordingsDir is the folder of a recording started without one
	// (RecordingOptions.Dir empty); empty means such a start fails.
	RecordingsDir string
	// ProfileMemoryFile, when set, keeps the media profile that last
	// worked per destination across restarts (small JSON; see
	// outgoingProfiles). Empty: remembered in memory only.
	ProfileMemoryFile string
	// Logger (default slog.Default()).
	Logger *slog.Logger

	// Limits on what the network can make the phone do (zero means the
	// default). MaxRinging caps incoming calls ringing at once (default 8);
	// beyond it a new call gets 486 Busy Here with Retry-After.
	MaxRinging int
	// RingTimeout ends an unanswered incoming call with 480 Temporarily
	// Unavailable, reported as missed (default 120 s).
	RingTimeout time.Duration
	// SourceRate and SourceBurst bound the out-of-dialog requests (new
	// calls, MESSAGE, OPTIONS…) one source IP address may send: a token
	// bucket of SourceBurst (default 20) refilled at SourceRate per second
	// (default 10); beyond it 503 with Retry-After. A negative SourceRate
	// turns the limit off.
	SourceRate  float64
	SourceBurst int
	// MaxBodySize is the largest request body accepted (default 32 KiB);
	// larger ones get 413.
	MaxBodySize int

	// Liveness (liveness.go, sessiontimer.go, keepalive.go). MediaTimeout
	// ends an established call that receives no media for this long while
	// not on hold (default 20 s; negative: off). SessionExpires is the RFC
	// 4028 session interval we ask for (default 1800 s; negative: no
	// session timer) and MinSE the shortest we accept (default 90 s, the
	// RFC's floor; tests go lower). KeepAliveInterval is how often the
	// registrar is probed with OPTIONS to keep a NAT binding and notice a
	// lost registration (default 30 s; negative: off).
	MediaTimeout      time.Duration
	SessionExpires    time.Duration
	MinSE             time.Duration
	KeepAliveInterval time.Duration

	// SubscribeExpires is the lifetime asked for our SUBSCRIBEs and
	// presence PUBLISH (default 600 s); tests shorten it to see refreshes.
	SubscribeExpires time.Duration
}

// Phone is one SIP user agent with its calls.
type Phone struct {
	opts     Options
	log      *slog.Logger
	ua       *sipgo.UserAgent
	srv      *sipgo.Server
	cli      *sipgo.Client
	dialogUA *sipgo.DialogUA
	bus      *eventBus
	conf     conference // the local conference (conference.go)

	shareLimits shareLimitsValue

	listeners []ListenAddr // with the ports actually bound
	closers   []func() error
	toServe   []func() error // serve loops waiting for NewPhone to finish
	contact   sip.Uri        // our Contact URI
	localAddr ListenAddr

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// callOwner owns every call's goroutines (call.goCall): Close waits
	// for them after the calls are hung up.
	callOwner goOwner

	mu    sync.Mutex
	calls map[string]*call // by SIP Call-ID
	order []string
	reg   *registration
	// acct is the account in force (nil: direct mode); SetAccount swaps
	// it while calls run, so it is read through account().
	acct atomic.Pointer[Account]
	// acctMu makes account switches one at a time.
	acctMu sync.Mutex
	// origin caches the registrar's addresses for trustOrigin.
	origin originCheck

	profiles *profileMemory // what each destination last connected with

	closeOnce sync.Once

	captured atomic.Uint64 // screen frames captured, all calls
	shares   shareRegistry // which calls capture right now (ScreenSharing)
	portal   portalShare   // what the ScreenCast portal last granted (Wayland)
	// codecs keeps the last share's encoder and decoder warm for the next.
	codecs *share.CodecCache

	dnd, autoAnswer, answerMode atomic.Bool

	guard   *requestGuard
	ringing atomic.Int32 // incoming calls waiting for an answer

	// clockSkew shifts the wall clock watchClock reads: tests make the
	// machine "sleep" with it.
	clockSkew atomic.Int64

	watches watchRegistry // lamps: our SUBSCRIBEs and presence PUBLISH
}

// SetDoNotDisturb turns do-not-disturb on or off: while on, new incoming
// calls are answered 486 Busy Here and reported as onCallRejected with
// reason "do not disturb" (no onCallIncoming, no ringing).
func (p *Phone) SetDoNotDisturb(on bool) {
	p.dnd.Store(on)
	p.presenceChanged()
}

// DoNotDisturb reports the do-not-disturb setting.
func (p *Phone) DoNotDisturb() bool { return p.dnd.Load() }

// SetAutoAnswer sets whether every incoming call is accepted at once
// (always), and whether a call carrying "Answer-Mode: Auto" is (honourHeader).
func (p *Phone) SetAutoAnswer(always, honourHeader bool) {
	p.autoAnswer.Store(always)
	p.answerMode.Store(honourHeader)
}

// srtpPolicy is the account's SRTP policy, else the phone's, else
// preferred (media.SRTPPreferred).
func (p *Phone) srtpPolicy() media.SRTPPolicy {
	if a := p.account(); a != nil && a.SRTP != "" {
		return a.SRTP
	}
	if p.opts.SRTP != "" {
		return p.opts.SRTP
	}
	return media.SRTPPreferred
}

// loopbackOnly: a phone that listens only on loopback can only be reached
// by local peers, so its media stays on 127.0.0.1 too (no traffic to the
// host's other addresses).
func (p *Phone) loopbackOnly() bool {
	if len(p.listeners) == 0 {
		return false
	}
	for _, l := range p.listeners {
		if ip := net.ParseIP(l.Host); ip == nil || !ip.IsLoopback() {
			return false
		}
	}
	return true
}

// DefaultShareFPS is the screen-share frame rate unless set. Capture is
// damage-driven, so a still screen sends nothing whatever the rate, and the
// rate only costs while something moves: then 30 fps keeps a scrolled page
// or a dragged window fluid. At 15 the far end's window showed 15 pictures
// a second and a change waited up to 67 ms for its capture tick.
const DefaultShareFPS = 30

// udpMaxMessage lifts sipgo's UDP cap (1300 bytes for every message). Our
// requests above 1300 bytes already move to TCP (route, RFC 3261 §18.1.1),
// but a response must go back on the transport its request came on
// (§18.2.2): a 200 OK with a WebRTC answer through a proxy that adds Vias
// and Record-Routes passes 1300 bytes, and refusing to send it would fail
// the call. IP fragments such a datagram; that is what other phones do.
const udpMaxMessage = 8192

func init() { sip.UDPMTUSize = udpMaxMessage + 200 }

// NewPhone opens the listening sockets and starts serving SIP.
func NewPhone(opts Options) (*Phone, error) {
	p := &Phone{opts: opts, bus: newEventBus(), calls: map[string]*call{}, profiles: newProfileMemory(opts.ProfileMemoryFile)}
	p.codecs = share.NewCodecCache(0)
	p.closers = append(p.closers, p.codecs.Close)
	p.dnd.Store(opts.DoNotDisturb)
	p.acct.Store(opts.Account)
	p.autoAnswer.Store(opts.AutoAnswer)
	p.answerMode.Store(opts.HonourAnswerMode)
	p.log = opts.Logger
	if p.log == nil {
		p.log = slog.Default()
	}
	p.log = p.log.With("component", "phone")
	if p.opts.User == "" {
		p.opts.User = "parlo"
	}
	p.shareLimits.store(ShareLimits{FPS: opts.ShareFPS, MaxKbps: opts.ShareMaxKbps})
	if p.opts.MediaFactory == nil {
		p.opts.MediaFactory = webrtcmedia.New
	}
	if p.opts.ClassicMediaFactory == nil {
		p.opts.ClassicMediaFactory = classic.New
	}
	if p.opts.NewAudioIn == nil {
		p.opts.NewAudioIn = func() (audio.Source, error) { return audio.Silence(), nil }
	}
	if p.opts.NewAudioOut == nil {
		p.opts.NewAudioOut = func() (audio.Sink, error) { return audio.Null(), nil }
	}
	var listen []ListenAddr
	for _, s := range opts.Listen {
		l, err := ParseListenAddr(s)
		if err != nil {
			return nil, err
		}
		listen = append(listen, l)
	}
	tlsConf, err := p.tlsConfig()
	if err != nil {
		return nil, err
	}
	uaOpts := []sipgo.UserAgentOption{sipgo.WithUserAgent("Parlo/0.1")}
	if tlsConf != nil {
		uaOpts = append(uaOpts, sipgo.WithUserAgenTLSConfig(tlsConf))
	}
	p.ua, err = sipgo.NewUA(uaOpts...)
	if err != nil {
		return nil, fmt.Errorf("callengine: user agent: %w", err)
	}
	p.srv, err = sipgo.NewServer(p.ua, sipgo.WithServerLogger(p.log))
	if err != nil {
		p.ua.Close()
		return nil, fmt.Errorf("callengine: server: %w", err)
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	for _, l := range listen {
		if err := p.listen(l); err != nil {
			p.Close()
			return nil, err
		}
	}
	host, port := "127.0.0.1", 0
	if len(p.listeners) > 0 {
		p.localAddr = p.listeners[0]
		host, port = advertisedHost(p.localAddr.Host), p.localAddr.Port
	}
	cliOpts := []sipgo.ClientOption{sipgo.WithClientHostname(host), sipgo.WithClientLogger(p.log)}
	if port > 0 {
		cliOpts = append(cliOpts, sipgo.WithClientPort(port))
	}
	p.cli, err = sipgo.NewClient(p.ua, cliOpts...)
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("callengine: client: %w", err)
	}
	p.contact = sip.Uri{Scheme: "sip", User: p.opts.User, Host: host, Port: port}
	if p.localAddr.Transport != "" && p.localAddr.Transport != TransportUDP {
		p.contact.UriParams = sip.NewParams()
		p.contact.UriParams.Add("transport", p.localAddr.Transport)
	}
	p.dialogUA = &sipgo.DialogUA{Client: p.cli, ContactHDR: sip.ContactHeader{Address: p.contact}}

	p.guard = newRequestGuard(p)
	p.srv.OnInvite(p.guard.wrap(p.trustOrigin(p.onInvite)))
	p.srv.OnAck(p.guard.wrap(p.onAck))
	p.srv.OnBye(p.guard.wrap(p.onBye))
	p.srv.OnCancel(p.guard.wrap(p.onCancel))
	p.srv.OnOptions(p.guard.wrap(p.trustOrigin(p.onOptions)))
	p.srv.OnMessage(p.guard.wrap(p.trustOrigin(p.onMessage)))
	p.srv.OnInfo(p.guard.wrap(p.onInfo))
	p.srv.OnRefer(p.guard.wrap(p.trustOrigin(p.onRefer)))
	p.srv.OnNotify(p.guard.wrap(p.trustOrigin(p.onNotify)))
	p.srv.OnRequest(sip.UPDATE, p.guard.wrap(p.onUpdate))
	for _, m := range []sip.RequestMethod{sip.SUBSCRIBE, sip.PRACK, sip.PUBLISH, sip.REGISTER} {
		p.srv.OnRequest(m, p.guard.wrap(p.onUnsupported))
	}
	p.startServing()
	p.wg.Add(2)
	go p.watchAddresses()
	go p.watchClock()
	return p, nil
}

// advertisedHost is the host to put in Contact: an unspecified listen
// address is replaced by an address others can reach.
func advertisedHost(host string) string {
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsUnspecified() {
		return host
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
				return n.IP.String()
			}
		}
	}
	return "127.0.0.1"
}

func (p *Phone) tlsConfig() (*tls.Config, error) {
	a := p.opts.Account
	if a == nil || a.CAFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(a.CAFile)
	if err != nil {
		return nil, fmt.Errorf("%w: field CAFile: %w", ErrBadAccount, err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%w: field CAFile %q holds no PEM certificate", ErrBadAccount, a.CAFile)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// listen binds one listener (and TCP beside UDP) and serves it.
func (p *Phone) listen(l ListenAddr) error {
	addr := net.JoinHostPort(l.Host, strconv.Itoa(l.Port))
	switch l.Transport {
	case TransportUDP:
		pc, tl, err := listenUDPAndTCP(l)
		if err != nil {
			return err
		}
		l.Port = pc.LocalAddr().(*net.UDPAddr).Port
		p.closers = append(p.closers, pc.Close, tl.Close)
		p.serve(func() error { return p.srv.ServeUDP(pc) })
		p.serve(func() error { return p.srv.ServeTCP(tl) })
	case TransportTCP, TransportWS:
		tl, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrBadListenAddr, l, err)
		}
		l.Port = tl.Addr().(*net.TCPAddr).Port
		p.closers = append(p.closers, tl.Close)
		if l.Transport == TransportWS {
			p.serve(func() error { return p.srv.ServeWS(tl) })
		} else {
			p.serve(func() error { return p.srv.ServeTCP(tl) })
		}
	default:
		return fmt.Errorf("%w: %s: listening on %s needs a certificate, not supported yet", ErrBadListenAddr, l, l.Transport)
	}
	p.listeners = append(p.listeners, l)
	return nil
}

// serve queues a listener's serve loop; NewPhone starts them all once the
// handlers and the dialog UA exist, so no request meets a half-built phone.
// listenUDPAndTCP binds UDP and TCP on one port. With port 0 the kernel
// picks the UDP port, which TCP may already use (an outgoing connection's
// local port): then another port is tried.
func listenUDPAndTCP(l ListenAddr) (net.PacketConn, net.Listener, error) {
	var lastErr error
	for attempt := 0; attempt < 20; attempt++ {
		pc, err := net.ListenPacket("udp", net.JoinHostPort(l.Host, strconv.Itoa(l.Port)))
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %s: %w", ErrBadListenAddr, l, err)
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port
		tl, err := net.Listen("tcp", net.JoinHostPort(l.Host, strconv.Itoa(port)))
		if err == nil {
			return pc, tl, nil
		}
		pc.Close()
		lastErr = fmt.Errorf("%w: %s (tcp beside udp): %w", ErrBadListenAddr, l, err)
		if l.Port != 0 {
			break // the user asked for this port: say it is taken
		}
	}
	return nil, nil, lastErr
}

func (p *Phone) serve(f func() error) { p.toServe = append(p.toServe, f) }

func (p *Phone) startServing() {
	for _, f := range p.toServe {
		p.startServe(f)
	}
	p.toServe = nil
}

func (p *Phone) startServe(f func() error) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		if err := f(); err != nil && p.ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
			p.log.Warn("SIP listener stopped", "error", err)
		}
	}()
}

// Listeners returns the bound listening addresses (ports resolved).
func (p *Phone) Listeners() []ListenAddr { return append([]ListenAddr(nil), p.listeners...) }

// ContactURI is the SIP URI others can call us at in direct mode.
func (p *Phone) ContactURI() string { return p.contact.String() }

// Subscribe returns a new subscription to every event from now on.
func (p *Phone) Subscribe() *Subscription { return p.bus.subscribe() }

func (p *Phone) emit(ev Event) { p.bus.emit(ev) }

// Calls returns a snapshot of every call not yet ended, oldest first.
func (p *Phone) Calls() []*CallSession {
	calls := p.callList()
	out := make([]*CallSession, 0, len(calls))
	for _, c := range calls {
		out = append(out, c.snapshot())
	}
	return out
}

func (p *Phone) call(id string) (*call, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.calls[id]
	if c == nil {
		return nil, fmt.Errorf("%w: %q", ErrNoSuchCall, id)
	}
	return c, nil
}

func (p *Phone) addCall(c *call) {
	p.mu.Lock()
	p.calls[c.id] = c
	p.order = append(p.order, c.id)
	p.mu.Unlock()
}

func (p *Phone) removeCall(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.calls, id)
	for i, o := range p.order {
		if o == id {
			p.order = append(p.order[:i], p.order[i+1:]...)
			break
		}
	}
}

// holdOthers puts every other established, not held call on hold: accepting
// or placing a call holds the active one, as the Wazo SDK does.
func (p *Phone) holdOthers(ctx context.Context, except string) {
	p.mu.Lock()
	var others []*call
	for id, c := range p.calls {
		if id != except {
			others = append(others, c)
		}
	}
	p.mu.Unlock()
	for _, c := range others {
		if s := c.snapshot(); s.IsEstablished() && !s.Paused {
			if err := c.hold(ctx); err != nil {
				p.log.Warn("holding the active call failed", "call", c.id, "error", err)
			}
		}
	}
}

// Stats returns a call's media counters.
func (p *Phone) Stats(id string) (media.Stats, error) {
	c, err := p.call(id)
	if err != nil {
		return media.Stats{}, err
	}
	return c.stats(), nil
}

// Accept answers an incoming ringing call.
func (p *Phone) Accept(ctx context.Context, id string) error {
	c, err := p.call(id)
	if err != nil {
		return err
	}
	p.holdOthers(ctx, id)
	return c.accept(ctx)
}

// Reject declines an incoming call with 486 Busy Here (or code, e.g. 603).
func (p *Phone) Reject(ctx context.Context, id string, code int) error {
	c, err := p.call(id)
	if err != nil {
		return err
	}
	return c.reject(ctx, code)
}

// Hangup ends a call: CANCEL before answer, BYE after, reject if it rings.
func (p *Phone) Hangup(ctx context.Context, id string) error {
	c, err := p.call(id)
	if err != nil {
		return err
	}
	if err := c.hangup(ctx); err != nil {
		return err
	}
	return c.waitGoroutines(ctx)
}

// Hold puts a call on hold by re-INVITE (sendonly).
func (p *Phone) Hold(ctx context.Context, id string) error {
	c, err := p.call(id)
	if err != nil {
		return err
	}
	return c.hold(ctx)
}

// Resume takes a call off hold by re-INVITE (sendrecv) and unmutes it.
func (p *Phone) Resume(ctx context.Context, id string) error {
	c, err := p.call(id)
	if err != nil {
		return err
	}
	p.holdOthers(ctx, id)
	return c.resume(ctx)
}

// Mute stops sending microphone audio; no SIP.
func (p *Phone) Mute(id string) error {
	c, err := p.call(id)
	if err != nil {
		return err
	}
	return c.setMuted(true)
}

// Unmute restarts sending microphone audio.
func (p *Phone) Unmute(id string) error {
	c, err := p.call(id)
	if err != nil {
		return err
	}
	return c.setMuted(false)
}

// Close hangs up every call, unregisters and stops listening. Idempotent.
func (p *Phone) Close() error {
	p.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		p.mu.Lock()
		calls := make([]*call, 0, len(p.calls))
		for _, c := range p.calls {
			calls = append(calls, c)
		}
		reg := p.reg
		p.mu.Unlock()
		var wg sync.WaitGroup
		for _, c := range calls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = c.hangup(ctx)
			}()
		}
		wg.Wait()
		p.closeWatches(ctx)
		if reg != nil {
			reg.close(ctx)
		}
		p.cancel()
		p.callOwner.close()
		p.callOwner.wait()
		if p.srv != nil {
			p.srv.Close()
		}
		if p.cli != nil {
			p.cli.Close()
		}
		for _, c := range p.closers {
			_ = c()
		}
		if p.ua != nil {
			p.ua.Close()
		}
		p.wg.Wait()
		p.bus.closeAll()
	})
	return nil
}
