package callengine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/parlo-voip/parlo/callengine/media"
)

// maxUDPRequest is the size above which a request goes over TCP instead of
// UDP (RFC 3261 §18.1.1: within 200 bytes of a 1500-byte path MTU).
const maxUDPRequest = 1300

// headerAllowance is what sipgo still adds after route() measures a request
// (Via with branch and rport, Contact, Max-Forwards, Content-Length).
const headerAllowance = 300

// CallOptions tune one outgoing call.
type CallOptions struct {
	// Headers are extra SIP headers for the INVITE.
	Headers map[string]string
	// KeepOthers leaves the active call as it is instead of holding it
	// (a transfer's new leg: the transferor already holds the old one,
	// and it must come back as it was if the transfer fails).
	KeepOthers bool
}

// Call places a call to target: a SIP URI ("sip:bob@127.0.0.1:5090"), or
// with an account, a number or user that is dialed at the account's domain.
// It returns once the INVITE is sent; progress arrives as events. The
// active call, if any, is held first.
//
// The media profile of the offer is not a setting the user has to get
// right: the call offers the first of outgoingProfiles and, when the peer
// refuses it or answers it in another profile, offers the next one (see
// waitAnswer). The user sees one call and one set of events either way.
func (p *Phone) Call(ctx context.Context, target string, opts CallOptions) (*CallSession, error) {
	if p.ctx.Err() != nil {
		return nil, ErrClosed
	}
	to, err := p.targetURI(target)
	if err != nil {
		return nil, err
	}
	if !opts.KeepOthers {
		p.holdOthers(ctx, "")
	}

	callID := sip.CallIDHeader(sip.GenerateTagN(32))
	c := newCall(p, string(callID), true)
	c.s.Number = to.User
	if c.s.Number == "" {
		c.s.Number = to.Host
	}
	c.s.DialedExtension = target
	c.s.DisplayName = c.s.Number
	d := &outgoingDial{to: to, profiles: p.outgoingProfiles(to), headers: opts.Headers, fromTag: sip.GenerateTagN(16), sessionExpires: p.sessionExpires()}
	if err := c.newMediaProfile(d.profile()); err != nil {
		return nil, err
	}
	offer, err := c.media.CreateOffer(ctx, media.SendRecv)
	if err != nil {
		c.media.Close()
		return nil, fmt.Errorf("callengine: offer: %w", err)
	}
	req := p.newInvite(c.id, d, 0, offer)

	// Cancelling inviteCtx abandons the INVITE without a CANCEL (sipgo's
	// WaitAnswer returns at once on this cause); a hang-up's CANCEL is
	// sent by requestCancel.
	inviteCtx, cancelCause := context.WithCancelCause(p.ctx)
	cancel := func() { cancelCause(sipgo.WaitAnswerForceCancelErr) }
	c.cancelInvite = cancel
	p.addCall(c)
	c.update(func(s *CallSession) { s.SipStatus = SipStatusEstablishing }, []string{EventCallOutgoing}, nil)

	dcs, err := p.dialogUA.WriteInvite(inviteCtx, req)
	for err != nil && inviteCtx.Err() == nil && d.advance() {
		// The request could not even be sent: typically a WebRTC offer too
		// big for UDP (RFC 3261 §18.1.1) to a peer that does not listen on
		// TCP. The next profile's offer is smaller and may go over UDP.
		c.log.Info("INVITE not sent, offering the next media profile", "error", err,
			"refused", d.profiles[d.current-1].String(), "next", d.profile().String())
		var offer []byte
		if offer, err = c.reopenMedia(inviteCtx, d.profile()); err != nil {
			break
		}
		req = p.newInvite(c.id, d, req.CSeq().SeqNo+1, offer)
		dcs, err = p.dialogUA.WriteInvite(inviteCtx, req)
	}
	if err != nil {
		cancel()
		c.terminate([]string{EventCallRejected}, CallStatusPayload{Error: err.Error()})
		return nil, fmt.Errorf("%w: INVITE: %w", ErrRequestFailed, err)
	}
	c.inviteSent(dcs)
	c.goCall(func() { c.waitAnswer(inviteCtx, cancel, dcs, d) })
	return c.snapshot(), nil
}

