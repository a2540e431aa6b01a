package callengine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/parlo-voip/parlo/callengine/presence"
)

// SubscriptionError is a notifier's final refusal of a SUBSCRIBE.
type SubscriptionError struct {
	StatusCode int
	Reason     string
}

func (e *SubscriptionError) Error() string {
	return fmt.Sprintf("subscription refused: %d %s", e.StatusCode, e.Reason)
}

func (e *SubscriptionError) Unwrap() error { return ErrRequestFailed }

// Retry delays of a subscription the notifier refused or could not be
// reached for: from retryFirst doubling to retryLast.
const (
	retryFirst = 5 * time.Second
	retryLast  = 5 * time.Minute
	// maxMinExpiresRetries bounds the 423 loop (RFC 6665 §4.1.2.1): a
	// notifier asking more each time must not keep us sending.
	maxMinExpiresRetries = 3
)

// eventSubscription is one subscription we hold (RFC 6665 §4.1): the
// SUBSCRIBE dialog, its refreshes, and the state the NOTIFYs carry. Its
// goroutine (run) is owned by it and awaited by close.
type eventSubscription struct {
	p      *Phone
	pkg    EventPackage
	target string
	uri    sip.Uri
	log    *slog.Logger

	kick      chan struct{} // subscribe again now (a terminated NOTIFY)
	ctx       context.Context
	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
	// refreshes and raised count refreshes accepted and 423s obeyed.
	refreshes, raised atomic.Int32
	// minExpires is the notifier's last Min-Expires: later SUBSCRIBEs ask
	// at least that (RFC 6665 §4.1.2.1).
	minExpires atomic.Int64

	mu           sync.Mutex
	callID       string
	localTag     string
	remoteTag    string
	remoteTarget *sip.Uri
	routes       []sip.Uri
	cseq         uint32
	remoteCSeq   uint32
	active       bool
	retryAfter   time.Duration
	// The package's state, from the NOTIFY bodies.
	dialogs     map[string]presence.Dialog
	dialogOrder []string
	version     uint64
	haveVersion bool
	line        presence.LineState
	pres        presence.Presence
	mwi         presence.MessageSummary
}

func newEventSubscription(p *Phone, pkg EventPackage, target string, uri sip.Uri) *eventSubscription {
	ctx, cancel := context.WithCancel(p.ctx)
	s := &eventSubscription{
		p: p, pkg: pkg, target: target, uri: uri,
		log:      p.log.With("package", string(pkg), "target", uri.String()),
		kick:     make(chan struct{}, 1),
		ctx:      ctx,
		cancel:   cancel,
		done:     make(chan struct{}),
		callID:   sip.GenerateTagN(24),
		localTag: sip.GenerateTagN(16),
		line:     presence.LineUnknown,
		pres:     presence.Presence{Status: presence.StatusUnknown},
	}
	return s
}

func (s *eventSubscription) start() { go s.run() }

// subscribeExpires is the lifetime we ask for.
func (s *eventSubscription) subscribeExpires() time.Duration {
	if s.p.opts.SubscribeExpires > 0 {
		return s.p.opts.SubscribeExpires
	}
	return defaultSubscribeExpires
}

// run subscribes, refreshes before expiry, and starts a new subscription
// when the old one is gone (481 to a refresh, RFC 6665 §4.1.2.2; a NOTIFY
// with Subscription-State terminated, §4.1.3).
func (s *eventSubscription) run() {
	defer close(s.done)
	retry := retryFirst
	for s.ctx.Err() == nil {
		granted, err := s.subscribe(s.ctx, false)
		if err != nil {
			if s.ctx.Err() != nil {
				return
			}
			s.failed(err)
			var se *SubscriptionError
			if errors.As(err, &se) && (se.StatusCode == 489 || se.StatusCode == sip.StatusMethodNotAllowed || se.StatusCode == sip.StatusNotImplemented) {
				// The server has no such package (RFC 6665 §8.3.2): asking
				// again would only be refused again.
				<-s.ctx.Done()
				return
			}
			if !s.wait(retry) {
				return
			}
			retry = min(retry*2, retryLast)
			continue
		}
		retry = retryFirst
		if !s.refreshLoop(granted) {
			return
		}
		s.newDialog()
	}
}

