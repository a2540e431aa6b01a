package callengine

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
)

// allowMethods is our Allow header (RFC 3261 §20.5): UPDATE is there so
// a peer may refresh the session without a re-INVITE (RFC 4028 §7.4,
// RFC 3311).
const allowMethods = "INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE, INFO, UPDATE"

// statusIntervalTooSmall is 422 Session Interval Too Small (RFC 4028 §6).
const statusIntervalTooSmall = 422

const (
	// defaultSessionExpires is the interval we ask for: RFC 4028 §4
	// recommends 1800 s.
	defaultSessionExpires = 1800 * time.Second
	// defaultMinSE is RFC 4028 §4's floor: no Min-SE below 90 s.
	defaultMinSE = 90 * time.Second
	// maxTimerRetries bounds new INVITEs after 422 (RFC 4028 §7.4).
	maxTimerRetries = 2
)

// sessionExpires is the interval we ask for, 0 when timers are off.
func (p *Phone) sessionExpires() time.Duration {
	switch {
	case p.opts.SessionExpires < 0:
		return 0
	case p.opts.SessionExpires == 0:
		return defaultSessionExpires
	}
	return max(p.opts.SessionExpires, p.minSE())
}

// minSE is the shortest interval we accept.
func (p *Phone) minSE() time.Duration {
	if p.opts.MinSE > 0 {
		return p.opts.MinSE
	}
	return defaultMinSE
}

// sessionExpiresHeader reads Session-Expires (or its compact form x):
// "1800;refresher=uac". ok is false when absent or malformed.
func sessionExpiresHeader(m headerReader) (interval time.Duration, refresher string, ok bool) {
	h := m.GetHeader("Session-Expires")
	if h == nil {
		h = m.GetHeader("x")
	}
	if h == nil {
		return 0, "", false
	}
	parts := strings.Split(h.Value(), ";")
	secs, err := strconv.ParseUint(strings.TrimSpace(parts[0]), 10, 32)
	if err != nil || secs == 0 {
		return 0, "", false
	}
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, "refresher") {
			refresher = strings.ToLower(strings.TrimSpace(v))
		}
	}
	if refresher != "uac" && refresher != "uas" {
		refresher = ""
	}
	return time.Duration(secs) * time.Second, refresher, true
}

// minSEHeader reads Min-SE, 0 when absent or malformed.
func minSEHeader(m headerReader) time.Duration {
	h := m.GetHeader("Min-SE")
	if h == nil {
		return 0
	}
	v, _, _ := strings.Cut(h.Value(), ";")
	secs, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
	if err != nil {
		return 0
	}
	return time.Duration(secs) * time.Second
}

// headerReader is what the header helpers need of a request or response.
type headerReader interface {
	GetHeader(name string) sip.Header
	GetHeaders(name string) []sip.Header
}

// hasOption reports whether a Supported (k) or Require header lists tag.
func hasOption(m headerReader, header, compact, tag string) bool {
	for _, name := range []string{header, compact} {
		for _, h := range m.GetHeaders(name) {
			for _, v := range strings.Split(h.Value(), ",") {
				if strings.EqualFold(strings.TrimSpace(v), tag) {
					return true
				}
			}
		}
	}
	return false
}

func supportsTimer(m headerReader) bool { return hasOption(m, "Supported", "k", "timer") }

// allows reports whether the message's Allow header lists method.
func allows(m headerReader, method string) bool { return hasOption(m, "Allow", "", method) }

func seconds(d time.Duration) string { return strconv.Itoa(int(d / time.Second)) }

// addSessionTimer puts RFC 4028 §7.1's headers on an initial INVITE:
// Supported: timer, Session-Expires (no refresher: the UAS chooses, §7.1)
// and our Min-SE. se is the interval to ask for (raised after a 422).
func (p *Phone) addSessionTimer(req *sip.Request, se time.Duration) {
	if se <= 0 {
		return
	}
	req.AppendHeader(sip.NewHeader("Supported", "timer"))
	req.AppendHeader(sip.NewHeader("Session-Expires", seconds(se)))
	req.AppendHeader(sip.NewHeader("Min-SE", seconds(p.minSE())))
}

// raiseSessionExpires takes the Min-SE of a 422 as the interval of the
// next INVITE (RFC 4028 §7.4); false when that cannot help.
func (d *outgoingDial) raiseSessionExpires(res *sip.Response) bool {
	want := minSEHeader(res)
	if want <= d.sessionExpires || d.timerRetries >= maxTimerRetries {
		return false
	}
	d.sessionExpires = want
	d.timerRetries++
	return true
}

// refuseShortSession answers 422 to an INVITE asking for an interval under
// our Min-SE (RFC 4028 §9); it reports whether it did.
func (p *Phone) refuseShortSession(req *sip.Request, tx sip.ServerTransaction) bool {
	if p.sessionExpires() == 0 {
		return false
	}
	se, _, ok := sessionExpiresHeader(req)
	if !ok || se >= p.minSE() {
		return false
	}
	respond(tx, req, statusIntervalTooSmall, "Session Interval Too Small", sip.NewHeader("Min-SE", seconds(p.minSE())))
	return true
}

