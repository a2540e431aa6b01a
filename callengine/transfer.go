package callengine

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Transfer events (Parlo's; the Wazo SDK reports transfers through the
// calls' own events).
const (
	// EventTransferProgress carries the sipfrag status the transferee
	// reports in NOTIFY (RFC 3515 §2.4.5): payload status, reason.
	EventTransferProgress = "onTransferProgress"
	// EventTransferRequested fires at the transferee when the far end asks
	// it to call someone else (REFER): payload target, replaces.
	EventTransferRequested = "onTransferRequested"
)

// ErrTransferFailed is returned when the transferee could not reach the
// target; the original call is resumed.
var ErrTransferFailed = errors.New("callengine: transfer failed")

// transferTimeout bounds how long a transfer waits for the final NOTIFY.
const transferTimeout = 30 * time.Second

// Transfer is a blind transfer (RFC 5589 §6): hold the call, send REFER with
// Refer-To target, follow the transferee's NOTIFY progress, hang up when it
// reports success and resume the call when it fails.
func (p *Phone) Transfer(ctx context.Context, callID, target string) error {
	c, err := p.call(callID)
	if err != nil {
		return err
	}
	to, err := p.targetURI(target)
	if err != nil {
		return err
	}
	return c.transfer(ctx, "<"+to.String()+">")
}

// StartAttendedTransfer holds the call and places the consultation call to
// target (the Wazo SDK's atxfer(cs).init(target)); it returns the new call.
func (p *Phone) StartAttendedTransfer(ctx context.Context, callID, target string) (*CallSession, error) {
	c, err := p.call(callID)
	if err != nil {
		return nil, err
	}
	if err := c.hold(ctx); err != nil {
		return nil, err
	}
	return p.Call(ctx, target, CallOptions{})
}

// CompleteAttendedTransfer asks the held call's peer to replace our
// consultation call (REFER with Refer-To carrying Replaces, RFC 3891 and
// RFC 5589 §7), then hangs up the held call on success.
func (p *Phone) CompleteAttendedTransfer(ctx context.Context, callID, consultID string) error {
	c, err := p.call(callID)
	if err != nil {
		return err
	}
	k, err := p.call(consultID)
	if err != nil {
		return err
	}
	if !k.snapshot().IsEstablished() {
		return fmt.Errorf("%w: the consultation call is not established", ErrInvalidState)
	}
	referTo, err := k.replacesReferTo()
	if err != nil {
		return err
	}
	return c.transfer(ctx, referTo)
}

// CancelAttendedTransfer hangs up the consultation call and resumes the
// held one (atxfer(cs).cancel()).
func (p *Phone) CancelAttendedTransfer(ctx context.Context, callID, consultID string) error {
	if k, err := p.call(consultID); err == nil {
		_ = k.hangup(ctx)
	}
	return p.Resume(ctx, callID)
}

// replacesReferTo is the Refer-To value that makes the transferee's INVITE
// replace this dialog at its remote end: the remote target with an escaped
// Replaces header (RFC 3891 §3: to-tag and from-tag as the recipient of the
// INVITE sees them, i.e. its local tag is the to-tag).
func (c *call) replacesReferTo() (string, error) {
	c.mu.Lock()
	var localTag, remoteTag string
	switch {
	case c.uac != nil && c.uac.InviteResponse != nil:
		localTag, _ = c.uac.InviteRequest.From().Params.Get("tag")
		remoteTag, _ = c.uac.InviteResponse.To().Params.Get("tag")
	case c.uas != nil && c.uas.InviteResponse != nil:
		localTag, _ = c.uas.InviteResponse.To().Params.Get("tag")
		remoteTag, _ = c.uas.InviteRequest.From().Params.Get("tag")
	}
	c.mu.Unlock()
	if localTag == "" || remoteTag == "" {
		return "", fmt.Errorf("%w: consultation dialog has no tags yet", ErrInvalidState)
	}
	target := c.remoteTarget()
	target.Headers = nil
	replaces := c.id + ";to-tag=" + remoteTag + ";from-tag=" + localTag
	return "<" + target.String() + "?Replaces=" + url.QueryEscape(replaces) + ">", nil
}

// transfer sends REFER on this call and follows the NOTIFYs.
func (c *call) transfer(ctx context.Context, referTo string) error {
	s := c.snapshot()
	if !s.IsEstablished() {
		return fmt.Errorf("%w: transfer needs an established call", ErrInvalidState)
	}
	if !s.Paused {
		if err := c.hold(ctx); err != nil {
			return err
		}
	}
	progress := make(chan int, 8)
	c.mu.Lock()
	c.referProgress = progress
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.referProgress = nil
		c.mu.Unlock()
	}()
	d := c.dialog()
	req := sip.NewRequest(sip.REFER, c.remoteTarget())
	req.AppendHeader(sip.NewHeader("Refer-To", referTo))
	me := c.p.fromURI()
	req.AppendHeader(sip.NewHeader("Referred-By", "<"+me.String()+">"))
	res, err := d.Do(ctx, req)
	if err != nil {
		return fmt.Errorf("%w: REFER: %v", ErrRequestFailed, err)
	}
	if !res.IsSuccess() {
		c.resumeAfterFailedTransfer(ctx)
		return fmt.Errorf("%w: REFER answered %d %s", ErrTransferFailed, res.StatusCode, res.Reason)
	}
	tctx, cancel := context.WithTimeout(ctx, transferTimeout)
	defer cancel()
	for {
		select {
		case st := <-progress:
			switch {
			case st >= 200 && st < 300:
				// RFC 5589 §6.1: the transferor ends its dialog once the
				// transfer succeeded.
				return c.hangup(ctx)
			case st >= 300:
				c.resumeAfterFailedTransfer(ctx)
				return fmt.Errorf("%w: the target answered %d", ErrTransferFailed, st)
			}
		case <-c.done:
			return nil // the transferee hung up on us: done as well
		case <-tctx.Done():
			c.resumeAfterFailedTransfer(ctx)
			return fmt.Errorf("%w: no final NOTIFY: %v", ErrTransferFailed, tctx.Err())
		}
	}
}

