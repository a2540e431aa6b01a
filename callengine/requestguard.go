package callengine

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Defaults of the request limits (Options fields of the same meaning).
const (
	defaultMaxRinging  = 8
	defaultRingTimeout = 120 * time.Second
	defaultSourceRate  = 10 // new requests per second per source address
	defaultSourceBurst = 20
	defaultMaxBodySize = 32 << 10 // a WebRTC offer with video and many candidates is ~10 KiB
	// retryAfterSeconds is what a refused stranger is told (RFC 3261 §20.33).
	retryAfterSeconds = 5
)

// requestGuard stands in front of every SIP request handler. sipgo answers a
// request without Via or CSeq with a stateless 400 and drops what it cannot
// parse (it caps a message at 64 KiB), but it hands anything else to the
// handler, on a goroutine of its own with no recover: one datagram without a
// Call-ID used to kill the process. The guard checks what the handlers rely
// on (400), matches in-dialog requests to their dialog (481), refuses merged
// requests (482) and Call-ID reuse, limits how fast one source may start
// things (503) and how large a body may be (413), and turns a panic into a
// 500 and an error log with the stack.
type requestGuard struct {
	p       *Phone
	log     *slog.Logger
	limiter *sourceLimiter
	maxBody int

	mu sync.Mutex
	// open holds the merge key of every out-of-dialog request being
	// handled (RFC 3261 §8.2.2.2).
	open map[string]struct{}
	// newCalls holds the Call-IDs of new INVITEs being handled (before
	// their call enters the call table).
	newCalls map[string]*pendingInvite

	panics atomic.Int64 // recovered handler panics (tests assert 0)
}

func newRequestGuard(p *Phone) *requestGuard {
	g := &requestGuard{
		p:        p,
		log:      p.log,
		maxBody:  p.opts.MaxBodySize,
		open:     map[string]struct{}{},
		newCalls: map[string]*pendingInvite{},
	}
	if g.maxBody == 0 {
		g.maxBody = defaultMaxBodySize
	}
	perSecond, burst := p.opts.SourceRate, p.opts.SourceBurst
	if perSecond == 0 {
		perSecond = defaultSourceRate
	}
	if burst <= 0 {
		burst = defaultSourceBurst
	}
	g.limiter = newSourceLimiter(perSecond, burst)
	return g
}

// wrap returns h behind the guard.
func (g *requestGuard) wrap(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		defer g.recoverHandler(req, tx)
		release, ok := g.admit(req, tx)
		if !ok {
			return
		}
		defer release()
		h(req, tx)
	}
}