// refreshLoop keeps the subscription's dialog alive; it returns false when
// the subscription is closed and true when a new one must be made.
func (s *eventSubscription) refreshLoop(granted time.Duration) bool {
	for {
		wait := granted * 9 / 10
		if granted-wait > 30*time.Second {
			wait = granted - 30*time.Second
		}
		t := time.NewTimer(wait)
		select {
		case <-s.ctx.Done():
			t.Stop()
			return false
		case <-s.kick:
			t.Stop()
			s.mu.Lock()
			delay := s.retryAfter
			s.mu.Unlock()
			return delay == 0 || s.wait(delay)
		case <-t.C:
		}
		g, err := s.subscribe(s.ctx, true)
		if s.ctx.Err() != nil {
			return false
		}
		var se *SubscriptionError
		switch {
		case err == nil:
			granted = g
			s.refreshes.Add(1)
		case errors.As(err, &se) && (se.StatusCode == sip.StatusCallTransactionDoesNotExists || se.StatusCode == sip.StatusRequestTimeout):
			// §4.1.2.2: the notifier forgot the subscription; make a new one.
			s.log.Info("subscription gone, subscribing again", "status", se.StatusCode)
			return true
		default:
			s.failed(err)
			return s.wait(retryFirst)
		}
	}
}

// wait sleeps d unless closed (false) or kicked.
func (s *eventSubscription) wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-s.ctx.Done():
		return false
	case <-t.C:
	case <-s.kick:
	}
	return true
}

// newDialog forgets the old dialog: a new subscription has a new Call-ID
// and From tag (§4.1.2.4), and NOTIFYs of the old one then match nothing.
func (s *eventSubscription) newDialog() {
	w := &s.p.watches
	w.mu.Lock()
	s.mu.Lock()
	delete(w.byCallID, s.callID)
	s.callID = sip.GenerateTagN(24)
	s.localTag = sip.GenerateTagN(16)
	s.remoteTag, s.remoteTarget, s.routes = "", nil, nil
	s.cseq, s.remoteCSeq, s.retryAfter = 0, 0, 0
	s.active, s.haveVersion = false, false
	if !w.closed {
		w.byCallID[s.callID] = s
	}
	s.mu.Unlock()
	w.mu.Unlock()
}

// close stops the goroutine and ends the subscription at the notifier
// (Expires: 0, §4.1.2.3). Idempotent.
func (s *eventSubscription) close(ctx context.Context) {
	s.closeOnce.Do(func() {
		s.cancel()
		<-s.done
		s.mu.Lock()
		established := s.remoteTag != ""
		s.mu.Unlock()
		if !established {
			return
		}
		req := s.newRequest(true, 0)
		if res, err := s.p.cli.Do(ctx, req); err != nil {
			s.log.Debug("un-SUBSCRIBE failed", "error", err)
		} else if !res.IsSuccess() {
			s.log.Debug("un-SUBSCRIBE refused", "status", res.StatusCode)
		}
	})
}