// outgoingDial is what a call we place keeps between attempts: the
// destination, the profiles it may offer and which one is in use, and what
// every INVITE of the call repeats (From tag, extra headers).
type outgoingDial struct {
	to       sip.Uri
	profiles []offerProfile
	current  int
	headers  map[string]string
	fromTag  string
	// restarted: the call already left a dialog whose re-offer was refused
	// for a new one (done at most once).
	restarted bool
	// sessionExpires is the RFC 4028 interval the INVITE asks for (0:
	// none), raised by a 422 at most maxTimerRetries times.
	sessionExpires time.Duration
	timerRetries   int
}

func (d *outgoingDial) profile() offerProfile { return d.profiles[d.current] }

// advance moves to the next profile, if there is one.
func (d *outgoingDial) advance() bool {
	if d.current+1 >= len(d.profiles) {
		return false
	}
	d.current++
	return true
}

// newInvite builds an INVITE of the call. cseq 0 lets sipgo choose the
// first number; a retry passes the previous one plus one.
func (p *Phone) newInvite(callID string, d *outgoingDial, cseq uint32, offer []byte) *sip.Request {
	to := d.to
	req := sip.NewRequest(sip.INVITE, to)
	from := sip.FromHeader{Address: p.fromURI(), DisplayName: displayName(p.opts.DisplayName), Params: sip.NewParams()}
	from.Params.Add("tag", d.fromTag)
	req.AppendHeader(&from)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: to.Scheme, User: to.User, Host: to.Host, Port: to.Port}})
	cid := sip.CallIDHeader(callID)
	req.AppendHeader(&cid)
	if cseq != 0 {
		req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: sip.INVITE})
	}
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.AppendHeader(sip.NewHeader("Allow", allowMethods))
	p.addSessionTimer(req, d.sessionExpires)
	for k, v := range d.headers {
		if h := newHeader(k, v); h != nil {
			req.AppendHeader(h)
		}
	}
	req.SetBody(offer)
	p.route(req, to)
	return req
}

// targetURI turns what the user dialed into a request URI.
func (p *Phone) targetURI(target string) (sip.Uri, error) {
	var u sip.Uri
	t := strings.TrimSpace(target)
	if t == "" {
		return u, fmt.Errorf("%w: empty target", ErrBadURI)
	}
	if !strings.HasPrefix(t, "sip:") && !strings.HasPrefix(t, "sips:") {
		a := p.account()
		if a == nil {
			return u, fmt.Errorf("%w: %q: in direct mode dial a full sip:user@host:port URI", ErrBadURI, target)
		}
		aor, err := a.aor()
		if err != nil {
			return u, err
		}
		if !strings.Contains(t, "@") {
			t = t + "@" + aor.Host
		}
		t = "sip:" + t
	}
	if err := sip.ParseUri(t, &u); err != nil {
		return u, fmt.Errorf("%w: %q: %w", ErrBadURI, target, err)
	}
	if u.Host == "" {
		return u, fmt.Errorf("%w: %q has no host", ErrBadURI, target)
	}
	return u, nil
}

// fromURI is our identity: the account's AOR, or user@listen address.
func (p *Phone) fromURI() sip.Uri {
	if a := p.account(); a != nil {
		if aor, err := a.aor(); err == nil {
			return sip.Uri{Scheme: "sip", User: aor.User, Host: aor.Host}
		}
	}
	return sip.Uri{Scheme: "sip", User: p.contact.User, Host: p.contact.Host, Port: p.contact.Port}
}

// route picks the transport and next hop of an out-of-dialog request: the
// registrar as outbound proxy when registered, and TCP for a request too big
// for UDP (RFC 3261 §18.1.1).
func (p *Phone) route(req *sip.Request, to sip.Uri) {
	p.mu.Lock()
	reg := p.reg
	p.mu.Unlock()
	transport := TransportUDP
	if t, ok := to.UriParams.Get("transport"); ok && t != "" {
		transport = strings.ToLower(t)
	}
	if reg != nil {
		transport = reg.target.transport
		req.SetDestination(reg.target.hostPort)
	}
	if transport == TransportUDP && len(req.String())+headerAllowance > maxUDPRequest {
		transport = TransportTCP
		if ct := req.Contact(); ct == nil {
			cu := p.dialogUA.ContactHDR.Address
			cu.UriParams = sip.NewParams()
			cu.UriParams.Add("transport", "tcp")
			req.AppendHeader(&sip.ContactHeader{Address: cu})
		}
	}
	req.SetTransport(strings.ToUpper(transport))
}

