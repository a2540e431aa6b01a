package callengine

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/parlo-voip/parlo/callengine/audio"
	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/callengine/share"
	"github.com/parlo-voip/parlo/capture"
)

// dialog is what a call needs of sipgo's client or server dialog session.
type dialog interface {
	Do(ctx context.Context, req *sip.Request) (*sip.Response, error)
	WriteRequest(req *sip.Request) error
	Bye(ctx context.Context) error
	Context() context.Context
}

// call is one call: its CallSession state, its SIP dialog and its media.
// mu guards the state; every state change and the event it causes happen
// under mu, so the events of one call leave in order. opMu serialises SIP
// operations (hold, resume, hangup) so that no second re-INVITE starts while
// one is pending.
type call struct {
	p   *Phone
	id  string
	log *slog.Logger

	mu       sync.Mutex
	s        CallSession
	uac      *sipgo.DialogClientSession
	uas      *sipgo.DialogServerSession
	media    media.Session
	audioIn  audio.Source
	audioOut audio.Sink
	ended    bool

	// tap mixes the call's audio into a local conference and feeds its
	// recording (conference.go, recording.go); it outlives media
	// generations. rec is the running recording (nil when none).
	tap     *audio.CallTap
	rec     *audio.Recorder
	recPath string

	// earlyTag is the To tag of the last 18x to the INVITE we sent: with
	// our From tag it names the early dialog a pickup's Replaces takes
	// over (RFC 3891 §3).
	earlyTag string

	// Screen sharing: the running share and the monitor to share again on
	// resume (hold stops a share and remembers it).
	sharing     *share.Output
	resumeShare *capture.Monitor
	videoIn     *VideoReceiver

	// ICE restart: one restart loop at a time; iceBack wakes it when ICE
	// is connected again.
	iceRestarting atomic.Bool
	iceBack       chan struct{}

	// monitorStop ends the network monitoring goroutine (nil when off).
	monitorStop chan struct{}

	// referProgress receives the sipfrag status codes of a transfer we
	// started (nil when none is running).
	referProgress chan int
	// referBusy is set while a REFER from the peer is being decided or
	// followed; referDecision receives the user's answer (nil when no
	// one is asked).
	referBusy     atomic.Bool
	referDecision chan bool

	// Outgoing, before answer: abandons the INVITE transaction (sipgo's
	// WaitAnswer returns at once). A hang-up sends CANCEL (cancel.go):
	// cancelWanted once the user hung up, provisionalSeen once the INVITE
	// in uac got a provisional response, cancelSent once CANCEL is out.
	cancelInvite                              context.CancelFunc
	cancelWanted, provisionalSeen, cancelSent bool
	answerTaken                               bool // the INVITE's 2xx is being answered: hang up with BYE
	// Incoming, before answer: the INVITE handler waits for a decision.
	decision  chan decision
	inviteTx  sip.ServerTransaction // the INVITE's, for non-2xx finals
	offer     []byte
	answerSDP []byte // our answer, once made (a 183 and its 200 share it)
	// Late offer (lateoffer.go): the offer of ours whose answer the next
	// ACK brings, and that of an offerless INVITE (kept for its 200).
	late, lateInvite *lateOffer

	mediaReady       bool         // transport up (under mu), see onMediaConnected
	reinvitePending  atomic.Bool  // one of our re-INVITEs is being negotiated (incl. 491 back-off)
	reinviteInFlight atomic.Bool  // its INVITE transaction is open: a crossing one gets 491
	glares           atomic.Int64 // 491s our re-INVITEs got (RFC 3261 §14.1)
	mediaUp          atomic.Bool
	mediaGen         atomic.Uint64 // generation of media; bumped when a fallback replaces it
	opMu             sync.Mutex
	done             chan struct{}
	// owner owns the call's goroutines (goCall); terminate closes it.
	owner goOwner
	// timer is the RFC 4028 session timer, once negotiated.
	timer *sessionTimer
}

type decision struct {
	early  bool // 183 with SDP, keep ringing
	accept bool
	code   int
	result chan error
}

func newCall(p *Phone, id string, isCaller bool) *call {
	now := time.Now()
	c := &call{
		p: p, id: id,
		log:      p.log.With("call", id),
		decision: make(chan decision, 1),
		done:     make(chan struct{}),
		iceBack:  make(chan struct{}, 1),
		tap:      audio.NewCallTap(),
	}
	c.s = CallSession{
		CreationTime: now,
		IsCaller:     isCaller,
		SipCallID:    id,
		SipStatus:    SipStatusInitial,
		Type:         "CallSession",
	}
	return c
}

// snapshot returns a copy of the call's session.
func (c *call) snapshot() *CallSession {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.s
	return &s
}

