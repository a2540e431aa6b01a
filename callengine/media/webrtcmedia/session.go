// Package webrtcmedia implements media.Session with one bundled pion/webrtc
// PeerConnection per call: ICE (host and STUN candidates, non-trickle),
// DTLS-SRTP, rtcp-mux and BUNDLE, audio in Opus or G.711. The SDP shims in
// sdpshim.go make pion's SDP acceptable to SIP peers (baresip 1.0 and the
// like) and let signalling negotiate hold, which pion has no public API for.
package webrtcmedia

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/callengine/media/rtpmedia"
)

var (
	// ErrNoPendingOffer is returned by ApplyAnswer when no offer is pending.
	ErrNoPendingOffer = errors.New("webrtcmedia: no pending offer")
	// ErrOfferPending is returned by CreateAnswer when our own offer is still
	// pending and pion cannot roll it back (pion/webrtc#2416): signalling
	// should have answered the crossing re-INVITE with 491 (RFC 3261 §14.2).
	ErrOfferPending = errors.New("webrtcmedia: local offer pending")
	// ErrTransportFailed is passed to Events.OnFailed.
	ErrTransportFailed = errors.New("webrtcmedia: ICE/DTLS transport failed")
)

// Compile-time checks that New is a media.Factory and Session a media.Session.
var (
	_ media.Factory = New
	_ media.Session = (*Session)(nil)
)