// sessionTimer is a call's negotiated RFC 4028 session timer. The refresher
// sends a refresh every half interval (§7.4, §9); the other side ends the
// call with BYE when none came by the interval minus min(32 s, interval/3)
// (§10).
type sessionTimer struct {
	mu        sync.Mutex
	interval  time.Duration
	weRefresh bool
	// useUpdate: the peer allows UPDATE, a refresh without SDP (RFC 3311),
	// cheaper than a re-INVITE and no media change.
	useUpdate bool
	// peerSupports: the peer listed timer in Supported; only then may our
	// responses Require it (§9).
	peerSupports bool

	kick chan struct{} // a refresh happened, or the role changed
	// sent and received count successful refreshes, ours and the peer's.
	sent, received atomic.Int64
}

func newSessionTimer(interval time.Duration, weRefresh, useUpdate, peerSupports bool) *sessionTimer {
	return &sessionTimer{interval: interval, weRefresh: weRefresh, useUpdate: useUpdate, peerSupports: peerSupports, kick: make(chan struct{}, 1)}
}

func (st *sessionTimer) get() (time.Duration, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.interval, st.weRefresh
}

// refreshed records a successful refresh and restarts the wait.
func (st *sessionTimer) refreshed() {
	st.received.Add(1)
	select {
	case st.kick <- struct{}{}:
	default:
	}
}

// negotiateAnswer decides, for the 200 to an initial INVITE, the session
// timer (RFC 4028 §9) and adds its headers to res.
func (c *call) negotiateAnswer(req *sip.Request, res *sip.Response) {
	ours := c.p.sessionExpires()
	if ours == 0 {
		return
	}
	uacSupports := supportsTimer(req)
	interval, refresher, ok := sessionExpiresHeader(req)
	if !ok {
		interval = ours
	}
	switch {
	case !uacSupports:
		// A UAC without timers cannot refresh: we do (§9).
		refresher = "uas"
	case refresher == "":
		refresher = "uac"
	}
	st := newSessionTimer(interval, refresher == "uas", allows(req, "UPDATE"), uacSupports)
	c.mu.Lock()
	c.timer = st
	c.mu.Unlock()
	res.AppendHeader(sip.NewHeader("Supported", "timer"))
	res.AppendHeader(sip.NewHeader("Session-Expires", seconds(interval)+";refresher="+refresher))
	if uacSupports {
		res.AppendHeader(sip.NewHeader("Require", "timer"))
	}
}

// startSessionTimer starts the call's session timer once the call is
// established: for a call we placed, from the 2xx (§7.2: no
// Session-Expires there, no timer); for one we answered, as negotiated in
// negotiateAnswer.
func (c *call) startSessionTimer() {
	if c.p.sessionExpires() == 0 {
		return
	}
	c.mu.Lock()
	st := c.timer
	if st == nil && c.uac != nil && c.uac.InviteResponse != nil {
		res := c.uac.InviteResponse
		if interval, refresher, ok := sessionExpiresHeader(res); ok {
			// §7.2: without a refresher parameter the UAC refreshes.
			st = newSessionTimer(interval, refresher != "uas", allows(res, "UPDATE"), supportsTimer(res) || hasOption(res, "Require", "", "timer"))
			c.timer = st
		}
	}
	c.mu.Unlock()
	if st != nil {
		c.goCall(func() { c.runSessionTimer(st) })
	}
}

