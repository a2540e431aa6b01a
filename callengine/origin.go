package callengine

import (
	"crypto/subtle"
	"net"
	"strings"
	"sync"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// contactTokenParam is the Contact URI parameter carrying the registration's
// random token. The registrar sends requests for us to the Contact it
// bound, so they come back with the token in their Request-URI (RFC 3261
// §10.3 step 7, §16.5); a stranger who merely found our address cannot
// know it.
const contactTokenParam = "x-parlo"

// originCheck remembers the registrar's addresses once resolved.
type originCheck struct {
	mu  sync.Mutex
	ips []net.IP
}

// trustOrigin wraps a handler of requests that start something (INVITE,
// MESSAGE, NOTIFY, REFER, OPTIONS): while an account is registered, one
// outside a dialog is served only when it comes from the registrar (the
// outbound proxy, which authenticates callers and applies the PBX's rules)
// or carries our Contact token; anything else is a stranger reaching our
// socket directly, a scanner's INVITE or a toll-fraud attempt, and gets
// 403 before it can ring. In direct mode everyone may call, as the user
// chose by giving no account.
func (p *Phone) trustOrigin(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		if !p.originAllowed(req) {
			p.log.Debug("request from outside the registrar refused", "method", string(req.Method), "source", req.Source())
			if !req.IsAck() {
				respond(tx, req, sip.StatusForbidden, "Forbidden")
			}
			return
		}
		h(req, tx)
	}
}

// originAllowed applies trustOrigin's rule.
func (p *Phone) originAllowed(req *sip.Request) bool {
	if knownScanner(req) {
		return false
	}
	p.mu.Lock()
	reg := p.reg
	p.mu.Unlock()
	if reg == nil {
		return true // direct mode (or no registration running)
	}
	if to := req.To(); to != nil {
		if _, inDialog := to.Params.Get("tag"); inDialog {
			// Matched against its dialog by the request guard; one that
			// names no call of ours (a scanner's trick to avoid ringing
			// phones) is a stranger's.
			if _, err := p.call(req.CallID().Value()); err == nil {
				return true
			}
			if p.watches.subscriptionFor(req) == nil {
				return false
			}
			// A NOTIFY of one of our subscriptions: its tags matched, and
			// it must also come through the registrar, as a new request
			// must (the notifier sends it to our registered Contact).
		}
	}
	if tok, ok := req.Recipient.UriParams.Get(contactTokenParam); ok && reg.token != "" &&
		subtle.ConstantTimeCompare([]byte(tok), []byte(reg.token)) == 1 {
		return true
	}
	if reg.tokenEchoed.Load() {
		// The registrar stored our Contact with its token (its 200 OK
		// listed it), so what it sends us carries the token: anything
		// without it did not come through the registrar, whatever its
		// source address (a scanner on the registrar's host or NAT).
		return false
	}
	return p.fromRegistrarCached(req.Source())
}

// scannerAgents are User-Agent product names of SIP scanners (sipvicious
// and its clones, SIPVicious' "friendly-scanner", sipcli, VaxSIP-based
// war-diallers). Refusing them is defence in depth, not a boundary: a
// scanner can send any User-Agent. It keeps the common ones from ringing
// the phone in direct mode.
var scannerAgents = []string{"friendly-scanner", "sipvicious", "sipcli", "sip-scan", "vaxsipuseragent", "iwar", "sundayddr", "sivus", "pplsip"}

// knownScanner reports a request whose User-Agent names a SIP scanner.
func knownScanner(req *sip.Request) bool {
	h := req.GetHeader("User-Agent")
	if h == nil {
		return false
	}
	ua := strings.ToLower(h.Value())
	for _, s := range scannerAgents {
		if strings.Contains(ua, s) {
			return true
		}
	}
	return false
}

// fromRegistrarCached is fromRegistrar with the addresses resolved once
// per phone (a flood of requests must not become a flood of DNS look-ups);
// an empty result is looked up again next time.
func (p *Phone) fromRegistrarCached(source string) bool {
	ip := sourceIP(source)
	if ip == nil {
		return false
	}
	p.origin.mu.Lock()
	ips := p.origin.ips
	p.origin.mu.Unlock()
	if len(ips) == 0 {
		ips = p.registrarIPs()
		p.origin.mu.Lock()
		p.origin.ips = ips
		p.origin.mu.Unlock()
	}
	return ipIn(ip, ips)
}