func (c *call) resumeAfterFailedTransfer(ctx context.Context) {
	if err := c.resume(ctx); err != nil {
		c.log.Warn("resume after failed transfer", "error", err)
	}
}

// onNotify takes the transferee's progress reports (Event: refer, body
// message/sipfrag) for a transfer we started.
func (p *Phone) onNotify(req *sip.Request, tx sip.ServerTransaction) {
	c, err := p.call(req.CallID().Value())
	if err != nil {
		respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	ev := strings.ToLower(headerValue(req, "Event"))
	if !strings.HasPrefix(ev, "refer") {
		respond(tx, req, 489, "Bad Event")
		return
	}
	// Report before answering: the transferee sends its next NOTIFY only
	// after our 200, so progress is reported in order.
	defer respond(tx, req, sip.StatusOK, "OK")
	status, reason, ok := parseSipfrag(string(req.Body()))
	if !ok {
		return
	}
	c.emit(EventTransferProgress, map[string]any{"status": status, "reason": reason})
	c.mu.Lock()
	ch := c.referProgress
	c.mu.Unlock()
	if ch != nil {
		select {
		case ch <- status:
		default:
		}
	}
}

// parseSipfrag reads the status line of a message/sipfrag body
// ("SIP/2.0 200 OK", RFC 3420).
func parseSipfrag(body string) (int, string, bool) {
	line, _, _ := strings.Cut(strings.TrimSpace(body), "\n")
	line = strings.TrimSpace(line)
	f := strings.SplitN(line, " ", 3)
	if len(f) < 2 || !strings.HasPrefix(f[0], "SIP/") {
		return 0, "", false
	}
	code, err := strconv.Atoi(f[1])
	if err != nil || code < 100 || code > 699 {
		return 0, "", false
	}
	reason := ""
	if len(f) == 3 {
		reason = f[2]
	}
	return code, reason, true
}

// onRefer is the transferee side: accept the REFER (202), call the target
// (with Replaces when given), and report progress in NOTIFYs until the new
// call is answered or fails (RFC 3515 §2.4.4).
func (p *Phone) onRefer(req *sip.Request, tx sip.ServerTransaction) {
	c, err := p.call(req.CallID().Value())
	if err != nil || !c.snapshot().IsEstablished() {
		respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	target, replaces, err := parseReferTo(headerValue(req, "Refer-To"))
	if err != nil {
		respond(tx, req, sip.StatusBadRequest, "Bad Refer-To", warning(err.Error()))
		return
	}
	respond(tx, req, 202, "Accepted")
	c.emit(EventTransferRequested, map[string]any{"target": target, "replaces": replaces != ""})
	go c.followRefer(target, replaces)
}

// followRefer places the transfer call and reports it to the transferor.
func (c *call) followRefer(target, replaces string) {
	ctx, cancel := context.WithTimeout(c.p.ctx, transferTimeout)
	defer cancel()
	c.notifyRefer(ctx, 100, "Trying", false)
	opts := CallOptions{Headers: map[string]string{}, KeepOthers: true}
	if replaces != "" {
		opts.Headers["Replaces"] = replaces
	}
	if rb := c.p.fromURI(); rb.Host != "" {
		opts.Headers["Referred-By"] = "<" + rb.String() + ">"
	}
	sub := c.p.Subscribe()
	defer sub.Close()
	s, err := c.p.Call(ctx, target, opts)
	if err != nil {
		c.notifyRefer(ctx, 503, "Service Unavailable", true)
		return
	}
	for {
		select {
		case ev, ok := <-sub.C():
			if !ok {
				return
			}
			if ev.Session == nil || ev.Session.SipCallID != s.SipCallID {
				continue
			}
			switch ev.Name {
			case EventCallAccepted:
				c.notifyRefer(ctx, 200, "OK", true)
				return
			case EventCallRejected:
				code, _ := ev.Payload["status"].(int)
				if code == 0 {
					code = 500
				}
				c.notifyRefer(ctx, code, "Failed", true)
				return
			case EventCallEnded:
				c.notifyRefer(ctx, 487, "Request Terminated", true)
				return
			}
		case <-ctx.Done():
			c.notifyRefer(context.Background(), 408, "Request Timeout", true)
			return
		}
	}
}

// notifyRefer sends one NOTIFY of the implicit refer subscription.
func (c *call) notifyRefer(ctx context.Context, code int, reason string, final bool) {
	d := c.dialog()
	if d == nil || c.snapshot().IsTerminated() {
		return
	}
	req := sip.NewRequest(sip.NOTIFY, c.remoteTarget())
	req.AppendHeader(sip.NewHeader("Event", "refer"))
	state := "active;expires=60"
	if final {
		state = "terminated;reason=noresource"
	}
	req.AppendHeader(sip.NewHeader("Subscription-State", state))
	req.AppendHeader(sip.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
	req.SetBody([]byte(fmt.Sprintf("SIP/2.0 %d %s\r\n", code, reason)))
	if _, err := d.Do(ctx, req); err != nil {
		c.log.Debug("NOTIFY (refer)", "error", err)
	}
}

// parseReferTo splits "<sip:c@host?Replaces=callid%3Bto-tag%3D1%3Bfrom-tag%3D2>"
// into the target URI and the unescaped Replaces value.
func parseReferTo(v string) (target, replaces string, err error) {
	v = strings.TrimSpace(v)
	if i := strings.Index(v, "<"); i >= 0 {
		j := strings.Index(v[i:], ">")
		if j < 0 {
			return "", "", errors.New("Refer-To: unterminated <")
		}
		v = v[i+1 : i+j]
	}
	uri, query, _ := strings.Cut(v, "?")
	var u sip.Uri
	if err := sip.ParseUri(uri, &u); err != nil || u.Host == "" {
		return "", "", fmt.Errorf("Refer-To %q: not a SIP URI", uri)
	}
	if query != "" {
		q, err := url.ParseQuery(query)
		if err != nil {
			return "", "", fmt.Errorf("Refer-To headers: %v", err)
		}
		for k, vals := range q {
			if strings.EqualFold(k, "Replaces") && len(vals) > 0 {
				replaces = vals[0]
			}
		}
	}
	return uri, replaces, nil
}

// parseReplaces reads a Replaces header value (RFC 3891 §6.1).
func parseReplaces(v string) (callID, toTag, fromTag string, ok bool) {
	parts := strings.Split(v, ";")
	callID = strings.TrimSpace(parts[0])
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(k) {
		case "to-tag":
			toTag = val
		case "from-tag":
			fromTag = val
		}
	}
	return callID, toTag, fromTag, callID != "" && toTag != "" && fromTag != ""
}

// replacedCall finds the established call an INVITE with Replaces names:
// its Call-ID, our tag as to-tag and the peer's as from-tag (RFC 3891 §3).
func (p *Phone) replacedCall(v string) (*call, bool) {
	id, toTag, fromTag, ok := parseReplaces(v)
	if !ok {
		return nil, false
	}
	c, err := p.call(id)
	if err != nil || !c.snapshot().IsEstablished() {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var local, remote string
	switch {
	case c.uac != nil && c.uac.InviteResponse != nil:
		local, _ = c.uac.InviteRequest.From().Params.Get("tag")
		remote, _ = c.uac.InviteResponse.To().Params.Get("tag")
	case c.uas != nil && c.uas.InviteResponse != nil:
		local, _ = c.uas.InviteResponse.To().Params.Get("tag")
		remote, _ = c.uas.InviteRequest.From().Params.Get("tag")
	}
	return c, local == toTag && remote == fromTag
}
