package callengine

import (
	"context"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
)

// defaultKeepAliveInterval keeps a NAT binding towards the registrar open:
// UDP bindings of home routers often last 30–60 s, and RFC 5626 §4.4.1
// suggests keep-alives of about that period for UDP.
const defaultKeepAliveInterval = 30 * time.Second

// keepAliveInterval is Options.KeepAliveInterval with its default; 0: off.
func (p *Phone) keepAliveInterval() time.Duration {
	switch {
	case p.opts.KeepAliveInterval < 0:
		return 0
	case p.opts.KeepAliveInterval == 0:
		return defaultKeepAliveInterval
	}
	return p.opts.KeepAliveInterval
}

// keepAlive probes the registrar with OPTIONS (RFC 3261 §11) while
// registered. Every answer, whatever its status, proves the path and
// refreshes the NAT binding. A probe that gets no answer, or an answer
// showing that the NAT mapped us to another address (the Via's received
// and rport, RFC 3581), asks for a re-REGISTER at once, so the registrar
// learns the new path before a call is missed; once the registrar answers
// again after a loss, the phone re-registers too. OPTIONS rather than
// RFC 5626's CRLF ping: it works on every transport sipgo gives us
// (UDP, TCP, TLS, WS) and needs no outbound support from the registrar.
//
// Owned by the registration: it stops with ctx (Unregister, Close).
func (r *registration) keepAlive(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var mapped string
	lost := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, min(interval, 10*time.Second))
		res, err := r.p.cli.Do(pctx, r.newOptions())
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			r.keepAliveLost.Add(1)
			if !lost {
				r.log.Warn("registrar does not answer keep-alives; re-registering", "error", err)
				lost = true
				r.reRegister()
			}
			continue
		}
		r.keepAlives.Add(1)
		now := viaMapping(res)
		switch {
		case lost:
			r.log.Info("registrar answers keep-alives again; re-registering")
			lost = false
			r.reRegister()
		case mapped != "" && now != "" && now != mapped:
			r.log.Info("NAT mapping changed; re-registering", "before", mapped, "now", now)
			r.reRegister()
		}
		if now != "" {
			mapped = now
		}
	}
}

// reRegister asks the refresh loop for a REGISTER now.
func (r *registration) reRegister() {
	select {
	case r.refreshNow <- struct{}{}:
	default:
	}
}

// newOptions is an out-of-dialog OPTIONS to the registrar from our AOR.
func (r *registration) newOptions() *sip.Request {
	req := sip.NewRequest(sip.OPTIONS, r.target.uri)
	from := sip.FromHeader{Address: r.aor, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(&from)
	req.AppendHeader(&sip.ToHeader{Address: r.aor})
	req.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
	req.SetTransport(strings.ToUpper(r.target.transport))
	req.SetDestination(r.target.hostPort)
	return req
}

// viaMapping is how the registrar saw us: the received and rport of the
// top Via of its answer (RFC 3581 §4), "" when it did not say.
func viaMapping(res *sip.Response) string {
	via := res.Via()
	if via == nil {
		return ""
	}
	host, _ := via.Params.Get("received")
	port, _ := via.Params.Get("rport")
	if host == "" && port == "" {
		return ""
	}
	return host + ":" + port
}

// keepAliveCounters counts the keep-alives answered and unanswered.
type keepAliveCounters struct {
	keepAlives, keepAliveLost atomic.Int64
}

// KeepAlives reports how many registrar keep-alives were answered and how
// many were not, since Register.
func (p *Phone) KeepAlives() (answered, unanswered int64) {
	p.mu.Lock()
	r := p.reg
	p.mu.Unlock()
	if r == nil {
		return 0, 0
	}
	return r.keepAlives.Load(), r.keepAliveLost.Load()
}

// startKeepAlive runs keepAlive beside the refresh loop, owned by the
// phone's wait group and stopped by ctx (the registration's).
func (r *registration) startKeepAlive(ctx context.Context) {
	interval := r.p.keepAliveInterval()
	if interval <= 0 {
		return
	}
	r.p.wg.Add(1)
	go func() {
		defer r.p.wg.Done()
		r.keepAlive(ctx, interval)
	}()
}
