package callengine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/parlo-voip/parlo/callengine/media"
)

// Late offer (RFC 3261 §13.2.1, RFC 3264 §2): an INVITE or re-INVITE
// without a body asks us to make the offer. It goes in our 2xx, and the
// peer's answer comes in its ACK (RFC 3261 §13.2.2.4: "If the 2xx contains
// an offer, the ACK MUST carry an answer in its body"). PBXes send offerless
// INVITEs in transfers and click-to-call, and offerless re-INVITEs to
// refresh a session. An ACK without an answer, or with one we cannot use,
// leaves the session without media: we end the dialog with a BYE that says
// why (Reason, RFC 3326).

// ErrNoAnswerInACK is the error of a late-offer call whose ACK carried no
// usable answer.
var ErrNoAnswerInACK = errors.New("callengine: no usable SDP answer in the ACK")

// lateAnswerTimeout bounds the wait for the ACK of an offerless re-INVITE's
// 2xx: the 2xx is retransmitted for 64*T1 (RFC 3261 §13.3.1.4).
const lateAnswerTimeout = 32 * time.Second

// lateOffer is our offer sent in a 2xx, waiting for the ACK's answer.
type lateOffer struct {
	cseq uint32
	ack  chan []byte // the ACK's body; buffered, written once
}

// lateOfferProfile is the profile we offer in a 2xx. We cannot fall back
// (the answer comes in the ACK, with no second chance), so the most likely
// one: WebRTC when the INVITE came over WebSocket (browsers, WebRTC
// gateways, RFC 7118), what last worked with the caller, and otherwise the
// classic path under the SRTP policy (offerless INVITEs come from PBXes and
// trunks, which speak it).
func (p *Phone) lateOfferProfile(req *sip.Request) offerProfile {
	if t := strings.ToLower(req.Transport()); t == TransportWS || t == TransportWSS {
		return offerProfile{path: media.PathWebRTC}
	}
	if p.opts.ClassicMediaFactory == nil {
		return offerProfile{path: media.PathWebRTC}
	}
	if from := req.From(); from != nil && p.profiles != nil {
		if o, ok := p.profiles.get(profileKey(from.Address)); ok {
			return o
		}
	}
	return offerProfile{path: media.PathClassic, srtp: p.srtpPolicy()}
}

// prepareLateOffer opens the media of an offerless incoming call and
// returns our offer, to be sent in the 200 OK.
func (c *call) prepareLateOffer(ctx context.Context) ([]byte, error) {
	req := c.uas.InviteRequest
	if err := c.newMediaProfile(c.p.lateOfferProfile(req)); err != nil {
		_ = c.uas.Respond(sip.StatusInternalServerError, "Media Error", nil, warning(err.Error()))
		c.terminate([]string{EventCallError}, CallStatusPayload{Error: err.Error()})
		return nil, err
	}
	offer, err := c.mediaSession().CreateOffer(ctx, media.SendRecv)
	if err != nil {
		_ = c.uas.Respond(sip.StatusInternalServerError, "Media Error", nil, warning(err.Error()))
		c.terminate([]string{EventCallError}, CallStatusPayload{Error: err.Error()})
		return nil, fmt.Errorf("callengine: late offer: %w", err)
	}
	lo := c.expectLateAnswer(req.CSeq().SeqNo)
	c.mu.Lock()
	c.answerSDP = offer
	c.lateInvite = lo
	c.mu.Unlock()
	return offer, nil
}

// expectLateAnswer registers that the ACK of the INVITE numbered cseq
// carries the answer to our offer.
func (c *call) expectLateAnswer(cseq uint32) *lateOffer {
	lo := &lateOffer{cseq: cseq, ack: make(chan []byte, 1)}
	c.mu.Lock()
	c.late = lo
	c.mu.Unlock()
	return lo
}

// takeLateAnswer hands the body of an ACK to the late offer it answers;
// called for every ACK of the call, before the dialog layer sees it.
func (c *call) takeLateAnswer(ack *sip.Request) {
	c.mu.Lock()
	lo := c.late
	if lo == nil || ack.CSeq() == nil || ack.CSeq().SeqNo != lo.cseq {
		c.mu.Unlock()
		return
	}
	c.late = nil
	c.mu.Unlock()
	lo.ack <- append([]byte(nil), ack.Body()...)
}

