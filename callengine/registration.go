package callengine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// registration keeps one account registered: REGISTER with digest auth,
// refresh before expiry, un-REGISTER on close (RFC 3261 §10).
type registration struct {
	p      *Phone
	acct   *Account
	target registrarTarget
	aor    sip.Uri
	callID sip.CallIDHeader // one Call-ID for all refreshes (RFC 3261 §10.2.4)
	cseq   uint32
	log    *slog.Logger
	cancel context.CancelFunc
	done   chan struct{}
	// refreshNow asks the refresh loop to re-register at once (the local
	// addresses changed).
	refreshNow chan struct{}
	mu         sync.Mutex
	ok         bool
	once       sync.Once
	contact    sip.ContactHeader
	// token is the random value of our Contact's x-parlo parameter;
	// tokenEchoed is set once the registrar's 200 OK lists our Contact
	// with it (then requests without it are not from the registrar).
	token       string
	tokenEchoed atomic.Bool
	// keep-alive probes answered and not (keepalive.go).
	keepAliveCounters
}

// RegistrationError carries the registrar's final answer.
type RegistrationError struct {
	StatusCode int
	Reason     string
}

func (e *RegistrationError) Error() string {
	return fmt.Sprintf("registration failed: %d %s", e.StatusCode, e.Reason)
}

func (e *RegistrationError) Unwrap() error { return ErrRegistration }

// Register registers the account and keeps it registered until Close. It
// returns the first attempt's outcome; later refresh failures are reported
// as onRegistrationFailed / onUnRegistered events.
func (p *Phone) Register(ctx context.Context) error {
	a := p.account()
	if a == nil {
		return ErrNotRegistered
	}
	if err := a.Validate(); err != nil {
		return err
	}
	target, _ := a.registrar()
	aor, _ := a.aor()
	r := &registration{
		p: p, acct: a, target: target, aor: aor,
		callID:     sip.CallIDHeader(sip.GenerateTagN(24)),
		cseq:       1,
		log:        p.log.With("aor", aor.String(), "registrar", target.hostPort, "transport", target.transport),
		done:       make(chan struct{}),
		refreshNow: make(chan struct{}, 1),
	}
	contact := p.contact
	contact.User = aor.User
	contact.UriParams = p.contact.UriParams.Clone()
	if target.transport != TransportUDP {
		contact.UriParams = sip.NewParams()
		contact.UriParams.Add("transport", target.transport)
	}
	if contact.UriParams == nil {
		contact.UriParams = sip.NewParams()
	}
	r.token = sip.GenerateTagN(16)
	contact.UriParams.Add(contactTokenParam, r.token)
	if target.transport == TransportWS || target.transport == TransportWSS {
		// A WebSocket client cannot be reached at its own address; the
		// registrar routes to us over our connection (RFC 7118 §5).
		contact.Host = sip.GenerateTagN(12) + ".invalid"
		contact.Port = 0
	}
	r.contact = sip.ContactHeader{Address: contact}
	p.mu.Lock()
	if p.reg != nil {
		p.mu.Unlock()
		return fmt.Errorf("%w: already registering", ErrInvalidState)
	}
	p.reg = r
	p.mu.Unlock()
	if target.transport != TransportUDP {
		// Calls go out over the registrar's transport and carry the same
		// Contact the registrar knows.
		p.dialogUA.ContactHDR = r.contact
	}

	expires, err := r.register(ctx, a.expires())
	if err != nil {
		p.mu.Lock()
		p.reg = nil
		p.mu.Unlock()
		r.fail(err)
		return err
	}
	r.setOK(true)
	p.emit(Event{Name: EventRegistered, Payload: RegisteredPayload{Expires: int(expires / time.Second)}})
	loopCtx, cancel := context.WithCancel(p.ctx)
	r.cancel = cancel
	go r.refreshLoop(loopCtx, expires)
	r.startKeepAlive(loopCtx)
	return nil
}

func (r *registration) setOK(ok bool) {
	r.mu.Lock()
	r.ok = ok
	r.mu.Unlock()
}

func (r *registration) isOK() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ok
}

func (r *registration) fail(err error) {
	payload := RegistrationFailedPayload{Error: err.Error()}
	var re *RegistrationError
	if errors.As(err, &re) {
		payload.Status, payload.Reason = re.StatusCode, re.Reason
	}
	r.log.Warn("registration failed", "error", err)
	r.p.emit(Event{Name: EventRegistrationFailed, Payload: payload})
}

