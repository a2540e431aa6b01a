package callengine

import (
	"context"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Hanging up a call we placed before it is answered sends CANCEL (RFC 3261
// §9.1). The engine sends it itself rather than cancelling sipgo's
// WaitAnswer, because the INVITE transaction must go on being read after
// the CANCEL: the callee may answer at the moment we hang up, and its 200 OK
// crossing our CANCEL then establishes the dialog. RFC 3261 §15 says the
// caller ACKs that 2xx and sends BYE at once. A proxy that has already
// relayed the 2xx drops the stray CANCEL without a response (Kamailio's
// default configuration does), so nothing may wait on the CANCEL's own
// transaction before reading the INVITE's.
//
// The CANCEL waits for a provisional response (RFC 3261 §9.1: a CANCEL
// before one may overtake the INVITE); the INVITE's final response (487,
// or a crossing 2xx) ends the call. A UAS that never sends one (RFC 2543)
// is given 64*T1 before the INVITE is abandoned.

// requestCancel marks the call as hung up by us and sends CANCEL if a
// provisional response has come; otherwise noteProvisional sends it when
// one does. It reports false when the call's 2xx has already been taken
// (takeAnswer): the call is answered and ends with BYE instead.
func (c *call) requestCancel() bool {
	c.mu.Lock()
	if c.answerTaken {
		c.mu.Unlock()
		return false
	}
	c.cancelWanted = true
	c.mu.Unlock()
	c.sendCancelWhenDue()
	return true
}

// takeAnswer decides, once the INVITE got its 2xx, between answering the
// call and ending a dialog whose 2xx crossed our CANCEL; it reports false
// in the second case. requestCancel and takeAnswer decide under one lock,
// so a hang-up is either a CANCEL or a BYE, never neither.
func (c *call) takeAnswer() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cancelWanted {
		return false
	}
	c.answerTaken = true
	return true
}

// cancelRequested reports whether the user hung up the call before answer.
func (c *call) cancelRequested() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cancelWanted
}

// inviteSent records the INVITE (a new transaction after a retry) whose
// responses are being read: a CANCEL must wait for its own provisional.
func (c *call) inviteSent(dcs *sipgo.DialogClientSession) {
	c.mu.Lock()
	c.uac = dcs
	c.provisionalSeen, c.cancelSent = false, false
	c.mu.Unlock()
}

// noteProvisional records a provisional response to the INVITE in uac and
// sends the CANCEL a hang-up was waiting for.
func (c *call) noteProvisional() {
	c.mu.Lock()
	c.provisionalSeen = true
	c.mu.Unlock()
	c.sendCancelWhenDue()
}

// sendCancelWhenDue sends the CANCEL of the INVITE in uac once the user hung
// up and that INVITE got a provisional response, once per INVITE.
func (c *call) sendCancelWhenDue() {
	c.mu.Lock()
	dcs := c.uac
	due := dcs != nil && c.cancelWanted && c.provisionalSeen && !c.cancelSent
	if due {
		c.cancelSent = true
	}
	c.mu.Unlock()
	if due {
		c.goCall(func() { c.sendCancel(dcs) })
	}
}

// sendCancel sends the CANCEL of dcs's INVITE, then gives the INVITE's
// final response 64*T1 to come before abandoning the transaction.
func (c *call) sendCancel(dcs *sipgo.DialogClientSession) {
	ctx, cancel := context.WithTimeout(c.p.ctx, 64*sip.T1)
	defer cancel()
	var responses <-chan *sip.Response
	var txDone <-chan struct{}
	tx, err := c.p.dialogUA.Client.TransactionRequest(ctx, newCancelRequest(dcs.InviteRequest), keepRequestAsBuilt)
	if err != nil {
		c.log.Warn("CANCEL not sent", "error", err)
	} else {
		defer tx.Terminate()
		responses, txDone = tx.Responses(), tx.Done()
	}
	for {
		select {
		case <-responses: // the CANCEL's own 200 says nothing about the INVITE
		case <-txDone:
			responses, txDone = nil, nil
		case <-c.done:
			return
		case <-ctx.Done():
			c.log.Warn("no final response to the cancelled INVITE; abandoning it")
			c.mu.Lock()
			abandon := c.cancelInvite
			c.mu.Unlock()
			if abandon != nil {
				abandon()
			}
			return
		}
	}
}

// newCancelRequest builds the CANCEL of invite as RFC 3261 §9.1 has it:
// the INVITE's Request-URI, Call-ID, To, From, CSeq number and Route set,
// and a single Via equal to the INVITE's top one, sent where the INVITE
// went.
func newCancelRequest(invite *sip.Request) *sip.Request {
	req := sip.NewRequest(sip.CANCEL, invite.Recipient)
	req.AppendHeader(sip.HeaderClone(invite.Via()))
	maxFwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(&maxFwd)
	req.AppendHeader(sip.HeaderClone(invite.From()))
	req.AppendHeader(sip.HeaderClone(invite.To()))
	req.AppendHeader(sip.HeaderClone(invite.CallID()))
	req.AppendHeader(&sip.CSeqHeader{SeqNo: invite.CSeq().SeqNo, MethodName: sip.CANCEL})
	sip.CopyHeaders("Route", invite, req)
	req.SetBody(nil)
	req.SetTransport(invite.Transport())
	req.SetDestination(invite.Destination())
	req.SetSource(invite.Source())
	req.Laddr = invite.Laddr
	return req
}

// keepRequestAsBuilt is a client option that leaves a request's headers as
// they are (sipgo's default build would add a new Via and CSeq).
func keepRequestAsBuilt(*sipgo.Client, *sip.Request) error { return nil }

// endCrossedAnswer ends a dialog whose 2xx crossed our CANCEL: ACK, then
// BYE (RFC 3261 §15), and the call ends as cancelled.
func (c *call) endCrossedAnswer(dcs *sipgo.DialogClientSession) {
	ctx, cancel := context.WithTimeout(c.p.ctx, 64*sip.T1)
	defer cancel()
	if err := dcs.Ack(ctx); err != nil {
		c.log.Warn("ACK of the answer that crossed our CANCEL failed", "error", err)
	}
	if err := dcs.Bye(ctx); err != nil {
		c.log.Warn("BYE after the answer that crossed our CANCEL failed", "error", err)
	}
	c.terminate(nil, CallStatusPayload{Reason: "canceled"})
}
