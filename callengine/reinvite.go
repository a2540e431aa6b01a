package callengine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/parlo-voip/parlo/callengine/media"
)

// maxGlareRetries bounds re-sends after 491 Request Pending.
const maxGlareRetries = 3

// localDirection is the most we want to do: sendonly while we hold.
func localDirection(paused bool) media.Direction {
	if paused {
		return media.SendOnly
	}
	return media.SendRecv
}

// hold puts the call on hold: re-INVITE offering sendonly (RFC 3264 §8.4).
func (c *call) hold(ctx context.Context) error {
	c.opMu.Lock()
	defer c.opMu.Unlock()
	s := c.snapshot()
	if !s.IsEstablished() {
		return fmt.Errorf("%w: hold needs an established call", ErrInvalidState)
	}
	if s.Paused {
		return nil
	}
	// Hold stops a running share and remembers it for resume (Wazo SDK).
	c.mu.Lock()
	sharing := c.sharing
	c.mu.Unlock()
	if sharing != nil {
		mon := sharing.Sender().Monitor()
		if err := c.stopShare(ctx, false); err != nil {
			return err
		}
		c.mu.Lock()
		c.resumeShare = &mon
		c.mu.Unlock()
	}
	if err := c.reinvite(ctx, media.SendOnly, nil); err != nil {
		return err
	}
	c.update(func(s *CallSession) { s.Paused = true }, []string{EventCallHeld}, nil)
	return nil
}

// resume takes the call off hold (sendrecv) and unmutes, as the SDK does.
func (c *call) resume(ctx context.Context) error {
	c.opMu.Lock()
	defer c.opMu.Unlock()
	s := c.snapshot()
	if !s.IsEstablished() {
		return fmt.Errorf("%w: resume needs an established call", ErrInvalidState)
	}
	if !s.Paused {
		return nil
	}
	if err := c.reinvite(ctx, media.SendRecv, nil); err != nil {
		return err
	}
	if m := c.mediaSession(); m != nil && s.Muted {
		m.SetMuted(false)
	}
	c.tap.SetMicMuted(false)
	c.update(func(s *CallSession) { s.Paused = false; s.Muted = false }, []string{EventCallResumed}, nil)
	c.mu.Lock()
	mon := c.resumeShare
	c.resumeShare = nil
	c.mu.Unlock()
	if mon != nil {
		if err := c.startShare(ctx, *mon); err != nil {
			c.emit(EventCallError, CallStatusPayload{Error: "restoring the screen share after resume: " + err.Error()})
		}
	}
	return nil
}

// reinvite sends one re-INVITE with a new offer for dir and applies the
// answer. Never two at once: a second caller gets ErrReinvitePending. On 491
// it waits the RFC 3261 §14.1 time (2.1–4 s if we own the Call-ID, i.e. we
// are the caller, else 0–2 s) and resends the same offer.
func (c *call) reinvite(ctx context.Context, dir media.Direction, headers []sip.Header) error {
	if !c.reinvitePending.CompareAndSwap(false, true) {
		return ErrReinvitePending
	}
	defer c.reinvitePending.Store(false)
	d := c.dialog()
	m := c.mediaSession()
	if d == nil || m == nil {
		return fmt.Errorf("%w: no dialog", ErrInvalidState)
	}
	for attempt := 0; ; attempt++ {
		offer, err := m.CreateOffer(ctx, dir)
		if err != nil {
			return fmt.Errorf("callengine: re-offer: %w", err)
		}
		req := sip.NewRequest(sip.INVITE, c.remoteTarget())
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		for _, h := range headers {
			req.AppendHeader(h)
		}
		req.SetBody(offer)
		c.reinviteInFlight.Store(true)
		res, err := d.Do(ctx, req)
		c.reinviteInFlight.Store(false)
		if err != nil {
			if oc, ok := m.(media.OfferCanceler); ok {
				_ = oc.CancelOffer()
			}
			return fmt.Errorf("%w: re-INVITE: %w", ErrRequestFailed, err)
		}
		if !res.IsSuccess() {
			// Back to the last negotiated state, so that during the back-off
			// a crossing offer from the peer can be answered and our retry
			// offers afresh from whatever that negotiation left.
			if oc, ok := m.(media.OfferCanceler); ok {
				if err := oc.CancelOffer(); err != nil {
					c.log.Warn("abandoning the refused offer", "error", err)
				}
			}
		}
		if res.StatusCode == sip.StatusRequestPending && attempt < maxGlareRetries {
			delay := glareDelay(c.snapshot().IsCaller)
			c.log.Info("re-INVITE glare: 491, retrying", "after", delay, "attempt", attempt+1)
			c.glares.Add(1)
			if err := sleepCtx(ctx, delay); err != nil {
				return err
			}
			continue
		}
		if !res.IsSuccess() {
			return fmt.Errorf("%w: re-INVITE answered %d %s", ErrRequestFailed, res.StatusCode, res.Reason)
		}
		// ACK the 2xx within the dialog (same CSeq number, RFC 3261 §13.2.2.4).
		ack := sip.NewRequest(sip.ACK, c.remoteTarget())
		if err := d.WriteRequest(ack); err != nil {
			c.log.Warn("ACK of re-INVITE failed", "error", err)
		}
		if err := m.ApplyAnswer(ctx, res.Body()); err != nil {
			c.emit(EventCallError, CallStatusPayload{Error: "bad SDP in re-INVITE answer: " + err.Error()})
			return fmt.Errorf("callengine: re-INVITE answer: %w", err)
		}
		c.emit(EventReinvite, ReinvitePayload{Response: res.StartLine(), Direction: m.Direction().String()})
		return nil
	}
}