// update changes the state with f and emits the named events with the new
// snapshot, all under mu. payload may be nil.
func (c *call) update(f func(s *CallSession), names []string, payload EventPayload) {
	others := false
	for _, n := range names {
		if n == EventCallIncoming {
			others = c.p.otherEstablished(c.id) // before c.mu: it locks calls
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if f != nil {
		f(&c.s)
	}
	for _, n := range names {
		s := c.s
		c.p.emit(Event{Name: n, Session: &s, Payload: payload})
		if sound := soundFor(n, &s, others); sound != "" {
			c.p.emit(Event{Name: sound, Session: &s})
		}
	}
}

func (c *call) emit(name string, payload EventPayload) {
	c.update(nil, []string{name}, payload)
}

func (c *call) dialog() dialog {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.uac != nil {
		return c.uac
	}
	if c.uas != nil {
		return c.uas
	}
	return nil
}

// remoteTarget is where in-dialog requests go: the peer's Contact
// (RFC 3261 §12.2.1.1).
func (c *call) remoteTarget() sip.Uri {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.uac != nil && c.uac.InviteResponse != nil {
		if ct := c.uac.InviteResponse.Contact(); ct != nil {
			return ct.Address
		}
		return c.uac.InviteRequest.Recipient
	}
	if c.uas != nil {
		if ct := c.uas.InviteRequest.Contact(); ct != nil {
			return ct.Address
		}
	}
	return sip.Uri{}
}

// newMedia opens the call's audio and a media session on path, under the
// phone's SRTP policy.
func (c *call) newMedia(path media.Path) error {
	return c.newMediaProfile(offerProfile{path: path, srtp: c.p.srtpPolicy()})
}

// newMediaProfile opens the call's audio and a media session for o. The
// session's events carry its generation: after a profile fallback replaced
// it (closeMedia, then a new one), late events of the old one are dropped,
// so the user never sees an error or a connection of an abandoned offer.
func (c *call) newMediaProfile(o offerProfile) error {
	path := o.path
	factory := c.p.opts.MediaFactory
	if path == media.PathClassic {
		factory = c.p.opts.ClassicMediaFactory
		if factory == nil {
			return fmt.Errorf("%w: this peer needs one transport per media line (no BUNDLE, plain RTP or SDES), which this build does not have", media.ErrBadSDP)
		}
	}
	in, err := c.p.opts.NewAudioIn()
	if err != nil {
		return fmt.Errorf("audio input: %w", err)
	}
	out, err := c.p.opts.NewAudioOut()
	if err != nil {
		in.Close()
		return fmt.Errorf("audio output: %w", err)
	}
	in, out = c.tap.Source(in), c.tap.Sink(out)
	vin := share.NewReceiver(share.ReceiverOptions{Codecs: c.p.codecs})
	ms, err := factory(media.Options{
		AudioIn:         in,
		AudioOut:        out,
		VideoOut:        vin,
		STUNServers:     c.p.opts.STUNServers,
		IncludeLoopback: true,
		LoopbackOnly:    c.p.loopbackOnly(),
		SRTP:            o.srtp,
		TURNServers:     c.p.opts.TURNServers,
		RelayOnly:       c.p.opts.RelayOnly,

		ICEDisconnectedTimeout: c.p.opts.ICEDisconnectedTimeout,
		ICEFailedTimeout:       c.p.opts.ICEFailedTimeout,
	}, c.mediaEvents(c.mediaGen.Load()))
	if err != nil {
		in.Close()
		out.Close()
		return fmt.Errorf("media session: %w", err)
	}
	c.mu.Lock()
	c.media, c.audioIn, c.audioOut, c.videoIn = ms, in, out, vin
	c.mu.Unlock()
	return nil
}

// mediaEvents are the callbacks of the session of generation gen: each
// one is dropped once a newer session replaced it.
func (c *call) mediaEvents(gen uint64) media.Events {
	live := func() bool { return c.mediaGen.Load() == gen }
	return media.Events{
		OnConnected: func() {
			if live() {
				c.onMediaConnected()
			}
		},
		OnFailed: func(err error) {
			if live() {
				c.onMediaFailed(err)
			}
		},
		OnTrack: func(t media.TrackInfo) {
			if live() {
				c.onTrack(t)
			}
		},
		OnDTMF: func(tone string) {
			if live() {
				c.onDTMF(tone, "rfc4733")
			}
		},
		OnICEState: func(state string) {
			if live() {
				c.onICEState(state)
			}
		},
	}
}

// closeMedia closes the call's media session and audio without ending the
// call, before a profile fallback opens a new one. Events of the closed
// session are dropped from now on.
func (c *call) closeMedia() {
	c.mediaGen.Add(1)
	c.mu.Lock()
	m, in, out, vin := c.media, c.audioIn, c.audioOut, c.videoIn
	c.media, c.audioIn, c.audioOut, c.videoIn = nil, nil, nil, nil
	c.mediaReady = false
	c.mu.Unlock()
	if m != nil {
		_ = m.Close()
	}
	if vin != nil {
		vin.Close()
	}
	if in != nil {
		_ = in.Close()
	}
	if out != nil {
		_ = out.Close()
	}
}

func (c *call) mediaSession() media.Session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.media
}

// onMediaConnected reports the transport up once. ICE and DTLS often finish
// before the dialog is confirmed (our ACK, or the peer's, is still on its
// way), so the event waits for onCallAccepted: a front end always sees a
// call accepted before its media is connected.
func (c *call) onMediaConnected() {
	c.mu.Lock()
	c.mediaReady = true
	ready := c.s.SipStatus == SipStatusEstablished
	c.mu.Unlock()
	if ready {
		c.emitMediaConnectedOnce()
	}
}

// afterAccepted emits a media connection that happened before the accept.
func (c *call) afterAccepted() {
	c.goCall(c.watchMedia)
	c.startSessionTimer()
	c.mu.Lock()
	ready := c.mediaReady
	c.mu.Unlock()
	if ready {
		c.emitMediaConnectedOnce()
	}
}

func (c *call) emitMediaConnectedOnce() {
	if c.mediaUp.CompareAndSwap(false, true) {
		c.emit(EventMediaConnected, nil)
	}
}

func (c *call) onMediaFailed(err error) {
	c.log.Warn("media failed", "error", err)
	c.emit(EventCallError, CallStatusPayload{Error: err.Error()})
}

func (c *call) onTrack(t media.TrackInfo) {
	payload := TrackPayload{Kind: t.Kind, Codec: t.Codec, TrackID: t.ID}
	c.emit(EventTrack, payload)
	if t.Kind == "video" {
		c.emit(EventVideoStream, payload)
	} else {
		c.emit(EventAudioStream, payload)
	}
}

func (c *call) stats() media.Stats {
	var st media.Stats
	if m := c.mediaSession(); m != nil {
		st = m.Stats()
	}
	c.videoStats(&st)
	return st
}

func (c *call) setMuted(muted bool) error {
	m := c.mediaSession()
	s := c.snapshot()
	if m == nil || s.IsTerminated() {
		return fmt.Errorf("%w: mute needs media", ErrInvalidState)
	}
	// In a conference the tap mutes the microphone alone; the media
	// session keeps sending the other parties' voices.
	c.tap.SetMicMuted(muted)
	if !c.p.conf.has(c) {
		m.SetMuted(muted)
	}
	name := EventCallUnmuted
	if muted {
		name = EventCallMuted
	}
	c.update(func(s *CallSession) { s.Muted = muted }, []string{name}, nil)
	return nil
}

// terminate ends the call once: state Terminated, events, media closed,
// removed from the phone. first are events sent before onCallEnded
// (onCallEnding, onCallRejected, onCallCanceled...).
func (c *call) terminate(first []string, payload EventPayload) {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return
	}
	c.ended = true
	m, in, out, vin := c.media, c.audioIn, c.audioOut, c.videoIn
	sharingOut := c.sharing
	sharing := sharingOut != nil
	c.sharing, c.resumeShare = nil, nil
	recording := c.rec != nil
	c.mu.Unlock()
	c.p.leaveConference(c)
	if recording {
		_ = c.stopRecording() // logged and reported in onRecordingStopped
	}
	if m != nil {
		// Closing the media stops any screen capture first.
		_ = m.Close()
	}
	if sharing {
		// The media's close stopped this call's leg; a conference's other
		// legs keep the capture.
		sharingOut.Stop()
		c.p.shares.detach(sharingOut.Sender(), c.id)
	}
	if vin != nil {
		vin.Close()
	}
	if sharing {
		c.update(func(s *CallSession) { s.Screensharing = false }, []string{EventScreenShareEnded}, nil)
	}
	if in != nil {
		_ = in.Close()
	}
	if out != nil {
		_ = out.Close()
	}
	now := time.Now()
	c.update(func(s *CallSession) {
		s.EndTime = &now
		s.Ringing = false
		s.SipStatus = SipStatusTerminated
	}, append(first, EventCallEnded), payload)
	c.p.removeCall(c.id)
	close(c.done)
	c.owner.close()
}