// Session is one call's media over a pion PeerConnection.
type Session struct {
	opts media.Options
	ev   media.Events
	log  *slog.Logger

	pc     *webrtc.PeerConnection
	track  *audioTrack
	sender *webrtc.RTPSender
	bwe    cc.BandwidthEstimator // the PeerConnection's congestion controller (congestion.go)

	// sigMu serialises the offer/answer methods, which wait on the network
	// (ICE gathering); mu guards the small state below and is never held
	// while waiting.
	sigMu sync.Mutex

	mu           sync.Mutex
	closed       bool
	dir          media.Direction // negotiated, our point of view
	localDir     media.Direction // what we asked for last
	pendingOffer []byte          // our offer awaiting ApplyAnswer
	pendingDir   media.Direction
	pendingLocal *sdp.SessionDescription               // pion's own offer, for MIDs
	recv         atomic.Pointer[rtpmedia.AudioPlayout] // what the playout loop plays
	video        *videoSend                            // our screen share, nil when none

	remoteVideoSSRC uint32

	muted        atomic.Bool
	rtcpReceived atomic.Uint64 // the peer's RTCP read by our senders (liveness)
	iceRestart   atomic.Bool   // the next offer restarts ICE
	everUp       atomic.Bool   // ICE was connected once
	stats        rtpmedia.Counters
	pli          rtpmedia.PLIGate

	// keyed gets a value each time the transport connects (ICE and DTLS
	// up, SRTP keyed), for the send loop to send at once.
	keyed chan struct{}

	connectedOnce sync.Once
	failedOnce    sync.Once

	dtmf      chan *dtmfJob
	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// New creates a Session. It gathers nothing yet: gathering starts with the
// first CreateOffer or CreateAnswer.
func New(opts media.Options, ev media.Events) (media.Session, error) {
	return newSession(opts, ev)
}

func newSession(opts media.Options, ev media.Events) (*Session, error) {
	if opts.AudioIn == nil || opts.AudioOut == nil {
		return nil, errors.New("webrtcmedia: Options.AudioIn and AudioOut are required")
	}
	var bwe cc.BandwidthEstimator
	api, err := newAPI(opts, func(e cc.BandwidthEstimator) { bwe = e })
	if err != nil {
		return nil, err
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{
		ICEServers: iceServers(opts),
		// One transport for everything (RFC 8843); rtcp-mux is mandatory
		// in WebRTC (RFC 8834 §4.5) and pion always offers it.
		BundlePolicy:       webrtc.BundlePolicyMaxBundle,
		RTCPMuxPolicy:      webrtc.RTCPMuxPolicyRequire,
		ICETransportPolicy: transportPolicy(opts),
	})
	if err != nil {
		return nil, fmt.Errorf("webrtcmedia: new peer connection: %w", err)
	}
	s := &Session{
		opts:  opts,
		ev:    ev,
		log:   slog.Default().With("component", "webrtcmedia"),
		pc:    pc,
		bwe:   bwe,
		track: newAudioTrack("audio", "parlo"),
		done:  make(chan struct{}),
		dtmf:  make(chan *dtmfJob),
		keyed: make(chan struct{}, 1),
	}
	// Adding the track before any description makes one sendrecv audio
	// transceiver, which a remote offer's audio line then takes over
	// (pion matches it by kind), so offerer and answerer share one path.
	s.sender, err = pc.AddTrack(s.track)
	if err != nil {
		_ = pc.Close()
		return nil, fmt.Errorf("webrtcmedia: add audio track: %w", err)
	}
	pc.OnConnectionStateChange(s.onConnectionState)
	pc.OnICEConnectionStateChange(s.onICEState)
	pc.OnTrack(s.onTrack)
	if bwe != nil {
		bwe.OnTargetBitrateChange(s.onTargetBitrate)
	}

	s.wg.Add(3)
	go s.readRTCP()
	go s.sendLoop()
	go s.playoutLoop()
	return s, nil
}

func (s *Session) onConnectionState(st webrtc.PeerConnectionState) {
	s.log.Debug("connection state", "state", st.String())
	switch st {
	case webrtc.PeerConnectionStateConnected:
		select {
		case s.keyed <- struct{}{}:
		default:
		}
		s.connectedOnce.Do(func() {
			if s.ev.OnConnected != nil && !s.isClosed() {
				s.ev.OnConnected()
			}
		})
	case webrtc.PeerConnectionStateFailed:
		s.failedOnce.Do(func() {
			if s.ev.OnFailed != nil && !s.isClosed() {
				s.ev.OnFailed(ErrTransportFailed)
			}
		})
	default:
	}
}

func (s *Session) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// readRTCP drains the sender's RTCP: pion's interceptors (NACK responder,
// sender reports) only see RTCP that somebody reads.
func (s *Session) readRTCP() {
	defer s.wg.Done()
	buf := make([]byte, 1500)
	var bad rtcpReadErrors
	for {
		if _, _, err := s.sender.Read(buf); err != nil {
			if s.isClosed() || bad.end(err) {
				return
			}
			continue
		}
		bad.reset()
		s.rtcpReceived.Add(1)
	}
}

// CreateOffer implements media.Session.
func (s *Session) CreateOffer(ctx context.Context, dir media.Direction) ([]byte, error) {
	s.sigMu.Lock()
	defer s.sigMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, media.ErrClosed
	}
	if s.pendingOffer != nil && s.pendingDir == dir {
		// Resend after 491 (RFC 3261 §14.1): same bytes, no second pion
		// offer, since pion cannot roll back a local offer (#2416).
		out := append([]byte(nil), s.pendingOffer...)
		s.mu.Unlock()
		return out, nil
	}
	s.mu.Unlock()

	var oo *webrtc.OfferOptions
	if s.iceRestart.Swap(false) {
		oo = &webrtc.OfferOptions{ICERestart: true}
	}
	offer, err := s.pc.CreateOffer(oo)
	if err != nil {
		return nil, fmt.Errorf("webrtcmedia: create offer: %w", err)
	}
	local, err := s.setLocalAndGather(ctx, offer)
	if err != nil {
		return nil, err
	}
	out, err := s.outgoing(local, dir)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.pendingOffer = append([]byte(nil), out...)
	s.pendingDir = dir
	s.pendingLocal = local
	s.mu.Unlock()
	s.log.Debug("offer created", "dir", dir.String(), "bytes", len(out))
	return out, nil
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
	offeredDir, local := s.pendingDir, s.pendingLocal
	s.mu.Unlock()

	remote, err := parseSDP(answer)
	if err != nil {
		return err
	}
	if err := validateWebRTC(remote); err != nil {
		return err
	}
	remoteDir := prepareIncoming(remote, local)
	if s.opts.LoopbackOnly {
		localizeCandidates(remote, hostAddresses())
	}
	raw, err := remote.Marshal()
	if err != nil {
		return fmt.Errorf("%w: %w", media.ErrBadSDP, err)
	}
	if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(raw)}); err != nil {
		return fmt.Errorf("%w: %w", media.ErrBadSDP, err)
	}
	s.mu.Lock()
	s.pendingOffer, s.pendingLocal = nil, nil
	s.localDir = offeredDir
	s.dir = offeredDir.Intersect(remoteDir.Reverse())
	if !s.closed {
		// Our offer makes us the controlling agent: nominate as soon as a
		// check succeeds rather than on pion's next tick (nominate.go).
		s.wg.Add(1)
		go s.nominateEarly()
	}
	s.mu.Unlock()
	s.log.Debug("answer applied", "remoteDir", remoteDir.String(), "dir", s.Direction().String())
	return s.maybeStartVideo(remote)
}

