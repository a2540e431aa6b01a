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
	if err := c.newMedia(p.outgoingPath()); err != nil {
		return nil, err
	}
	offer, err := c.media.CreateOffer(ctx, media.SendRecv)
	if err != nil {
		c.media.Close()
		return nil, fmt.Errorf("callengine: offer: %w", err)
	}

	req := sip.NewRequest(sip.INVITE, to)
	from := sip.FromHeader{Address: p.fromURI(), DisplayName: displayName(p.opts.DisplayName), Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(&from)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: to.Scheme, User: to.User, Host: to.Host, Port: to.Port}})
	req.AppendHeader(&callID)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE, INFO"))
	for k, v := range opts.Headers {
		if h := newHeader(k, v); h != nil {
			req.AppendHeader(h)
		}
	}
	req.SetBody(offer)
	p.route(req, to)

	inviteCtx, cancel := context.WithCancel(p.ctx)
	c.cancelInvite = cancel
	p.addCall(c)
	c.update(func(s *CallSession) { s.SipStatus = SipStatusEstablishing }, []string{EventCallOutgoing}, nil)

	dcs, err := p.dialogUA.WriteInvite(inviteCtx, req)
	if err != nil {
		cancel()
		c.terminate([]string{EventCallRejected}, map[string]any{"error": err.Error()})
		return nil, fmt.Errorf("%w: INVITE: %v", ErrRequestFailed, err)
	}
	c.mu.Lock()
	c.uac = dcs
	c.mu.Unlock()
	go c.waitAnswer(inviteCtx, cancel, dcs)
	return c.snapshot(), nil
}

// targetURI turns what the user dialed into a request URI.
func (p *Phone) targetURI(target string) (sip.Uri, error) {
	var u sip.Uri
	t := strings.TrimSpace(target)
	if t == "" {
		return u, fmt.Errorf("%w: empty target", ErrBadURI)
	}
	if !strings.HasPrefix(t, "sip:") && !strings.HasPrefix(t, "sips:") {
		if p.opts.Account == nil {
			return u, fmt.Errorf("%w: %q: in direct mode dial a full sip:user@host:port URI", ErrBadURI, target)
		}
		aor, err := p.opts.Account.aor()
		if err != nil {
			return u, err
		}
		if !strings.Contains(t, "@") {
			t = t + "@" + aor.Host
		}
		t = "sip:" + t
	}
	if err := sip.ParseUri(t, &u); err != nil {
		return u, fmt.Errorf("%w: %q: %v", ErrBadURI, target, err)
	}
	if u.Host == "" {
		return u, fmt.Errorf("%w: %q has no host", ErrBadURI, target)
	}
	return u, nil
}

// fromURI is our identity: the account's AOR, or user@listen address.
func (p *Phone) fromURI() sip.Uri {
	if p.opts.Account != nil {
		if aor, err := p.opts.Account.aor(); err == nil {
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

// waitAnswer follows the INVITE transaction to its end; it owns the call
// until the answer and is stopped by cancel (Hangup) or the phone closing.
func (c *call) waitAnswer(ctx context.Context, cancel context.CancelFunc, dcs *sipgo.DialogClientSession) {
	defer cancel()
	var answerOpts sipgo.AnswerOptions
	var earlyAnswer []byte
	if a := c.p.opts.Account; a != nil {
		answerOpts.Username, answerOpts.Password = a.authUser(), a.Password
	}
	answerOpts.OnResponse = func(res *sip.Response) error {
		switch {
		case res.StatusCode == sip.StatusUnauthorized || res.StatusCode == sip.StatusProxyAuthRequired:
			// sipgo answers the challenge after this returns: refuse
			// first when it does not come from our registrar.
			if answerOpts.Password != "" {
				if err := c.p.challengeAllowed(dcs.InviteRequest, res); err != nil {
					c.log.Warn("INVITE challenge not answered", "error", err)
					return err
				}
			}
		case res.StatusCode == sip.StatusRinging:
			c.update(func(s *CallSession) { s.Ringing = true }, []string{EventProgress}, nil)
		case res.StatusCode == sip.StatusSessionInProgress:
			// A 183 with SDP is the answer, early (RFC 3960): apply it so
			// its media plays before the 200 OK, which repeats it.
			if body := res.Body(); len(body) > 0 && earlyAnswer == nil {
				if err := c.media.ApplyAnswer(ctx, body); err != nil {
					c.log.Warn("early media SDP refused", "error", err)
				} else {
					earlyAnswer = body
				}
			}
			c.update(func(s *CallSession) { s.Ringing = true }, []string{EventEarlyMedia}, map[string]any{"sdp": len(res.Body()) > 0})
		}
		return nil
	}
	err := dcs.WaitAnswer(ctx, answerOpts)
	if err != nil {
		var dr *sipgo.ErrDialogResponse
		switch {
		case errors.Is(err, ErrForeignChallenge):
			res := dcs.InviteResponse
			c.terminate([]string{EventCallRejected}, map[string]any{"status": res.StatusCode, "reason": res.Reason, "error": err.Error()})
		case errors.As(err, &dr):
			c.terminate([]string{EventCallRejected}, map[string]any{"status": dr.Res.StatusCode, "reason": dr.Res.Reason})
		case ctx.Err() != nil:
			// Our CANCEL (hangup before answer); onCallEnding was sent.
			c.terminate(nil, map[string]any{"reason": "canceled"})
		default:
			c.terminate([]string{EventCallRejected}, map[string]any{"error": err.Error()})
		}
		return
	}
	res := dcs.InviteResponse
	var err2 error
	if earlyAnswer == nil {
		err2 = c.media.ApplyAnswer(ctx, res.Body())
	} else if body := res.Body(); len(body) > 0 && !bytes.Equal(body, earlyAnswer) {
		// RFC 6337 §3.1: the 2xx repeats the early answer; a different one
		// cannot be applied twice to one offer.
		c.log.Warn("the 200 OK SDP differs from the 183's; keeping the early answer")
	}
	if err := err2; err != nil {
		// The dialog exists: confirm it, then end it with a reason
		// (RFC 3261 §13.2.2.4: ACK every 2xx, then BYE).
		_ = dcs.Ack(ctx)
		c.log.Warn("bad SDP answer", "error", err)
		c.emit(EventCallError, map[string]any{"error": "bad SDP answer: " + err.Error()})
		byeCtx, byeCancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = dcs.Bye(byeCtx)
		byeCancel()
		c.terminate([]string{EventCallEnding}, nil)
		return
	}
	if err := dcs.Ack(ctx); err != nil {
		c.log.Warn("ACK failed", "error", err)
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
	}, []string{EventCallAccepted}, map[string]any{"cameraEnabled": false})
	c.afterAccepted()
}