// refusesOffer reports whether a final response refuses the offer itself,
// so that another profile may succeed: 488 Not Acceptable Here and 606 Not
// Acceptable (RFC 3261 §21.4.26, §21.6.4).
func refusesOffer(code int) bool {
	return code == sip.StatusNotAcceptableHere || code == sip.StatusGlobalNotAcceptable
}

// waitAnswer follows the call's INVITE transactions to the end; it owns the
// call until the answer and is stopped by cancel (Hangup) or the phone
// closing.
//
// Profile fallback, the algorithm:
//   - 488 or 606 to an INVITE, with a profile left: a new INVITE with the
//     next profile's offer, in the same Call-ID with the same From tag and
//     the next CSeq. RFC 3261 §8.1.3.5 retries a request refused for what
//     it carried this way (a new transaction, same Call-ID, To and From,
//     CSeq one higher); no dialog was created, so nothing else changes. The
//     call keeps its id and the user sees nothing of the first attempt.
//   - A 2xx whose answer our offer cannot take (plain RTP/AVP to a WebRTC
//     offer, as Linphone 5.1 answers): the dialog exists, so it is ACKed
//     (RFC 3261 §13.2.2.4) and the next profile is offered by re-INVITE in
//     it (RFC 3261 §14.1; no second ringing at the far end), and again on
//     488 while profiles remain. Only then is the call accepted.
//   - If the peer refuses that re-INVITE (488) although it would take the
//     profile in a new INVITE, the dialog is ended by BYE and the profile
//     offered in a new INVITE (same Call-ID, new From tag: a new dialog,
//     RFC 3261 §12.1), once per call.
//   - The profile that connected is remembered for the destination and is
//     offered first next time.
func (c *call) waitAnswer(ctx context.Context, cancel context.CancelFunc, dcs *sipgo.DialogClientSession, d *outgoingDial) {
	defer cancel()
	var res *sip.Response
	for {
		var earlyAnswer []byte
		err := c.waitFinal(ctx, dcs, &earlyAnswer)
		if err != nil {
			var dr *sipgo.ErrDialogResponse
			hungUp := c.cancelRequested()
			if errors.As(err, &dr) && dr.Res.StatusCode == statusIntervalTooSmall && ctx.Err() == nil && !hungUp && d.raiseSessionExpires(dr.Res) {
				// RFC 4028 §7.4: again with the 422's Min-SE.
				next, rerr := c.retryInvite(ctx, dcs, d)
				if rerr == nil {
					dcs = next
					continue
				}
				err = rerr
			}
			if errors.As(err, &dr) && refusesOffer(dr.Res.StatusCode) && ctx.Err() == nil && !hungUp && d.advance() {
				c.log.Info("offer refused, offering the next media profile", "status", dr.Res.StatusCode,
					"refused", d.profiles[d.current-1].String(), "next", d.profile().String())
				next, rerr := c.retryInvite(ctx, dcs, d)
				if rerr == nil {
					dcs = next
					continue
				}
				err = rerr
			}
			switch {
			case hungUp || ctx.Err() != nil:
				// Our CANCEL (hang-up before answer; onCallEnding was
				// sent) got its 487, or the phone is closing.
				c.terminate(nil, CallStatusPayload{Reason: "canceled"})
			case errors.Is(err, ErrForeignChallenge):
				res := dcs.InviteResponse
				c.terminate([]string{EventCallRejected}, CallStatusPayload{Status: res.StatusCode, Reason: res.Reason, Error: err.Error()})
			case errors.As(err, &dr):
				c.terminate([]string{EventCallRejected}, CallStatusPayload{Status: dr.Res.StatusCode, Reason: dr.Res.Reason})
			default:
				c.terminate([]string{EventCallRejected}, CallStatusPayload{Error: err.Error()})
			}
			return
		}
		res = dcs.InviteResponse
		if !c.takeAnswer() {
			// The 2xx crossed our CANCEL: the dialog exists, so ACK it
			// and end it with BYE (RFC 3261 §15).
			c.endCrossedAnswer(dcs)
			return
		}
		var aerr error
		if earlyAnswer == nil {
			aerr = c.mediaSession().ApplyAnswer(ctx, res.Body())
		} else if body := res.Body(); len(body) > 0 && !bytes.Equal(body, earlyAnswer) {
			// RFC 6337 §3.1: the 2xx repeats the early answer; a different one
			// cannot be applied twice to one offer.
			c.log.Warn("the 200 OK SDP differs from the 183's; keeping the early answer")
		}
		if err := dcs.Ack(ctx); err != nil {
			c.log.Warn("ACK failed", "error", err)
		}
		if aerr != nil && d.current+1 < len(d.profiles) {
			c.log.Info("answer unusable for our offer, re-offering in the dialog", "profile", d.profile().String(), "error", aerr)
			aerr = c.fallbackInDialog(ctx, dcs, d, aerr)
			var refused *errReofferRefused
			if errors.As(aerr, &refused) && !d.restarted && ctx.Err() == nil {
				// Some peers take a profile in a new INVITE but not as a
				// change in an established session (Linphone 5.1 refuses
				// SRTP by re-INVITE on a call it set up in plain RTP).
				// End this dialog and offer that profile in a new one.
				d.restarted = true
				d.current = refused.profile
				c.log.Info("re-offer refused in the dialog; calling again in a new dialog", "profile", d.profile().String())
				byeCtx, byeCancel := context.WithTimeout(ctx, 5*time.Second)
				_ = dcs.Bye(byeCtx)
				byeCancel()
				d.fromTag = sip.GenerateTagN(16)
				next, rerr := c.retryInvite(ctx, dcs, d)
				if rerr == nil {
					dcs = next
					continue
				}
				aerr = rerr
			}
		}
		if aerr != nil {
			// The dialog exists and is confirmed: end it with a reason
			// (RFC 3261 §13.2.2.4: ACK every 2xx, then BYE).
			c.log.Warn("bad SDP answer", "error", aerr)
			if ctx.Err() == nil {
				c.emit(EventCallError, CallStatusPayload{Error: "bad SDP answer: " + aerr.Error()})
			}
			byeCtx, byeCancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = dcs.Bye(byeCtx)
			byeCancel()
			if ctx.Err() != nil {
				c.terminate(nil, CallStatusPayload{Reason: "canceled"})
			} else {
				c.terminate([]string{EventCallEnding}, nil)
			}
			return
		}
		break
	}
	if err := c.p.profiles.remember(profileKey(d.to), d.profile()); err != nil {
		c.log.Warn("remembering the media profile", "error", err)
	}
	now := time.Now()
	c.mu.Lock()
	c.cancelInvite = nil
	c.mu.Unlock()
	c.update(func(s *CallSession) {
		s.Answered = true
		s.AnswerTime = &now
		s.StartTime = &now
		s.Ringing = false
		s.SipStatus = SipStatusEstablished
		if h := res.GetHeader("X-Wazo-Call-ID"); h != nil {
			v := h.Value()
			s.CallID = &v
		}
		if to := res.To(); to != nil && to.DisplayName != "" {
			s.DisplayName = to.DisplayName
		}
	}, []string{EventCallAccepted}, CallAcceptedPayload{CameraEnabled: false})
	c.afterAccepted()
}

