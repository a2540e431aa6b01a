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
	req.AppendHeader(newHeader("Refer-To", referTo))
	me := c.p.fromURI()
	req.AppendHeader(newHeader("Referred-By", "<"+me.String()+">"))
	res, err := d.Do(ctx, req)
	if err != nil {
		return fmt.Errorf("%w: REFER: %w", ErrRequestFailed, err)
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
			return fmt.Errorf("%w: no final NOTIFY: %w", ErrTransferFailed, tctx.Err())
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
	if p.onSubscriptionNotify(req, tx) {
		return
	}
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
	c.emit(EventTransferProgress, TransferProgressPayload{Status: status, Reason: reason})
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

// onRefer is the transferee side (RFC 3515 §2.4.2). A REFER asks Parlo to
// call someone on the peer's word, which through a registered account costs
// the user money and in direct mode makes Parlo send SIP anywhere: it is
// never obeyed without consent. The target is checked first (the account's
// domain), then the policy decides or the user is asked (onTransferRequested,
// AcceptTransfer / DeclineTransfer); only then is the REFER answered, 202 on
// consent (the handler goroutine holds the transaction meanwhile, within
// the transferor's Timer F), 603 when declined or unanswered, 403 when the
// policy or the target refuses.
func (p *Phone) onRefer(req *sip.Request, tx sip.ServerTransaction) {
	c, err := p.call(req.CallID().Value())
	if err != nil || !c.snapshot().IsEstablished() {
		respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	ref, err := parseReferTo(headerValue(req, "Refer-To"))
	if err != nil {
		respond(tx, req, sip.StatusBadRequest, "Bad Refer-To", warning(err.Error()))
		return
	}
	ref.referredBy = referredBy(req)
	// One REFER at a time per call, from its arrival until the new call's
	// final NOTIFY. RFC 3515 §2.4.6 lets a dialog carry several refer
	// subscriptions, but each would place a call on the same consent;
	// like a re-INVITE arriving while one is pending (RFC 3261 §14.2),
	// the second gets 491 Request Pending and may be sent again later.
	if !c.referBusy.CompareAndSwap(false, true) {
		respond(tx, req, sip.StatusRequestPending, "Request Pending", warning("a transfer request of this call is pending"))
		return
	}
	release := func() { c.referBusy.Store(false) }
	if why := p.referTargetRefused(ref.target); why != "" {
		release()
		c.log.Info("REFER refused", "target", ref.target.String(), "why", why)
		respond(tx, req, sip.StatusForbidden, "Forbidden", warning(why))
		return
	}
	policy := p.transferPolicy()
	if policy == TransferRefuse {
		release()
		respond(tx, req, sip.StatusForbidden, "Forbidden", warning("transfers are refused by this phone's policy"))
		return
	}
	ask := policy == TransferAsk || p.account() == nil // accept-same-domain needs a domain
	payload := TransferRequestedPayload{
		Target:     ref.target.String(),
		ReferredBy: ref.referredBy,
		Replaces:   ref.replaces != nil,
		Pending:    ask,
	}
	accepted, why := true, ""
	if ask {
		decided := make(chan bool, 1)
		c.mu.Lock()
		c.referDecision = decided
		c.mu.Unlock()
		c.emit(EventTransferRequested, payload)
		accepted, why = c.awaitReferDecision(decided)
		c.mu.Lock()
		c.referDecision = nil
		c.mu.Unlock()
	} else {
		c.emit(EventTransferRequested, payload)
	}
	if !accepted {
		release()
		respond(tx, req, 603, "Decline", warning(why))
		c.emit(EventTransferRequestEnded, TransferRequestEndedPayload{Accepted: false, Reason: why})
		return
	}
	respond(tx, req, sip.StatusAccepted, "Accepted")
	c.emit(EventTransferRequestEnded, TransferRequestEndedPayload{Accepted: true})
	c.goCall(func() {
		defer release()
		c.followRefer(ref)
	})
}

// referConsentTimeout is how long a REFER waits for the user: under the
// transferor's non-INVITE transaction timeout (Timer F, 64*T1 = 32 s, RFC
// 3261 §17.1.2.2), so it hears our 603 rather than a timeout.
const referConsentTimeout = 25 * time.Second

// awaitReferDecision waits for AcceptTransfer / DeclineTransfer.
func (c *call) awaitReferDecision(decided <-chan bool) (bool, string) {
	wait := c.p.opts.TransferConsentTimeout
	if wait <= 0 || wait > referConsentTimeout {
		wait = referConsentTimeout
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case ok := <-decided:
		if !ok {
			return false, "the user declined the transfer"
		}
		return true, ""
	case <-t.C:
		return false, "the user did not answer the transfer request"
	case <-c.done:
		return false, "the call ended"
	case <-c.p.ctx.Done():
		return false, "the phone is closing"
	}
}

// AcceptTransfer consents to the transfer the far end of call id asked
// for (onTransferRequested with pending true): Parlo answers the REFER 202
// and calls the target.
func (p *Phone) AcceptTransfer(ctx context.Context, id string) error {
	return p.decideTransfer(ctx, id, true)
}

// DeclineTransfer refuses it: the REFER is answered 603 Decline and the
// call goes on as it was.
func (p *Phone) DeclineTransfer(ctx context.Context, id string) error {
	return p.decideTransfer(ctx, id, false)
}

func (p *Phone) decideTransfer(ctx context.Context, id string, accept bool) error {
	c, err := p.call(id)
	if err != nil {
		return err
	}
	c.mu.Lock()
	ch := c.referDecision
	c.referDecision = nil
	c.mu.Unlock()
	if ch == nil {
		return fmt.Errorf("%w: no transfer request is pending on this call", ErrInvalidState)
	}
	select {
	case ch <- accept:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// referTargetRefused says why a Refer-To target is refused before anyone
// is asked, or "". With an account the target must be in the account's
// domain (its AOR's host, its realm or its registrar's host): a REFER is
// the peer's word, and a call elsewhere through our account is toll fraud.
// In direct mode there is no domain: only the user's consent decides.
func (p *Phone) referTargetRefused(target sip.Uri) string {
	if target.Scheme != "sip" && target.Scheme != "sips" {
		return "Refer-To must be a sip: or sips: URI"
	}
	a := p.account()
	if a == nil {
		return ""
	}
	for _, d := range a.domains() {
		if strings.EqualFold(target.Host, d) {
			return ""
		}
	}
	return "Refer-To " + target.Host + " is outside the account's domain"
}

// referredBy is the Referred-By of a REFER, rebuilt as <uri> (RFC 3892
// §3: the transferee copies it into the INVITE it sends, so the target
// learns who asked). A REFER without one, or with one that does not parse,
// names its sender, the From of the REFER.
func referredBy(req *sip.Request) string {
	if v := headerValue(req, "Referred-By"); v != "" {
		var u sip.Uri
		params := sip.NewParams()
		if _, err := sip.ParseAddressValue(v, &u, &params); err == nil && u.Host != "" {
			u.Headers = nil
			return "<" + u.String() + ">"
		}
	}
	if from := req.From(); from != nil {
		u := from.Address
		u.Headers = nil
		return "<" + u.String() + ">"
	}
	return ""
}

// followRefer places the transfer call and reports it to the transferor.
func (c *call) followRefer(ref referTo) {
	ctx, cancel := context.WithTimeout(c.p.ctx, transferTimeout)
	defer cancel()
	c.notifyRefer(ctx, 100, "Trying", false)
	opts := CallOptions{Headers: map[string]string{}, KeepOthers: true}
	if ref.replaces != nil {
		opts.Headers["Replaces"] = ref.replaces.String()
	}
	if ref.referredBy != "" {
		opts.Headers["Referred-By"] = ref.referredBy
	}
	sub := c.p.Subscribe()
	defer sub.Close()
	s, err := c.p.Call(ctx, ref.target.String(), opts)
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
				st, _ := ev.Payload.(CallStatusPayload)
				code := st.Status
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
		case <-c.done:
			// The referring dialog ended: nobody to NOTIFY; the new call
			// goes on by itself.
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

// referTo is a parsed Refer-To (RFC 3515 §2.1).
type referTo struct {
	target     sip.Uri   // without URI headers
	replaces   *replaces // from ?Replaces=, parsed and checked
	referredBy string    // set by onRefer
}

// parseReferTo splits "<sip:c@host?Replaces=callid%3Bto-tag%3D1%3Bfrom-tag%3D2>"
// into the target URI and its Replaces, parsed into its parts: the
// percent-decoded text is never used as such, since it may carry CR/LF.
// Other URI headers are dropped (RFC 3261 §19.1.5 lets the recipient
// ignore them; Parlo builds its INVITE's headers itself).
func parseReferTo(v string) (referTo, error) {
	var r referTo
	v = strings.TrimSpace(v)
	if i := strings.Index(v, "<"); i >= 0 {
		j := strings.Index(v[i:], ">")
		if j < 0 {
			return r, errors.New("Refer-To: unterminated <")
		}
		v = v[i+1 : i+j]
	}
	uri, query, _ := strings.Cut(v, "?")
	if err := sip.ParseUri(uri, &r.target); err != nil || r.target.Host == "" {
		return r, fmt.Errorf("Refer-To %q: not a SIP URI", headerText(uri))
	}
	r.target.Headers = nil
	if query != "" {
		q, err := url.ParseQuery(query)
		if err != nil {
			return r, fmt.Errorf("Refer-To headers: %w", err)
		}
		for k, vals := range q {
			if strings.EqualFold(k, "Replaces") && len(vals) > 0 {
				rep, err := parseReplaces(vals[0])
				if err != nil {
					return r, err
				}
				r.replaces = &rep
			}
		}
	}
	return r, nil
}

// replaces is a Replaces header value (RFC 3891 §6.1): the dialog a new
// INVITE takes over.
type replaces struct {
	callID, toTag, fromTag string
	earlyOnly              bool
}

// String rebuilds the header value from the checked parts.
func (r replaces) String() string {
	s := r.callID + ";to-tag=" + r.toTag + ";from-tag=" + r.fromTag
	if r.earlyOnly {
		s += ";early-only"
	}
	return s
}

// errBadReplaces is wrapped by parseReplaces' errors.
var errBadReplaces = errors.New("bad Replaces")

// parseReplaces reads a Replaces value (RFC 3891 §6.1: callid *(SEMI
// replaces-param), to-tag and from-tag required). Every part must be made
// of its grammar's characters (Call-ID: word ["@" word]; tags: token), so
// nothing else — CR, LF, a quote, a space — can pass into a header.
func parseReplaces(v string) (replaces, error) {
	var r replaces
	parts := strings.Split(v, ";")
	r.callID = strings.Trim(parts[0], " \t")
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(p, "=")
		// Only blanks around the parts are tolerated (SEMI and EQUAL allow
		// them, RFC 3261 §25.1); a CR or LF is left in, and refused below.
		switch strings.ToLower(strings.Trim(k, " \t")) {
		case "to-tag":
			r.toTag = strings.Trim(val, " \t")
		case "from-tag":
			r.fromTag = strings.Trim(val, " \t")
		case "early-only":
			r.earlyOnly = true
		}
	}
	if !isCallID(r.callID) {
		return r, fmt.Errorf("%w: Call-ID %q", errBadReplaces, headerText(r.callID))
	}
	if !isToken(r.toTag) || !isToken(r.fromTag) {
		return r, fmt.Errorf("%w: to-tag %q and from-tag %q must be tokens", errBadReplaces, headerText(r.toTag), headerText(r.fromTag))
	}
	return r, nil
}

func isToken(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, c := range s {
		if !isTokenChar(c) {
			return false
		}
	}
	return true
}

// isCallID is RFC 3261 §25.1 callid: word ["@" word].
func isCallID(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	a, b, two := strings.Cut(s, "@")
	for _, w := range []string{a, b} {
		for _, c := range w {
			if !isWordChar(c) {
				return false
			}
		}
	}
	return a != "" && (!two || b != "")
}

// replacedCall finds the established call an INVITE with Replaces names:
// its Call-ID, our tag as to-tag and the peer's as from-tag (RFC 3891 §3).
func (p *Phone) replacedCall(v string) (*call, bool) {
	r, err := parseReplaces(v)
	if err != nil {
		return nil, false
	}
	id, toTag, fromTag := r.callID, r.toTag, r.fromTag
	c, err := p.call(id)
	if err != nil {
		return nil, false
	}
	if s := c.snapshot(); !s.IsEstablished() {
		// RFC 3891 §3: an early dialog may be replaced only at the UA
		// that initiated it: a call we place that rings somewhere, taken
		// over by a colleague's directed pickup.
		if !s.IsCaller || s.IsTerminated() {
			return nil, false
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.uac == nil || c.earlyTag == "" {
			return nil, false
		}
		local, _ := c.uac.InviteRequest.From().Params.Get("tag")
		return c, local == toTag && c.earlyTag == fromTag
	}
	if r.earlyOnly {
		// The dialog was answered meanwhile: the pickup comes too late.
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