// finishLateOffer applies the ACK's answer to the offer of our 200 OK, on
// an offerless incoming call; it does nothing for a call that had an offer.
// The ACK has arrived when the 200's WriteResponse returns. On failure the
// call is ended by BYE with a Reason and the error returned.
func (c *call) finishLateOffer(ctx context.Context) error {
	if len(c.offer) != 0 {
		return nil
	}
	c.mu.Lock()
	lo := c.lateInvite
	c.mu.Unlock()
	if lo == nil {
		return nil
	}
	var body []byte
	select {
	case body = <-lo.ack:
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := c.applyLateAnswer(ctx, body); err != nil {
		c.byeForBadAnswer(err)
		return err
	}
	return nil
}

// applyLateAnswer applies an ACK body as the answer to our pending offer.
func (c *call) applyLateAnswer(ctx context.Context, body []byte) error {
	if len(body) == 0 {
		return fmt.Errorf("%w: the ACK has no body", ErrNoAnswerInACK)
	}
	m := c.mediaSession()
	if m == nil {
		return fmt.Errorf("%w: no media", ErrNoAnswerInACK)
	}
	if err := m.ApplyAnswer(ctx, body); err != nil {
		return fmt.Errorf("%w: %w", ErrNoAnswerInACK, err)
	}
	return nil
}

// byeForBadAnswer ends the call after an ACK without a usable answer: BYE
// with Reason (RFC 3326) carrying 488's cause, onCallError, onCallEnded.
func (c *call) byeForBadAnswer(cause error) {
	c.log.Warn("late offer: no usable answer in the ACK; ending the call", "error", cause)
	c.emit(EventCallError, CallStatusPayload{Error: cause.Error()})
	c.update(func(s *CallSession) { s.SipStatus = SipStatusTerminating }, []string{EventCallEnding}, nil)
	if d := c.dialog(); d != nil {
		bye := sip.NewRequest(sip.BYE, c.remoteTarget())
		bye.AppendHeader(sip.NewHeader("Reason", `SIP;cause=488;text="no usable SDP answer in the ACK"`))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if res, err := d.Do(ctx, bye); err != nil {
			c.log.Warn("BYE failed", "error", err)
		} else if !res.IsSuccess() {
			c.log.Warn("BYE refused", "status", res.StatusCode)
		}
		cancel()
	}
	c.terminate(nil, CallStatusPayload{Reason: "no answer in ACK"})
}

// onLateOfferReinvite answers an offerless re-INVITE: our offer for the
// current state in the 200, the answer from the ACK (applied in the
// background, by a goroutine that ends with the call or the ACK).
func (p *Phone) onLateOfferReinvite(c *call, req *sip.Request, tx sip.ServerTransaction) {
	m := c.mediaSession()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	offer, err := m.CreateOffer(ctx, localDirection(c.snapshot().Paused))
	cancel()
	if err != nil {
		c.log.Warn("offer for an offerless re-INVITE", "error", err)
		respond(tx, req, sip.StatusInternalServerError, "Media Error", warning(err.Error()))
		return
	}
	lo := c.expectLateAnswer(req.CSeq().SeqNo)
	res := sip.NewSDPResponseFromRequest(req, offer)
	res.AppendHeader(&sip.ContactHeader{Address: p.dialogUA.ContactHDR.Address})
	c.answerRefresh(req, res)
	if err := tx.Respond(res); err != nil {
		c.log.Warn("200 to offerless re-INVITE failed", "error", err)
		if oc, ok := m.(media.OfferCanceler); ok {
			_ = oc.CancelOffer()
		}
		return
	}
	c.goCall(func() {
		t := time.NewTimer(lateAnswerTimeout)
		defer t.Stop()
		var body []byte
		select {
		case body = <-lo.ack:
		case <-t.C:
		case <-c.done:
			return
		}
		ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
		defer cancel()
		if err := c.applyLateAnswer(ctx, body); err != nil {
			c.byeForBadAnswer(err)
			return
		}
		c.emit(EventReinvite, ReinvitePayload{Request: req.StartLine(), Direction: m.Direction().String(), LateOffer: true})
	})
}
