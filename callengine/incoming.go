package callengine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/pion/sdp/v3"

	"github.com/parlo-voip/parlo/callengine/media"
)

// onInvite handles every INVITE: a new call, or a re-INVITE in a dialog
// (To tag present, RFC 3261 §12.2.2).
func (p *Phone) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if to := req.To(); to != nil {
		if _, ok := to.Params.Get("tag"); ok {
			p.onReinvite(req, tx)
			return
		}
	}
	if p.ctx.Err() != nil {
		respond(tx, req, sip.StatusServiceUnavailable, "Shutting Down")
		return
	}
	// An empty body is a late offer (RFC 3261 §13.2.1): we offer in the
	// 200 OK, see lateoffer.go.
	body := req.Body()
	if ct := req.ContentType(); ct != nil && !strings.EqualFold(strings.TrimSpace(ct.Value()), "application/sdp") {
		respond(tx, req, sip.StatusUnsupportedMediaType, "Unsupported Media Type", sip.NewHeader("Accept", "application/sdp"))
		return
	}
	// Refuse before ringing what we could not answer (RFC 3261 §13.3.1.1:
	// 488 for an unacceptable session description): the whole offer is
	// checked now, so nothing rings that accepting would then refuse.
	if _, err := media.CheckOffer(body, media.OfferCheck{SRTP: p.srtpPolicy(), Classic: p.opts.ClassicMediaFactory != nil}); err != nil && len(body) > 0 {
		respond(tx, req, sip.StatusNotAcceptableHere, "Not Acceptable Here", warning(err.Error()))
		return
	}
	if p.refuseShortSession(req, tx) {
		return
	}
	var parsed sdp.SessionDescription
	if err := parsed.UnmarshalString(string(body)); err != nil && len(body) > 0 {
		respond(tx, req, sip.StatusNotAcceptableHere, "Not Acceptable Here", warning("malformed SDP: "+err.Error()))
		return
	}
	// Bounded ringing: a stranger's INVITE flood must not ring the user 300
	// times. 486 with Retry-After (RFC 3261 §21.4.24, §20.33).
	if !p.tryRing() {
		respond(tx, req, sip.StatusBusyHere, "Busy Here", warning("too many calls ringing"), sip.NewHeader("Retry-After", strconv.Itoa(retryAfterSeconds)))
		return
	}
	defer p.ringing.Add(-1)
	dss, err := p.dialogUA.ReadInvite(req, tx)
	if err != nil {
		respond(tx, req, sip.StatusBadRequest, "Bad Request", warning(err.Error()))
		return
	}
	c := newCall(p, req.CallID().Value(), false)
	c.uas = dss
	c.inviteTx = tx
	c.offer = body
	if from := req.From(); from != nil {
		c.s.Number = from.Address.User
		if c.s.Number == "" {
			c.s.Number = from.Address.Host
		}
		c.s.DisplayName = from.DisplayName
		if c.s.DisplayName == "" {
			c.s.DisplayName = c.s.Number
		}
		n := c.s.Number
		c.s.CallerNumber = &n
	}
	if h := req.GetHeader("X-Wazo-Call-ID"); h != nil {
		v := h.Value()
		c.s.CallID = &v
	}
	if h := req.GetHeader("Answer-Mode"); h != nil && strings.EqualFold(strings.TrimSpace(h.Value()), "Auto") {
		c.s.AutoAnswer = true
	}
	c.s.Ringing = true
	c.s.SipStatus = SipStatusEstablishing
	wantsVideo := false
	for _, m := range parsed.MediaDescriptions {
		if m.MediaName.Media == "video" && m.MediaName.Port.Value != 0 {
			wantsVideo = true
		}
	}
	if p.dnd.Load() {
		p.addCall(c)
		err := c.respondFinal(sip.StatusBusyHere, "Busy Here", warning("do not disturb"))
		if err != nil {
			c.log.Warn("486 failed", "error", err)
		}
		c.terminate([]string{EventCallRejected}, CallStatusPayload{Status: sip.StatusBusyHere, Reason: "do not disturb"})
		return
	}
	// RFC 3891: an INVITE with Replaces naming one of our calls takes its
	// place at once (attended transfer), without ringing.
	var replaced *call
	if rv := headerValue(req, "Replaces"); rv != "" {
		rc, ok := p.replacedCall(rv)
		if !ok {
			// RFC 3891 §3: 481 when no dialog matches.
			p.addCall(c)
			_ = c.respondFinal(sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
			c.terminate([]string{EventCallRejected}, CallStatusPayload{Status: sip.StatusCallTransactionDoesNotExists, Reason: "Replaces names no call"})
			return
		}
		replaced = rc
	}
	if replaced == nil {
		if err := dss.Respond(sip.StatusRinging, "Ringing", nil); err != nil {
			c.log.Warn("180 failed", "error", err)
		}
	} else {
		c.s.Ringing = false
	}
	p.addCall(c)
	c.emit(EventCallIncoming, CallIncomingPayload{WantsVideo: wantsVideo})
	if replaced != nil {
		c.goCall(func() {
			// No holdOthers: the call it replaces is about to end.
			if err := c.accept(p.ctx); err != nil {
				c.log.Warn("accepting the replacing call failed", "error", err)
				return
			}
			ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
			defer cancel()
			_ = replaced.hangup(ctx)
		})
	} else if p.autoAnswer.Load() || (c.s.AutoAnswer && p.answerMode.Load()) {
		c.goCall(func() {
			if err := p.Accept(p.ctx, c.id); err != nil {
				c.log.Warn("auto-answer failed", "error", err)
			}
		})
	}
	c.serveInvite(tx)
}