// refreshLoop re-registers at half the granted lifetime (at least 5 s
// before it runs out), owned by the registration and stopped by close.
func (r *registration) refreshLoop(ctx context.Context, expires time.Duration) {
	defer close(r.done)
	for {
		wait := expires / 2
		if expires-wait < 5*time.Second && expires > 10*time.Second {
			wait = expires - 5*time.Second
		}
		t := time.NewTimer(wait)
		now := false
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-r.refreshNow:
			t.Stop()
			now = true
		}
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		got, err := r.register(rctx, r.acct.expires())
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			r.fail(err)
			if r.isOK() {
				r.setOK(false)
				r.p.emit(Event{Name: EventUnregistered, Payload: UnregisteredPayload{Reason: err.Error()}})
			}
			expires = 30 * time.Second // retry soon
			continue
		}
		if now {
			// Re-registered after a network change: say so, so front ends
			// see the line is up on the new address.
			r.setOK(true)
			r.p.emit(Event{Name: EventRegistered, Payload: RegisteredPayload{Expires: int(got / time.Second), Reason: "network change"}})
		} else if !r.isOK() {
			r.setOK(true)
			r.p.emit(Event{Name: EventRegistered, Payload: RegisteredPayload{Expires: int(got / time.Second)}})
		}
		expires = got
	}
}

// register sends one REGISTER (answering a 401/407 challenge once) and
// returns the lifetime the registrar granted.
func (r *registration) register(ctx context.Context, expires time.Duration) (time.Duration, error) {
	req := r.newRequest(expires)
	res, err := r.p.cli.Do(ctx, req)
	if err != nil {
		return 0, fmt.Errorf("%w: REGISTER to %s: %w", ErrRegistration, r.target.hostPort, err)
	}
	if res.StatusCode == sip.StatusUnauthorized || res.StatusCode == sip.StatusProxyAuthRequired {
		if err := r.p.challengeAllowed(req, res); err != nil {
			return 0, fmt.Errorf("%w: REGISTER: %w", ErrRegistration, err)
		}
		// The digest is computed by sipgo (icholy/digest); the password
		// never reaches a log line.
		res, err = r.p.cli.DoDigestAuth(ctx, req, res, digestFor(r.acct))
		if err != nil {
			return 0, fmt.Errorf("%w: REGISTER with auth to %s: %w", ErrRegistration, r.target.hostPort, err)
		}
		r.cseq = req.CSeq().SeqNo
	}
	if !res.IsSuccess() {
		return 0, &RegistrationError{StatusCode: res.StatusCode, Reason: res.Reason}
	}
	if expires > 0 && r.token != "" {
		for _, h := range res.GetHeaders("Contact") {
			if strings.Contains(h.Value(), contactTokenParam+"="+r.token) {
				r.tokenEchoed.Store(true)
			}
		}
	}
	return grantedExpires(res, expires), nil
}

func (r *registration) newRequest(expires time.Duration) *sip.Request {
	req := sip.NewRequest(sip.REGISTER, r.target.uri)
	from := sip.FromHeader{Address: r.aor, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	to := sip.ToHeader{Address: r.aor}
	r.cseq++
	cseq := sip.CSeqHeader{SeqNo: r.cseq, MethodName: sip.REGISTER}
	callID := r.callID
	req.AppendHeader(&from)
	req.AppendHeader(&to)
	req.AppendHeader(&callID)
	req.AppendHeader(&cseq)
	c := r.contact
	req.AppendHeader(&c)
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(expires/time.Second))))
	req.SetTransport(strings.ToUpper(r.target.transport))
	req.SetDestination(r.target.hostPort)
	return req
}

// grantedExpires reads the lifetime from our Contact's expires parameter or
// the Expires header (RFC 3261 §10.2.4), falling back to what we asked,
// clamped to MinExpires..MaxExpires: a registrar granting 1 s would make us
// re-register in a loop, one granting years would never see us refresh.
func grantedExpires(res *sip.Response, asked time.Duration) time.Duration {
	return clampExpires(rawGrantedExpires(res, asked))
}

func rawGrantedExpires(res *sip.Response, asked time.Duration) time.Duration {
	for _, h := range res.GetHeaders("Contact") {
		v := h.Value()
		if i := strings.Index(strings.ToLower(v), "expires="); i >= 0 {
			num := v[i+len("expires="):]
			if j := strings.IndexAny(num, ";,> "); j >= 0 {
				num = num[:j]
			}
			if n, err := strconv.Atoi(num); err == nil && n > 0 {
				return time.Duration(n) * time.Second
			}
		}
	}
	if h := res.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && n > 0 {
			return time.Duration(n) * time.Second
		}
	}
	return asked
}

// close stops refreshing and un-registers (Expires: 0).
func (r *registration) close(ctx context.Context) {
	r.once.Do(func() {
		if r.cancel != nil {
			r.cancel()
			<-r.done
		}
		if !r.isOK() {
			return
		}
		if _, err := r.register(ctx, 0); err != nil {
			r.log.Warn("un-REGISTER failed", "error", err)
		}
		r.setOK(false)
		r.p.emit(Event{Name: EventUnregistered})
	})
}

// Unregister removes the registration; the phone goes on in direct mode.
func (p *Phone) Unregister(ctx context.Context) error {
	p.mu.Lock()
	r := p.reg
	p.reg = nil
	p.mu.Unlock()
	if r == nil {
		return ErrNotRegistered
	}
	r.close(ctx)
	return nil
}

// digestFor is the account's digest credentials (RFC 2617/8760 via sipgo).
func digestFor(a *Account) sipgo.DigestAuth {
	return sipgo.DigestAuth{Username: a.authUser(), Password: a.Password}
}