// CreateAnswer implements media.Session.
func (s *Session) CreateAnswer(ctx context.Context, offer []byte, local media.Direction) ([]byte, error) {
	s.sigMu.Lock()
	defer s.sigMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, media.ErrClosed
	}
	pending := s.pendingOffer != nil
	s.mu.Unlock()

	remote, err := parseSDP(offer)
	if err != nil {
		return nil, err
	}
	if err := validateWebRTC(remote); err != nil {
		return nil, err
	}
	if pending {
		// Glare: the peer's offer wins; drop ours (CancelOffer).
		if err := s.cancelOfferLocked(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrOfferPending, err)
		}
	}
	var current *sdp.SessionDescription
	if ld := s.pc.CurrentLocalDescription(); ld != nil {
		current, _ = ld.Unmarshal()
	}
	remoteDir := prepareIncoming(remote, current)
	if s.opts.LoopbackOnly {
		localizeCandidates(remote, hostAddresses())
	}
	addedBundle, err := bundleSingleLine(remote)
	if err != nil {
		return nil, err
	}
	raw, err := remote.Marshal()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", media.ErrBadSDP, err)
	}
	if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(raw)}); err != nil {
		return nil, fmt.Errorf("%w: %w", media.ErrBadSDP, err)
	}
	answer, err := s.pc.CreateAnswer(nil)
	if err != nil {
		return nil, fmt.Errorf("%w: create answer: %w", media.ErrNoCommonCodec, err)
	}
	ld, err := s.setLocalAndGather(ctx, answer)
	if errors.Is(err, errNoSendCodec) {
		return nil, fmt.Errorf("%w: %w", media.ErrNoCommonCodec, err)
	}
	if err != nil {
		return nil, err
	}
	if ai := audioIndex(ld); ai < 0 || ld.MediaDescriptions[ai].MediaName.Port.Value == 0 ||
		len(audioCodecs(ld.MediaDescriptions[ai])) == 0 {
		return nil, fmt.Errorf("%w: pion rejected the audio line", media.ErrNoCommonCodec)
	}
	// RFC 3264 §6.1: the answer's direction follows from the offer's.
	negotiated := local.Intersect(remoteDir.Reverse())
	if addedBundle {
		dropBundleGroup(ld)
	}
	out, err := s.outgoing(ld, negotiated)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.localDir = local
	s.dir = negotiated
	s.mu.Unlock()
	if err := s.maybeStartVideo(remote); err != nil {
		return nil, err
	}
	s.log.Debug("answer created", "remoteDir", remoteDir.String(), "dir", negotiated.String(), "bytes", len(out))
	return out, nil
}

// setLocalAndGather sets a local description and waits for ICE gathering
// to complete (non-trickle: SIP carries one complete SDP), then returns
// pion's local description with its candidates.
func (s *Session) setLocalAndGather(ctx context.Context, desc webrtc.SessionDescription) (*sdp.SessionDescription, error) {
	gathered := webrtc.GatheringCompletePromise(s.pc)
	if err := s.pc.SetLocalDescription(desc); err != nil {
		return nil, fmt.Errorf("webrtcmedia: set local %s: %w", desc.Type, err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.done:
		return nil, media.ErrClosed
	}
	ld := s.pc.LocalDescription()
	if ld == nil {
		return nil, errors.New("webrtcmedia: no local description after gathering")
	}
	parsed, err := ld.Unmarshal()
	if err != nil {
		return nil, fmt.Errorf("webrtcmedia: parse own SDP: %w", err)
	}
	return parsed, nil
}

// outgoing applies the outgoing shims to a copy of pion's description.
func (s *Session) outgoing(local *sdp.SessionDescription, dir media.Direction) ([]byte, error) {
	raw, err := local.Marshal()
	if err != nil {
		return nil, fmt.Errorf("webrtcmedia: marshal own SDP: %w", err)
	}
	cp, err := parseSDP(raw)
	if err != nil {
		return nil, fmt.Errorf("webrtcmedia: reparse own SDP: %w", err)
	}
	rewriteOutgoing(cp, dir)
	return cp.Marshal()
}

// Direction implements media.Session.
func (s *Session) Direction() media.Direction {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dir
}

// SetMuted implements media.Session.
func (s *Session) SetMuted(muted bool) { s.muted.Store(muted) }

// sending reports whether the sender goroutine should put audio on the
// wire: the negotiated direction must send, we are not muted, and we are
// not holding. RFC 3264 §8.4 lets the holder keep sending (sendonly, for
// music on hold), but Parlo mirrors the Wazo SDK, which mutes on hold: a
// held call carries no audio either way.
func (s *Session) sending() bool {
	if s.muted.Load() {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	holding := s.localDir == media.SendOnly || s.localDir == media.Inactive
	return !s.closed && s.dir.Sends() && !holding
}

// eventsAllowed reports whether DTMF may go out: like sending, but a muted
// microphone does not stop keypad tones.
func (s *Session) eventsAllowed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	holding := s.localDir == media.SendOnly || s.localDir == media.Inactive
	return !s.closed && s.dir.Sends() && !holding
}

// receiving reports whether received audio is played out.
func (s *Session) receiving() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.closed && s.dir.Receives()
}