func (g *requestGuard) recoverHandler(req *sip.Request, tx sip.ServerTransaction) {
	r := recover()
	if r == nil {
		return
	}
	g.panics.Add(1)
	g.log.Error("SIP request handler panicked", "method", string(req.Method), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	if tx != nil && !req.IsAck() {
		// RFC 3261 §21.5.1. If the handler had already answered, the
		// transaction refuses this second final response; nothing to do.
		respond(tx, req, sip.StatusInternalServerError, "Server Internal Error")
	}
}

// refuse answers a request the guard stops; an ACK is never answered
// (RFC 3261 §17.2.1), it is dropped.
func (g *requestGuard) refuse(req *sip.Request, tx sip.ServerTransaction, code int, reason, why string, extra ...sip.Header) {
	g.log.Debug("SIP request refused", "method", string(req.Method), "status", code, "why", why, "source", req.Source())
	if tx == nil || req.IsAck() {
		return
	}
	respond(tx, req, code, reason, append([]sip.Header{warning(why)}, extra...)...)
}

// validate checks the headers every handler relies on (RFC 3261 §8.1.1:
// To, From, CSeq, Call-ID, Max-Forwards and Via are mandatory; §8.2 lets a
// UAS answer 400 to a request it cannot process). Max-Forwards is not
// required: it only matters to proxies (§16.3), older UAs omit it, and sipgo
// already refuses one that is not a number.
func validate(req *sip.Request) string {
	switch {
	case req.Via() == nil:
		return "missing Via"
	case req.CallID() == nil || req.CallID().Value() == "":
		return "missing Call-ID"
	case req.From() == nil:
		return "missing From"
	case req.To() == nil:
		return "missing To"
	case req.CSeq() == nil:
		return "missing CSeq"
	case req.CSeq().MethodName != req.Method:
		// §8.1.1.5: the CSeq method MUST match the request's method; a
		// mismatch breaks transaction and dialog matching.
		return "CSeq method " + string(req.CSeq().MethodName) + " does not match " + string(req.Method)
	}
	return ""
}

// singleValued are the header fields a request carries at most once (RFC
// 3261 §7.3.1, §20): two Call-IDs or CSeqs make dialog and transaction
// matching ambiguous (RFC 4475 §3.3.8, §3.3.9 expect 400).
var singleValued = []string{"Call-ID", "From", "To", "CSeq", "Max-Forwards", "Content-Length", "Content-Type"}

// supportedOptionTags are the SIP extensions we implement (RFC 3891
// replaces, RFC 4028 session timers).
var supportedOptionTags = map[string]bool{"replaces": true, "timer": true}

// checkRequestLine checks the Request-URI and the header fields a UAS must
// refuse: 416 for a scheme we do not speak (§8.2.2.1), 400 for headers in
// the Request-URI (§19.1.1, Table 1: not allowed there) and for repeated
// single-valued fields, 420 with Unsupported for a Require naming an
// extension we lack (§8.2.2.3; ACK and CANCEL ignore Require).
func checkRequestLine(req *sip.Request) (code int, reason, why string, extra []sip.Header) {
	switch scheme := strings.ToLower(req.Recipient.Scheme); {
	case scheme != "sip" && scheme != "sips":
		return 416, "Unsupported URI Scheme", "Request-URI scheme " + scheme, nil
	case req.Recipient.Headers.Length() > 0:
		return sip.StatusBadRequest, "Bad Request", "headers in the Request-URI", nil
	}
	for _, name := range singleValued {
		if len(req.GetHeaders(name)) > 1 {
			return sip.StatusBadRequest, "Bad Request", "more than one " + name, nil
		}
	}
	if req.IsAck() || req.IsCancel() {
		return 0, "", "", nil
	}
	var unsupported []string
	for _, h := range req.GetHeaders("Require") {
		for _, tag := range strings.Split(h.Value(), ",") {
			if tag = strings.TrimSpace(tag); tag != "" && !supportedOptionTags[strings.ToLower(tag)] {
				unsupported = append(unsupported, tag)
			}
		}
	}
	if len(unsupported) > 0 {
		return sip.StatusBadExtension, "Bad Extension", "unsupported extension", []sip.Header{sip.NewHeader("Unsupported", strings.Join(unsupported, ", "))}
	}
	return 0, "", "", nil
}

// inDialogOnly are the methods that only make sense inside a dialog: with
// no To tag they match nothing (RFC 3261 §12.2.2; RFC 6086 §4.2 for INFO,
// RFC 3515 §2.4.2 for REFER, RFC 6665 §4.1.3 for NOTIFY).
func inDialogOnly(m sip.RequestMethod) bool {
	switch m {
	case sip.BYE, sip.INFO, sip.REFER, sip.NOTIFY, sip.ACK:
		return true
	}
	return false
}

// admit decides whether the request reaches its handler; release must be
// called when the handler returns.
func (g *requestGuard) admit(req *sip.Request, tx sip.ServerTransaction) (release func(), ok bool) {
	if why := validate(req); why != "" {
		g.refuse(req, tx, sip.StatusBadRequest, "Bad Request", why)
		return nil, false
	}
	if code, reason, why, extra := checkRequestLine(req); code != 0 {
		g.refuse(req, tx, code, reason, why, extra...)
		return nil, false
	}
	if n := len(req.Body()); n > g.maxBody {
		// RFC 3261 §21.4.11.
		g.refuse(req, tx, sip.StatusRequestEntityTooLarge, "Request Entity Too Large", "body of "+strconv.Itoa(n)+" bytes, at most "+strconv.Itoa(g.maxBody))
		return nil, false
	}
	callID := req.CallID().Value()
	fromTag, _ := req.From().Params.Get("tag")
	if _, inDialog := req.To().Params.Get("tag"); inDialog {
		if req.Method == sip.OPTIONS || req.Method == sip.CANCEL {
			return func() {}, true // harmless, and the CANCEL handler answers 481
		}
		if _, err := g.p.dialogCall(req); err != nil && g.p.watches.subscriptionFor(req) == nil {
			g.refuse(req, tx, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", "no dialog matches Call-ID and tags")
			return nil, false
		}
		return func() {}, true
	}
	if req.IsAck() {
		// An ACK of a non-2xx final response is absorbed by its INVITE
		// transaction; one that reaches us without a To tag matches nothing.
		return nil, false
	}
	if !g.limiter.allow(req.Source()) {
		g.refuse(req, tx, sip.StatusServiceUnavailable, "Service Unavailable", "too many requests from this address", sip.NewHeader("Retry-After", strconv.Itoa(retryAfterSeconds)))
		return nil, false
	}
	if inDialogOnly(req.Method) || req.Method == sip.MESSAGE {
		if _, err := g.p.call(callID); err == nil {
			// The Call-ID of a live call without its tags: not that dialog.
			g.refuse(req, tx, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", "no dialog matches Call-ID and tags")
			return nil, false
		}
	}
	// RFC 3261 §8.2.2.2: a request without To tag whose From tag, Call-ID
	// and CSeq equal those of a transaction we are still handling, but
	// which did not match that transaction (else sipgo would have absorbed
	// it as a retransmission), is the same request arriving a second way:
	// 482 Loop Detected.
	key := callID + "\x00" + fromTag + "\x00" + strconv.FormatUint(uint64(req.CSeq().SeqNo), 10) + " " + string(req.CSeq().MethodName)
	g.mu.Lock()
	if _, dup := g.open[key]; dup {
		g.mu.Unlock()
		g.refuse(req, tx, sip.StatusLoopDetected, "Loop Detected", "merged request")
		return nil, false
	}
	var mine *pendingInvite
	if req.IsInvite() {
		cseq := req.CSeq().SeqNo
		code, why := g.callIDInUse(callID, fromTag)
		// A new INVITE of the same call attempt with a higher CSeq is the
		// UAC retrying after our final answer to the last one (RFC 4028
		// §7.4 after a 422, RFC 3261 §8.1.3.5 after a 488). It can arrive
		// before that one's handler has returned: wait for it a moment
		// rather than call the retry a loop.
		if prev := g.newCalls[callID]; code == sip.StatusLoopDetected && prev != nil && prev.fromTag == fromTag && prev.cseq < cseq {
			g.mu.Unlock()
			select {
			case <-prev.done:
			case <-time.After(retryAdmitWait):
			}
			g.mu.Lock()
			code, why = g.callIDInUse(callID, fromTag)
		}
		if code != 0 {
			g.mu.Unlock()
			reason := "Bad Request"
			if code == sip.StatusLoopDetected {
				reason = "Loop Detected"
			}
			g.refuse(req, tx, code, reason, why)
			return nil, false
		}
		mine = &pendingInvite{fromTag: fromTag, cseq: cseq, done: make(chan struct{})}
		g.newCalls[callID] = mine
	}
	g.open[key] = struct{}{}
	g.mu.Unlock()
	return func() {
		g.mu.Lock()
		delete(g.open, key)
		if mine != nil {
			if g.newCalls[callID] == mine {
				delete(g.newCalls, callID)
			}
			close(mine.done)
		}
		g.mu.Unlock()
	}, true
}

// pendingInvite is a new INVITE whose handler is running.
type pendingInvite struct {
	fromTag string
	cseq    uint32
	done    chan struct{} // closed when its handler returns
}

// retryAdmitWait bounds how long a retried INVITE waits for the handler of
// the one it retries (which has sent its final answer) to return.
const retryAdmitWait = 2 * time.Second

// callIDInUse says how to refuse a new INVITE (no To tag) whose Call-ID
// belongs to a live call, or to one still being set up: it must never reach
// that call. With the same From tag it is that call's INVITE again, or a
// request merged on its way here: 482 (§8.2.2.2). With another From tag it
// claims a Call-ID that §8.1.1.4 makes unique to one call: 400. Called with
// g.mu held.
func (g *requestGuard) callIDInUse(callID, fromTag string) (int, string) {
	var remote string
	if p := g.newCalls[callID]; p != nil {
		remote = p.fromTag
	} else {
		c, err := g.p.call(callID)
		if err != nil {
			return 0, ""
		}
		_, remote, _ = c.dialogTags()
	}
	if remote == fromTag {
		return sip.StatusLoopDetected, "Call-ID and From tag of a call in progress"
	}
	return sip.StatusBadRequest, "Call-ID already in use by another call"
}