func glareDelay(ownsCallID bool) time.Duration {
	if ownsCallID {
		return 2100*time.Millisecond + rand.N(1900*time.Millisecond)
	}
	return rand.N(2000 * time.Millisecond)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// onReinvite answers a re-INVITE from the peer from our current media
// state: the answer keeps our hold (sendonly) and follows theirs.
func (p *Phone) onReinvite(req *sip.Request, tx sip.ServerTransaction) {
	c, err := p.call(req.CallID().Value())
	if err != nil {
		respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	if !c.snapshot().IsEstablished() {
		respond(tx, req, sip.StatusRequestPending, "Request Pending")
		return
	}
	// Glare: our own re-INVITE transaction is open (RFC 3261 §14.2). During
	// our 491 back-off we answer the peer's offer normally; our retry then
	// offers afresh from the new state.
	if c.reinviteInFlight.Load() {
		respond(tx, req, sip.StatusRequestPending, "Request Pending")
		return
	}
	c.mu.Lock()
	uas := c.uas
	c.mu.Unlock()
	if uas != nil {
		if err := uas.ReadRequest(req, tx); err != nil {
			respond(tx, req, sip.StatusInternalServerError, "CSeq Out Of Order")
			return
		}
	}
	m := c.mediaSession()
	if m == nil {
		respond(tx, req, sip.StatusNotAcceptableHere, "Not Acceptable Here", warning("no media session"))
		return
	}
	if len(req.Body()) == 0 {
		// Session refresh by a PBX: we offer, the ACK answers.
		p.onLateOfferReinvite(c, req, tx)
		return
	}
	// The same complete check as a new call's offer (m-line cap, ICE,
	// fingerprint, crypto syntax) before the media session sees it.
	if _, err := media.CheckOffer(req.Body(), media.OfferCheck{SRTP: p.srtpPolicy(), Classic: true}); err != nil {
		c.log.Warn("re-INVITE offer refused", "error", err)
		respond(tx, req, sip.StatusNotAcceptableHere, "Not Acceptable Here", warning(err.Error()))
		return
	}
	ans, err := m.CreateAnswer(p.ctx, req.Body(), localDirection(c.snapshot().Paused))
	if err != nil {
		reason := "Not Acceptable Here"
		if !errors.Is(err, media.ErrBadSDP) && !errors.Is(err, media.ErrNoCommonCodec) {
			reason = "Media Error"
		}
		c.log.Warn("re-INVITE offer refused", "error", err)
		respond(tx, req, sip.StatusNotAcceptableHere, reason, warning(err.Error()))
		return
	}
	res := sip.NewSDPResponseFromRequest(req, ans)
	res.AppendHeader(&sip.ContactHeader{Address: p.dialogUA.ContactHDR.Address})
	c.answerRefresh(req, res)
	if err := tx.Respond(res); err != nil {
		c.log.Warn("200 to re-INVITE failed", "error", err)
		return
	}
	c.emit(EventReinvite, ReinvitePayload{Request: req.StartLine(), Direction: m.Direction().String()})
}