// waitFinal waits for the final response of dcs's INVITE, reporting
// ringing and early media (an answer in a 183 is applied and kept in
// *earlyAnswer).
func (c *call) waitFinal(ctx context.Context, dcs *sipgo.DialogClientSession, earlyAnswer *[]byte) error {
	var answerOpts sipgo.AnswerOptions
	if a := c.p.account(); a != nil {
		answerOpts.Username, answerOpts.Password = a.authUser(), a.Password
	}
	answerOpts.OnResponse = func(res *sip.Response) error {
		if res.IsProvisional() {
			c.p.flushStreamAck(res)
			c.noteProvisional()
		}
		if res.StatusCode > 100 && res.StatusCode < 200 {
			if tag, ok := res.To().Params.Get("tag"); ok && tag != "" {
				c.mu.Lock()
				c.earlyTag = tag
				c.mu.Unlock()
			}
		}
		switch res.StatusCode {
		case sip.StatusUnauthorized, sip.StatusProxyAuthRequired:
			// sipgo answers the challenge after this returns: refuse
			// first when it does not come from our registrar.
			if answerOpts.Password != "" {
				if err := c.p.challengeAllowed(dcs.InviteRequest, res); err != nil {
					c.log.Warn("INVITE challenge not answered", "error", err)
					return err
				}
			}
		case sip.StatusRinging:
			c.update(func(s *CallSession) { s.Ringing = true }, []string{EventProgress}, nil)
		case sip.StatusSessionInProgress:
			// A 183 with SDP is the answer, early (RFC 3960): apply it so
			// its media plays before the 200 OK, which repeats it.
			if body := res.Body(); len(body) > 0 && *earlyAnswer == nil {
				if err := c.mediaSession().ApplyAnswer(ctx, body); err != nil {
					c.log.Warn("early media SDP refused", "error", err)
				} else {
					*earlyAnswer = body
				}
			}
			c.update(func(s *CallSession) { s.Ringing = true }, []string{EventEarlyMedia}, EarlyMediaPayload{SDP: len(res.Body()) > 0})
		}
		return nil
	}
	return dcs.WaitAnswer(ctx, answerOpts)
}