// newRequest builds a SUBSCRIBE: out of dialog to the watched URI through
// the registrar, or inside the dialog (refresh) to the notifier's Contact
// along the route set (RFC 3261 §12.2.1.1).
func (s *eventSubscription) newRequest(inDialog bool, expires time.Duration) *sip.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cseq++
	ruri := s.uri
	if inDialog && s.remoteTarget != nil {
		ruri = *s.remoteTarget
	}
	req := sip.NewRequest(sip.SUBSCRIBE, ruri)
	if inDialog {
		for _, r := range s.routes {
			req.AppendHeader(&sip.RouteHeader{Address: r})
		}
	}
	from := sip.FromHeader{Address: s.p.fromURI(), DisplayName: displayName(s.p.opts.DisplayName), Params: sip.NewParams()}
	from.Params.Add("tag", s.localTag)
	to := sip.ToHeader{Address: s.uri, Params: sip.NewParams()}
	if inDialog && s.remoteTag != "" {
		to.Params.Add("tag", s.remoteTag)
	}
	callID := sip.CallIDHeader(s.callID)
	req.AppendHeader(&from)
	req.AppendHeader(&to)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: s.cseq, MethodName: sip.SUBSCRIBE})
	req.AppendHeader(s.p.subscriptionContact())
	req.AppendHeader(sip.NewHeader("Event", string(s.pkg)))
	req.AppendHeader(sip.NewHeader("Accept", s.pkg.contentType()))
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(expires/time.Second))))
	if inDialog && len(s.routes) > 0 {
		s.p.mu.Lock()
		reg := s.p.reg
		s.p.mu.Unlock()
		if reg != nil {
			req.SetTransport(strings.ToUpper(reg.target.transport))
		}
	} else {
		s.p.route(req, s.uri)
	}
	return req
}

// subscriptionContact is the Contact of our SUBSCRIBEs: the registered one,
// with its token, so the notifier's NOTIFYs pass trustOrigin.
func (p *Phone) subscriptionContact() *sip.ContactHeader {
	p.mu.Lock()
	reg := p.reg
	p.mu.Unlock()
	if reg != nil {
		c := reg.contact
		return c.Clone()
	}
	return p.dialogUA.ContactHDR.Clone()
}

// subscribe sends one SUBSCRIBE (answering a challenge, and a 423 with the
// Min-Expires asked for, §4.1.2.1) and returns the granted lifetime.
func (s *eventSubscription) subscribe(ctx context.Context, refresh bool) (time.Duration, error) {
	expires := max(s.subscribeExpires(), time.Duration(s.minExpires.Load()))
	for attempt := 0; ; attempt++ {
		req := s.newRequest(refresh, expires)
		rctx, cancel := context.WithTimeout(ctx, 32*time.Second)
		res, err := s.p.cli.Do(rctx, req)
		if err == nil && (res.StatusCode == sip.StatusUnauthorized || res.StatusCode == sip.StatusProxyAuthRequired) {
			if cerr := s.p.challengeAllowed(req, res); cerr != nil {
				cancel()
				return 0, fmt.Errorf("%w: SUBSCRIBE: %w", ErrRequestFailed, cerr)
			}
			res, err = s.p.cli.DoDigestAuth(rctx, req, res, digestFor(s.p.account()))
			s.mu.Lock()
			s.cseq = max(s.cseq, req.CSeq().SeqNo)
			s.mu.Unlock()
		}
		cancel()
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, sip.ErrTransactionTimeout) {
				return 0, &SubscriptionError{StatusCode: sip.StatusRequestTimeout, Reason: "no answer"}
			}
			return 0, fmt.Errorf("%w: SUBSCRIBE to %s: %w", ErrRequestFailed, s.uri.String(), err)
		}
		if res.StatusCode == sip.StatusIntervalToBrief && attempt < maxMinExpiresRetries {
			if floor, ok := headerSeconds(res, "Min-Expires"); ok && floor > expires {
				expires = floor
				s.minExpires.Store(int64(floor))
				s.raised.Add(1)
				continue
			}
		}
		if !res.IsSuccess() {
			return 0, &SubscriptionError{StatusCode: res.StatusCode, Reason: headerText(res.Reason)}
		}
		s.established(res)
		granted := expires
		if g, ok := headerSeconds(res, "Expires"); ok && g > 0 && g <= expires {
			granted = g
		}
		return max(granted, 2*time.Second), nil
	}
}