// respondFinal answers the INVITE with a non-2xx final response without
// waiting for its ACK: the INVITE server transaction retransmits it and
// absorbs the ACK (RFC 3261 §17.2.1), while sipgo's dialog Respond would
// block until the ACK or Timer H (32 s). A caller that never ACKs (a
// scanner) must not keep a refused call in the call table that long.
func (c *call) respondFinal(code int, reason string, headers ...sip.Header) error {
	res := sip.NewResponseFromRequest(c.uas.InviteRequest, code, reason, nil)
	for _, h := range headers {
		res.AppendHeader(h)
	}
	return c.inviteTx.Respond(res)
}

// tryRing takes one of the MaxRinging places of incoming calls waiting for
// an answer; the INVITE handler gives it back when it returns.
func (p *Phone) tryRing() bool {
	limit := int32(p.opts.MaxRinging)
	if limit <= 0 {
		limit = defaultMaxRinging
	}
	for {
		n := p.ringing.Load()
		if n >= limit {
			return false
		}
		if p.ringing.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (p *Phone) ringTimeout() time.Duration {
	if p.opts.RingTimeout > 0 {
		return p.opts.RingTimeout
	}
	return defaultRingTimeout
}

// serveInvite blocks in the INVITE's server transaction until the call is
// accepted, rejected or canceled, or rings unanswered for RingTimeout; sipgo
// ends the transaction when the handler returns.
func (c *call) serveInvite(tx sip.ServerTransaction) {
	dctx := c.uas.Context()
	ring := time.NewTimer(c.p.ringTimeout())
	defer ring.Stop()
	for {
		select {
		case <-ring.C:
			// Nobody answered: 480 (RFC 3261 §21.4.18), and the call ends
			// unanswered, which history records as missed.
			_ = c.respondFinal(sip.StatusTemporarilyUnavailable, "Temporarily Unavailable", warning("no answer"))
			c.terminate(nil, CallStatusPayload{Reason: "no answer", Status: sip.StatusTemporarilyUnavailable})

		case d := <-c.decision:
			switch {
			case d.early:
				d.result <- c.earlyMedia()
				continue
			case !d.accept:
				err := c.respondFinal(d.code, reasonPhrase(d.code))
				c.terminate([]string{EventCallRejected}, CallStatusPayload{Status: d.code})
				d.result <- err
			default:
				d.result <- c.answer()
			}
		case <-dctx.Done():
			// CANCEL before our final answer (RFC 3261 §9.2); the
			// transaction already answered 487. TODO: read the CANCEL's
			// Reason cause=26 ("answered elsewhere"); sipgo does not hand
			// us the CANCEL here.
			c.terminate([]string{EventCallCanceled}, CallStatusPayload{Elsewhere: new(false)})
		case <-tx.Done():
			c.terminate([]string{EventCallCanceled}, CallStatusPayload{Elsewhere: new(false)})
		case <-c.p.ctx.Done():
			_ = c.respondFinal(sip.StatusServiceUnavailable, "Shutting Down")
			c.terminate([]string{EventCallEnding}, nil)
		}
		return
	}
}

// answer runs in the INVITE handler: builds the SDP answer, sends 200 and
// waits for the ACK (sipgo retransmits the 2xx, RFC 3261 §13.3.1.4).
func (c *call) answer() error {
	ctx, cancel := context.WithTimeout(c.p.ctx, 10*time.Second)
	defer cancel()
	ans, err := c.prepareAnswer(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	c.update(func(s *CallSession) {
		s.Answered = true
		s.AnswerTime = &now
		s.Ringing = false
	}, []string{EventCallAnswered}, nil)
	res := sip.NewSDPResponseFromRequest(c.uas.InviteRequest, ans)
	res.AppendHeader(sip.NewHeader("Allow", allowMethods))
	c.negotiateAnswer(c.uas.InviteRequest, res)
	if err := c.uas.WriteResponse(res); err != nil {
		c.terminate([]string{EventCallError}, CallStatusPayload{Error: "no ACK for 200 OK: " + err.Error()})
		return fmt.Errorf("%w: 200 OK: %w", ErrRequestFailed, err)
	}
	if err := c.finishLateOffer(ctx); err != nil {
		return err
	}
	start := time.Now()
	c.update(func(s *CallSession) {
		s.StartTime = &start
		s.SipStatus = SipStatusEstablished
	}, []string{EventCallAccepted}, CallAcceptedPayload{CameraEnabled: false})
	c.afterAccepted()
	return nil
}

// earlyMedia sends 183 Session Progress with our answer (RFC 3261 §13.3.1.1,
// RFC 3960 gateway model), so the caller hears us before the call is
// answered: announcements, in-band ringback. The 200 OK later carries the
// same answer.
func (c *call) earlyMedia() error {
	if len(c.offer) == 0 {
		// Our offer could only go in a reliable provisional (RFC 3262).
		return fmt.Errorf("%w: early media needs the caller's offer", ErrInvalidState)
	}
	ctx, cancel := context.WithTimeout(c.p.ctx, 10*time.Second)
	defer cancel()
	ans, err := c.prepareAnswer(ctx)
	if err != nil {
		return err
	}
	res := sip.NewSDPResponseFromRequest(c.uas.InviteRequest, ans)
	res.StatusCode, res.Reason = sip.StatusSessionInProgress, "Session Progress"
	return c.uas.WriteResponse(res)
}

// prepareAnswer opens the media and answers the INVITE's offer, once: a
// 183 and the 200 that follows carry the same answer.
func (c *call) prepareAnswer(ctx context.Context) ([]byte, error) {
	c.mu.Lock()
	ready := c.answerSDP
	c.mu.Unlock()
	if ready != nil {
		return ready, nil
	}
	if len(c.offer) == 0 {
		return c.prepareLateOffer(ctx)
	}
	path, err := media.ChoosePath(c.offer)
	if err == nil {
		err = c.newMedia(path)
	}
	if errors.Is(err, media.ErrBadSDP) {
		_ = c.respondFinal(sip.StatusNotAcceptableHere, "Not Acceptable Here", warning(err.Error()))
		c.terminate([]string{EventCallError}, CallStatusPayload{Error: err.Error()})
		return nil, err
	}
	if err != nil {
		_ = c.respondFinal(sip.StatusInternalServerError, "Media Error", warning(err.Error()))
		c.terminate([]string{EventCallError}, CallStatusPayload{Error: err.Error()})
		return nil, err
	}
	ans, err := c.media.CreateAnswer(ctx, c.offer, media.SendRecv)
	if err != nil {
		_ = c.respondFinal(sip.StatusNotAcceptableHere, "Not Acceptable Here", warning(err.Error()))
		c.terminate([]string{EventCallError}, CallStatusPayload{Error: err.Error()})
		return nil, fmt.Errorf("callengine: answer: %w", err)
	}
	c.mu.Lock()
	c.answerSDP = ans
	c.mu.Unlock()
	return ans, nil
}

// EarlyMedia answers a ringing incoming call with 183 Session Progress and
// media, without answering it: the caller hears this side (an announcement,
// a ringback tone) until Accept or Reject.
func (p *Phone) EarlyMedia(ctx context.Context, id string) error {
	c, err := p.call(id)
	if err != nil {
		return err
	}
	s := c.snapshot()
	if s.IsCaller || s.Answered || s.IsTerminated() {
		return fmt.Errorf("%w: early media needs a ringing incoming call", ErrInvalidState)
	}
	d := decision{early: true, result: make(chan error, 1)}
	select {
	case c.decision <- d:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-d.result:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *call) accept(ctx context.Context) error {
	s := c.snapshot()
	if s.IsCaller || s.Answered || s.IsTerminated() {
		return fmt.Errorf("%w: accept needs a ringing incoming call", ErrInvalidState)
	}
	d := decision{accept: true, result: make(chan error, 1)}
	select {
	case c.decision <- d:
	default:
		return fmt.Errorf("%w: already answering", ErrInvalidState)
	}
	select {
	case err := <-d.result:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *call) reject(ctx context.Context, code int) error {
	s := c.snapshot()
	if s.IsCaller || s.Answered || s.IsTerminated() {
		return fmt.Errorf("%w: reject needs a ringing incoming call", ErrInvalidState)
	}
	if code < 400 || code > 699 {
		code = sip.StatusBusyHere
	}
	d := decision{accept: false, code: code, result: make(chan error, 1)}
	select {
	case c.decision <- d:
	default:
		return fmt.Errorf("%w: already answering", ErrInvalidState)
	}
	select {
	case err := <-d.result:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *Phone) onAck(req *sip.Request, tx sip.ServerTransaction) {
	c, err := p.call(req.CallID().Value())
	if err != nil {
		return
	}
	c.mu.Lock()
	uas := c.uas
	c.mu.Unlock()
	c.takeLateAnswer(req) // the answer to an offer of ours in a 2xx
	if uas != nil {
		// The ACK of our initial 2xx confirms the dialog; ACKs of re-INVITE
		// 2xx carry a later CSeq and are simply absorbed.
		_ = uas.ReadAck(req, tx)
	}
}

func (p *Phone) onBye(req *sip.Request, tx sip.ServerTransaction) {
	c, err := p.call(req.CallID().Value())
	if err != nil {
		respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	c.mu.Lock()
	uac, uas := c.uac, c.uas
	c.mu.Unlock()
	switch {
	case uac != nil:
		err = uac.ReadBye(req, tx)
	case uas != nil:
		err = uas.ReadBye(req, tx)
	}
	if err != nil {
		if errors.Is(err, sip.ErrTransactionTerminated) {
			c.log.Debug("BYE", "error", err)
		}
		respond(tx, req, sip.StatusOK, "OK")
	}
	c.update(func(s *CallSession) { s.SipStatus = SipStatusTerminating }, []string{EventCallEnding}, nil)
	c.terminate(nil, CallStatusPayload{Reason: "remote hangup"})
}

// onCancel answers a CANCEL that matched no INVITE transaction (the
// transaction layer handles those that match).
func (p *Phone) onCancel(req *sip.Request, tx sip.ServerTransaction) {
	respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
}

// onUnsupported answers methods we do not implement: 405 with Allow
// (RFC 3261 §21.4.6 requires it), behind the same guard as the rest.
func (p *Phone) onUnsupported(req *sip.Request, tx sip.ServerTransaction) {
	respond(tx, req, sip.StatusMethodNotAllowed, "Method Not Allowed", sip.NewHeader("Allow", allowMethods))
}

func (p *Phone) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	res.AppendHeader(sip.NewHeader("Allow", allowMethods))
	res.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
	_ = tx.Respond(res)
}

func respond(tx sip.ServerTransaction, req *sip.Request, code int, reason string, headers ...sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range headers {
		res.AppendHeader(h)
	}
	_ = tx.Respond(res)
}

// warning is a Warning header (RFC 3261 §20.43) whose text, often quoting
// what a stranger sent, is made safe inside its quoted string.
func warning(text string) sip.Header {
	text = displayName(text)
	if len(text) > 200 {
		text = text[:200]
	}
	return sip.NewHeader("Warning", `399 parlo "`+text+`"`)
}

func headerValue(req *sip.Request, name string) string {
	if h := req.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

// reasonPhrase is the RFC 3261 §21 phrase for the codes we send on reject.
func reasonPhrase(code int) string {
	switch code {
	case sip.StatusBusyHere:
		return "Busy Here"
	case 603:
		return "Decline"
	case 480:
		return "Temporarily Unavailable"
	case 487:
		return "Request Terminated"
	default:
		return "Rejected"
	}
}