// retryInvite replaces the call's media with one for d's current profile
// and sends a new INVITE with its offer: same Call-ID and From tag, the
// next CSeq (RFC 3261 §8.1.3.5).
func (c *call) retryInvite(ctx context.Context, prev *sipgo.DialogClientSession, d *outgoingDial) (*sipgo.DialogClientSession, error) {
	offer, err := c.reopenMedia(ctx, d.profile())
	if err != nil {
		return nil, err
	}
	req := c.p.newInvite(c.id, d, prev.InviteRequest.CSeq().SeqNo+1, offer)
	dcs, err := c.p.dialogUA.WriteInvite(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("%w: INVITE: %w", ErrRequestFailed, err)
	}
	c.inviteSent(dcs)
	return dcs, nil
}

// reopenMedia closes the call's media and opens a new session for o,
// returning its offer.
func (c *call) reopenMedia(ctx context.Context, o offerProfile) ([]byte, error) {
	c.closeMedia()
	if err := c.newMediaProfile(o); err != nil {
		return nil, err
	}
	offer, err := c.mediaSession().CreateOffer(ctx, media.SendRecv)
	if err != nil {
		return nil, fmt.Errorf("callengine: offer: %w", err)
	}
	return offer, nil
}

// errReofferRefused says a re-INVITE of the fallback was refused (488/606);
// profile is the index of the first profile refused that way.
type errReofferRefused struct {
	profile int
	status  int
	reason  string
}

func (e *errReofferRefused) Error() string {
	return fmt.Sprintf("callengine: re-INVITE with another media profile answered %d %s", e.status, e.reason)
}

// fallbackInDialog offers the remaining profiles by re-INVITE in the
// established (and ACKed) dialog, until one is answered with SDP our offer
// takes. It returns nil on success, else the last error (first: the error
// of the answer that started it).
func (c *call) fallbackInDialog(ctx context.Context, dcs *sipgo.DialogClientSession, d *outgoingDial, first error) error {
	last := first
	firstRefused := -1
	for d.advance() {
		offer, err := c.reopenMedia(ctx, d.profile())
		if err != nil {
			return err
		}
		req := sip.NewRequest(sip.INVITE, c.remoteTarget())
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		req.SetBody(offer)
		res, err := dcs.Do(ctx, req)
		if err != nil {
			return fmt.Errorf("%w: re-INVITE: %w", ErrRequestFailed, err)
		}
		if !res.IsSuccess() {
			if refusesOffer(res.StatusCode) {
				if firstRefused < 0 {
					firstRefused = d.current
				}
				last = &errReofferRefused{profile: firstRefused, status: res.StatusCode, reason: res.Reason}
				continue
			}
			return fmt.Errorf("%w: re-INVITE with profile %s answered %d %s", ErrRequestFailed, d.profile(), res.StatusCode, res.Reason)
		}
		// ACK the re-INVITE's 2xx in the dialog (RFC 3261 §13.2.2.4).
		if err := dcs.WriteRequest(sip.NewRequest(sip.ACK, c.remoteTarget())); err != nil {
			c.log.Warn("ACK of re-INVITE failed", "error", err)
		}
		if err := c.mediaSession().ApplyAnswer(ctx, res.Body()); err != nil {
			last = err
			continue
		}
		c.log.Info("media profile fallback in the dialog succeeded", "profile", d.profile().String())
		return nil
	}
	return last
}