// headerSeconds reads a delta-seconds header.
func headerSeconds(res *sip.Response, name string) (time.Duration, bool) {
	h := res.GetHeader(name)
	if h == nil {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(h.Value()))
	if err != nil || n < 0 || n > 7*24*3600 {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

// established learns the dialog from a 2xx (RFC 3261 §12.1.2: route set
// from Record-Route reversed, remote target from Contact), unless a NOTIFY
// already set it up.
func (s *eventSubscription) established(res *sip.Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.remoteTag != "" {
		return
	}
	s.remoteTag, _ = res.To().Params.Get("tag")
	if c := res.Contact(); c != nil {
		u := c.Address
		s.remoteTarget = &u
	}
	rr := recordRoutes(res.GetHeaders("Record-Route"))
	for i := len(rr) - 1; i >= 0; i-- {
		s.routes = append(s.routes, rr[i])
	}
}

// recordRoutes reads Record-Route headers, in order.
func recordRoutes(hs []sip.Header) []sip.Uri {
	var out []sip.Uri
	for _, h := range hs {
		if rr, ok := h.(*sip.RecordRouteHeader); ok {
			out = append(out, rr.Address)
			continue
		}
		for _, v := range strings.Split(h.Value(), ",") {
			var u sip.Uri
			v = strings.TrimSpace(v)
			if i := strings.IndexByte(v, '<'); i >= 0 {
				if j := strings.IndexByte(v, '>'); j > i {
					v = v[i+1 : j]
				}
			}
			if err := sip.ParseUri(v, &u); err == nil {
				out = append(out, u)
			}
		}
	}
	return out
}

// acceptsRemoteTag: the notifier's tag is learnt from the first NOTIFY or
// the 2xx; afterwards only that tag matches (a forked SUBSCRIBE's other
// dialogs are not followed).
func (s *eventSubscription) acceptsRemoteTag(tag string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return tag != "" && (s.remoteTag == "" || s.remoteTag == tag)
}

// subscriptionState is a parsed Subscription-State header (RFC 6665 §8.2.3).
type subscriptionState struct {
	state      string
	reason     string
	expires    time.Duration
	retryAfter time.Duration
}

func parseSubscriptionState(v string) (subscriptionState, bool) {
	parts := strings.Split(v, ";")
	st := subscriptionState{state: strings.ToLower(strings.TrimSpace(parts[0]))}
	switch st.state {
	case "active", "pending", "terminated":
	default:
		return st, false
	}
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(p, "=")
		k, val = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(val)
		switch k {
		case "reason":
			if isToken(val) {
				st.reason = strings.ToLower(val)
			}
		case "expires", "retry-after":
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 || n > 7*24*3600 {
				continue
			}
			if k == "expires" {
				st.expires = time.Duration(n) * time.Second
			} else {
				st.retryAfter = time.Duration(n) * time.Second
			}
		}
	}
	return st, true
}

// onNotify serves a NOTIFY the registry matched to this subscription
// (RFC 6665 §4.1.3): check order and package, learn the dialog if this is
// the first one, answer, then read the state.
func (s *eventSubscription) onNotify(req *sip.Request, tx sip.ServerTransaction) {
	ev, _, _ := strings.Cut(headerValue(req, "Event"), ";")
	if !strings.EqualFold(strings.TrimSpace(ev), string(s.pkg)) {
		// §8.3.2 / §4.1.3: not the package we subscribed to.
		respond(tx, req, 489, "Bad Event", sip.NewHeader("Allow-Events", string(s.pkg)))
		return
	}
	st, ok := parseSubscriptionState(headerValue(req, "Subscription-State"))
	if !ok {
		// §4.1.3: a NOTIFY without a valid Subscription-State is malformed.
		respond(tx, req, sip.StatusBadRequest, "Bad Request", warning("missing or bad Subscription-State"))
		return
	}
	seq := req.CSeq().SeqNo
	s.mu.Lock()
	if s.remoteCSeq != 0 && seq < s.remoteCSeq {
		s.mu.Unlock()
		// RFC 3261 §12.2.2: out of order.
		respond(tx, req, sip.StatusInternalServerError, "Server Internal Error", warning("CSeq out of order"))
		return
	}
	s.remoteCSeq = seq
	if s.remoteTag == "" {
		// §4.1.2.4: the NOTIFY may come before the 2xx; it sets up the
		// dialog as a request does for its UAS (RFC 3261 §12.1.1: route
		// set from Record-Route in order, remote target from Contact).
		s.remoteTag, _ = req.From().Params.Get("tag")
		s.routes = recordRoutes(req.GetHeaders("Record-Route"))
	}
	if c := req.Contact(); c != nil {
		// §4.1.3: a NOTIFY is a target refresh request.
		u := c.Address
		s.remoteTarget = &u
	}
	wasActive := s.active
	s.active = st.state == "active"
	changed := wasActive != s.active
	s.mu.Unlock()
	respond(tx, req, sip.StatusOK, "OK")

	if changed || st.state == "terminated" {
		s.p.emit(Event{Name: EventSubscriptionStateChanged, Payload: SubscriptionStatePayload{
			Target: s.target, Package: s.pkg, State: st.state, Reason: st.reason,
		}})
	}
	if body := req.Body(); len(body) > 0 {
		s.readBody(req, body)
	}
	if st.state == "terminated" {
		s.terminated(st)
	}
}

// terminated handles a NOTIFY ending the subscription (§4.1.3 and the
// reasons of §4.2.2): subscribe again at once (deactivated, timeout), after
// retry-after (probation, giveup), or not until later (rejected,
// noresource: the lamp says unregistered).
func (s *eventSubscription) terminated(st subscriptionState) {
	delay := time.Duration(0)
	switch st.reason {
	case "deactivated", "timeout", "":
	case "probation", "giveup":
		delay = max(st.retryAfter, retryFirst)
	default:
		delay = retryLast
		if s.pkg == PackageDialog {
			s.setLine(presence.LineUnregistered, nil)
		}
	}
	s.mu.Lock()
	s.retryAfter = delay
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// readBody reads a NOTIFY's document; one that does not parse changes
// nothing (the NOTIFY was already answered: the notifier is not at fault
// for our reading, and a 4xx would end the subscription, §4.1.3).
func (s *eventSubscription) readBody(req *sip.Request, body []byte) {
	ct := ""
	if h := req.ContentType(); h != nil {
		ct, _, _ = strings.Cut(strings.ToLower(h.Value()), ";")
		ct = strings.TrimSpace(ct)
	}
	if ct != s.pkg.contentType() {
		s.log.Debug("NOTIFY body of another type ignored", "content_type", headerText(ct))
		return
	}
	switch s.pkg {
	case PackageDialog:
		di, err := presence.ParseDialogInfo(body)
		if err != nil {
			s.log.Debug("bad dialog-info", "error", err)
			return
		}
		s.applyDialogInfo(di)
	case PackagePresence:
		pr, err := presence.ParsePIDF(body)
		if err != nil {
			s.log.Debug("bad PIDF", "error", err)
			return
		}
		s.mu.Lock()
		changed := pr != s.pres
		s.pres = pr
		s.mu.Unlock()
		if changed {
			s.p.emit(Event{Name: EventPresenceChanged, Payload: PresencePayload{
				Target: s.target, URI: s.uri.String(), Status: pr.Status, Note: pr.Note,
			}})
		}
	case PackageMessageSummary:
		ms, err := presence.ParseMessageSummary(body)
		if err != nil {
			s.log.Debug("bad message-summary", "error", err)
			return
		}
		s.mu.Lock()
		changed := ms != s.mwi
		s.mwi = ms
		s.mu.Unlock()
		if changed {
			s.p.emit(Event{Name: EventVoicemailChanged, Payload: VoicemailPayload{
				Target: s.target, Account: ms.Account, Waiting: ms.Waiting,
				New: ms.Voice.New, Old: ms.Voice.Old, UrgentNew: ms.Voice.UrgentNew, UrgentOld: ms.Voice.UrgentOld,
			}})
		}
	}
}

// applyDialogInfo merges a document into the dialogs we know (RFC 4235
// §4.1.2: a full document replaces them, a partial one updates the dialogs
// it names; an older version is ignored) and updates the lamp.
func (s *eventSubscription) applyDialogInfo(di presence.DialogInfo) {
	s.mu.Lock()
	if s.haveVersion && di.Version <= s.version && !(di.Full && di.Version == 0) {
		s.mu.Unlock()
		return
	}
	s.version, s.haveVersion = di.Version, true
	if di.Full || s.dialogs == nil {
		s.dialogs = map[string]presence.Dialog{}
		s.dialogOrder = nil
	}
	for _, d := range di.Dialogs {
		if _, ok := s.dialogs[d.ID]; !ok {
			if len(s.dialogOrder) >= 256 {
				continue
			}
			s.dialogOrder = append(s.dialogOrder, d.ID)
		}
		s.dialogs[d.ID] = d
	}
	merged := presence.DialogInfo{Entity: di.Entity, Version: di.Version, Full: true}
	var keep []string
	for _, id := range s.dialogOrder {
		d := s.dialogs[id]
		if d.State == "terminated" {
			delete(s.dialogs, id)
			continue
		}
		keep = append(keep, id)
		merged.Dialogs = append(merged.Dialogs, d)
	}
	s.dialogOrder = keep
	s.mu.Unlock()
	var ringing *presence.Dialog
	if d, ok := merged.Ringing(); ok {
		ringing = &d
	}
	s.setLine(merged.State(), ringing)
}

// setLine updates the lamp and reports a change.
func (s *eventSubscription) setLine(line presence.LineState, ringing *presence.Dialog) {
	s.mu.Lock()
	if s.line == line {
		s.mu.Unlock()
		return
	}
	s.line = line
	s.mu.Unlock()
	payload := BLFPayload{Target: s.target, URI: s.uri.String(), State: line}
	if ringing != nil {
		payload.Remote = ringing.RemoteIdentity
		payload.Pickup = ringing.CallID != "" && ringing.LocalTag != "" && ringing.RemoteTag != ""
	}
	s.p.emit(Event{Name: EventBLFStateChanged, Payload: payload})
}

// failed reports a subscription the notifier refused or did not answer.
func (s *eventSubscription) failed(err error) {
	s.log.Warn("subscription failed", "error", err)
	payload := SubscriptionStatePayload{Target: s.target, Package: s.pkg, State: "failed", Reason: err.Error()}
	var se *SubscriptionError
	if errors.As(err, &se) {
		payload.Status = se.StatusCode
		if s.pkg == PackageDialog && (se.StatusCode == sip.StatusNotFound || se.StatusCode == sip.StatusTemporarilyUnavailable) {
			s.setLine(presence.LineUnregistered, nil)
		}
	}
	s.mu.Lock()
	s.active = false
	s.mu.Unlock()
	s.p.emit(Event{Name: EventSubscriptionStateChanged, Payload: payload})
}

// state is the subscription's snapshot for Watches.
func (s *eventSubscription) state() WatchState {
	s.mu.Lock()
	defer s.mu.Unlock()
	ws := WatchState{Target: s.target, Package: s.pkg, Active: s.active, Line: s.line, Presence: s.pres, Voicemail: s.mwi}
	if s.pkg == PackageDialog {
		di := presence.DialogInfo{Full: true}
		for _, id := range s.dialogOrder {
			di.Dialogs = append(di.Dialogs, s.dialogs[id])
		}
		if d, ok := di.Ringing(); ok {
			ws.Ringing = &d
		}
	}
	return ws
}