// Stats implements media.Session.
func (s *Session) Stats() media.Stats {
	st := media.Stats{Path: "webrtc", SRTP: "dtls"}
	s.mu.Lock()
	r := s.recv.Load()
	vs := s.video
	s.mu.Unlock()
	st.Audio = s.stats.Audio(r)
	if vs != nil {
		st.Video.Sent = vs.Stats()
	}
	st.Video.Received = s.stats.VideoReceived()
	s.transportStats(&st)
	return st
}

// Close implements media.Session: it closes the PeerConnection and waits
// for every goroutine of the session. It is idempotent.
func (s *Session) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		vs := s.video
		s.video = nil
		s.mu.Unlock()
		close(s.done)
		if vs != nil {
			// Stop capturing before anything else (privacy: the share
			// must not outlive the call).
			vs.Stop()
			close(vs.stop)
		}
		// pc.Close ends ReadRTP/Read in our readers; mu must not be held
		// here, since pion may be inside one of our callbacks.
		err = s.pc.Close()
		s.wg.Wait()
		if vs != nil {
			vs.wg.Wait()
		}
	})
	return err
}

// transportStats reads jitter and round-trip time of the audio stream from
// pion's stats interceptor.
func (s *Session) transportStats(st *media.Stats) {
	st.Transport.RTCPReceived = s.rtcpReceived.Load()
	if s.isClosed() {
		return
	}
	// The pair ICE selected now (after a restart, the new one).
	if pair, err := s.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair(); err == nil && pair != nil {
		st.Transport.LocalAddress = net.JoinHostPort(pair.Local.Address, strconv.Itoa(int(pair.Local.Port)))
		st.Transport.LocalType = pair.Local.Typ.String()
		st.Transport.RemoteAddress = net.JoinHostPort(pair.Remote.Address, strconv.Itoa(int(pair.Remote.Port)))
		st.Transport.RemoteType = pair.Remote.Typ.String()
	}
	all := s.pc.GetStats()
	for _, v := range all {
		switch x := v.(type) {
		case webrtc.InboundRTPStreamStats:
			if x.Kind == "audio" {
				st.Audio.JitterMs = x.Jitter * 1000
			}
		case webrtc.RemoteInboundRTPStreamStats:
			if x.Kind == "audio" && x.RoundTripTime > 0 {
				st.Audio.RTTMs = x.RoundTripTime * 1000
			}
		}
	}
}

func transportPolicy(opts media.Options) webrtc.ICETransportPolicy {
	if opts.RelayOnly {
		return webrtc.ICETransportPolicyRelay
	}
	return webrtc.ICETransportPolicyAll
}

// onICEState reports ICE changes after the first connection, which
// signalling turns into onIceDisconnected / onIceReconnected and ICE
// restarts.
func (s *Session) onICEState(st webrtc.ICEConnectionState) {
	if st == webrtc.ICEConnectionStateConnected && !s.everUp.Swap(true) {
		return // the first connection is OnConnected's
	}
	if !s.everUp.Load() || s.isClosed() || s.ev.OnICEState == nil {
		return
	}
	s.ev.OnICEState(st.String())
}

// RestartICE implements media.ICERestarter.
func (s *Session) RestartICE() {
	s.iceRestart.Store(true)
	s.mu.Lock()
	s.pendingOffer = nil
	s.mu.Unlock()
}

var _ media.ICERestarter = (*Session)(nil)