// runSessionTimer refreshes (as refresher) or watches for refreshes (as
// the other side) until the call ends. Owned by the call.
func (c *call) runSessionTimer(st *sessionTimer) {
	last := time.Now() // the last successful refresh (or the 2xx)
	for {
		interval, weRefresh := st.get()
		wait := interval - min(32*time.Second, interval/3)
		if weRefresh {
			wait = interval / 2
			if since := time.Since(last); since >= wait {
				// A refresh failed: retry soon, until the session expires.
				wait = min(max(interval/8, 500*time.Millisecond), 5*time.Second)
			} else {
				wait -= since
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-c.done:
			t.Stop()
			return
		case <-c.p.ctx.Done():
			t.Stop()
			return
		case <-st.kick:
			t.Stop()
			last = time.Now()
			continue
		case <-t.C:
		}
		if !weRefresh {
			c.endWithReason(EndSessionExpired, fmt.Sprintf("no session refresh within %s (RFC 4028)", interval))
			return
		}
		err := c.refreshSession(st, min(interval/2, 32*time.Second))
		if err == nil {
			st.sent.Add(1)
			last = time.Now()
			continue
		}
		c.log.Warn("session refresh failed", "error", err)
		if dialogGone(err) || time.Since(last) >= interval-min(32*time.Second, interval/3) {
			c.endWithReason(EndRefreshFailed, "session refresh failed: "+err.Error())
			return
		}
	}
}

// errRefreshStatus is a refresh answered with a failure status.
type errRefreshStatus struct{ code int }

func (e errRefreshStatus) Error() string { return fmt.Sprintf("refresh answered %d", e.code) }

// dialogGone: RFC 4028 §10 and RFC 5057 §5.1 — a refresh answered 408 or
// 481 (or timed out) means the dialog is over.
func dialogGone(err error) bool {
	var rs errRefreshStatus
	if errors.As(err, &rs) {
		return rs.code == sip.StatusRequestTimeout || rs.code == sip.StatusCallTransactionDoesNotExists
	}
	return false
}

// refreshSession sends one session refresh: UPDATE without a body when the
// peer allows it, else a re-INVITE offering the current media (§7.4). The
// refresh names us the refresher (refresher=uac: the sender of the refresh).
// timeout bounds the wait for its answer.
func (c *call) refreshSession(st *sessionTimer, timeout time.Duration) error {
	interval, _ := st.get()
	st.mu.Lock()
	useUpdate := st.useUpdate
	st.mu.Unlock()
	ctx, cancel := c.callContext(timeout)
	defer cancel()
	headers := []sip.Header{
		sip.NewHeader("Supported", "timer"),
		sip.NewHeader("Session-Expires", seconds(interval)+";refresher=uac"),
	}
	if !useUpdate {
		c.opMu.Lock()
		defer c.opMu.Unlock()
		if s := c.snapshot(); !s.IsEstablished() {
			return nil
		}
		return c.reinvite(ctx, localDirection(c.snapshot().Paused), headers)
	}
	d := c.dialog()
	if d == nil {
		return fmt.Errorf("%w: no dialog", ErrInvalidState)
	}
	req := sip.NewRequest(sip.UPDATE, c.remoteTarget())
	for _, h := range headers {
		req.AppendHeader(h)
	}
	c.mu.Lock()
	if c.uas != nil {
		req.SetTransport(c.uas.InviteRequest.Transport())
	}
	c.mu.Unlock()
	res, err := d.Do(ctx, req)
	if err != nil {
		if ctx.Err() != nil {
			return errRefreshStatus{code: sip.StatusRequestTimeout}
		}
		return fmt.Errorf("%w: UPDATE: %w", ErrRequestFailed, err)
	}
	if !res.IsSuccess() {
		return errRefreshStatus{code: res.StatusCode}
	}
	return nil
}

// answerRefresh adds the session timer to our 2xx to a peer's re-INVITE or
// UPDATE (RFC 4028 §9: a refresh is negotiated like the first INVITE) and
// counts it as a refresh. A refresh naming refresher=uas hands us the role.
func (c *call) answerRefresh(req *sip.Request, res *sip.Response) {
	c.mu.Lock()
	st := c.timer
	c.mu.Unlock()
	if st == nil {
		return
	}
	interval, refresher, ok := sessionExpiresHeader(req)
	st.mu.Lock()
	if ok && interval >= c.p.minSE() {
		st.interval = interval
	}
	if ok {
		if refresher == "" {
			refresher = "uac"
		}
		st.weRefresh = refresher == "uas"
	} else if st.weRefresh {
		refresher = "uas"
	} else {
		refresher = "uac"
	}
	interval = st.interval
	peerSupports := st.peerSupports || supportsTimer(req)
	st.mu.Unlock()
	if peerSupports {
		res.AppendHeader(sip.NewHeader("Session-Expires", seconds(interval)+";refresher="+refresher))
		res.AppendHeader(sip.NewHeader("Require", "timer"))
	}
	st.refreshed()
}

// onUpdate answers an UPDATE in a dialog: without a body it is a session
// refresh (RFC 4028 §7.4, RFC 3311 §5.2). Offers in UPDATE are not
// supported (488): every media change of ours goes by re-INVITE.
func (p *Phone) onUpdate(req *sip.Request, tx sip.ServerTransaction) {
	c, err := p.call(req.CallID().Value())
	if err != nil {
		respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	if !c.snapshot().IsEstablished() {
		respond(tx, req, sip.StatusRequestPending, "Request Pending")
		return
	}
	if len(req.Body()) > 0 {
		respond(tx, req, sip.StatusNotAcceptableHere, "Not Acceptable Here", warning("offers in UPDATE are not supported; use re-INVITE"))
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
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	res.AppendHeader(&sip.ContactHeader{Address: p.dialogUA.ContactHDR.Address})
	c.answerRefresh(req, res)
	_ = tx.Respond(res)
}

// SessionTimer is the state of a call's RFC 4028 session timer.
type SessionTimer struct {
	Active    bool          // a session timer runs on the call
	Interval  time.Duration // the negotiated session interval
	Refresher bool          // we send the refreshes
	Sent      int64         // refreshes we sent that succeeded
	Received  int64         // refreshes the peer sent (re-INVITE or UPDATE)
}

// SessionTimer reports the state of a call's session timer.
func (p *Phone) SessionTimer(id string) (SessionTimer, error) {
	c, err := p.call(id)
	if err != nil {
		return SessionTimer{}, err
	}
	c.mu.Lock()
	st := c.timer
	c.mu.Unlock()
	if st == nil {
		return SessionTimer{}, nil
	}
	interval, we := st.get()
	return SessionTimer{Active: true, Interval: interval, Refresher: we, Sent: st.sent.Load(), Received: st.received.Load()}, nil
}