// waitGoroutines waits, up to ctx, for the goroutines of an ended call.
func (c *call) waitGoroutines(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		c.owner.wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: the call's goroutines did not stop: %w", ErrRequestFailed, ctx.Err())
	}
}

// hangup ends the call whatever its state.
func (c *call) hangup(ctx context.Context) error {
	s := c.snapshot()
	ending := false // onCallEnding sent
	switch {
	case s.IsTerminated():
		return nil
	case !s.IsCaller && !s.Answered:
		return c.reject(ctx, sip.StatusBusyHere)
	case s.IsCaller && !s.Answered:
		c.update(func(s *CallSession) { s.SipStatus = SipStatusTerminating }, []string{EventCallEnding}, nil)
		ending = true
		if c.requestCancel() { // the dialer goroutine ends the call on the INVITE's final response
			select {
			case <-c.done:
			case <-ctx.Done():
				return ctx.Err()
			}
			return nil
		}
		// Answered a moment ago: end the dialog with BYE below.
	}
	c.opMu.Lock()
	defer c.opMu.Unlock()
	if !ending {
		c.update(func(s *CallSession) { s.SipStatus = SipStatusTerminating }, []string{EventCallEnding}, nil)
	}
	var err error
	if d := c.dialog(); d != nil {
		err = d.Bye(ctx)
	}
	c.terminate(nil, nil)
	if err != nil {
		return fmt.Errorf("%w: BYE: %w", ErrRequestFailed, err)
	}
	return nil
}
