package callengine

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// challengeAllowed says whether a 401/407 to req may be answered with the
// account's credentials. A digest response lets whoever asked for it test
// passwords offline, so Parlo answers only its registrar (which is also its
// outbound proxy): the request went to the registrar's address, the
// challenge came back from one of its addresses, and it names one of the
// account's realms (RFC 3261 §22.1: the realm says which credentials to use;
// §22.3: a UA must not answer for a protection space it does not know).
func (p *Phone) challengeAllowed(req *sip.Request, res *sip.Response) error {
	a := p.account()
	if a == nil {
		return fmt.Errorf("%w: no account", ErrForeignChallenge)
	}
	target, err := a.registrar()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrForeignChallenge, err)
	}
	if dst := req.Destination(); !sameHostPort(dst, target.hostPort) {
		return fmt.Errorf("%w: the request went to %s, not to the registrar %s", ErrForeignChallenge, dst, target.hostPort)
	}
	if src := res.Source(); src != "" && !p.fromRegistrar(src) {
		return fmt.Errorf("%w: the challenge came from %s, not from the registrar %s", ErrForeignChallenge, src, target.hostPort)
	}
	name := "WWW-Authenticate"
	if res.StatusCode == sip.StatusProxyAuthRequired {
		name = "Proxy-Authenticate"
	}
	h := res.GetHeader(name)
	if h == nil {
		return fmt.Errorf("%w: %d without %s", ErrForeignChallenge, res.StatusCode, name)
	}
	chal, err := digest.ParseChallenge(h.Value())
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrForeignChallenge, name, err)
	}
	for _, r := range a.realms() {
		if strings.EqualFold(chal.Realm, r) {
			return nil
		}
	}
	return fmt.Errorf("%w: realm %q is not the account's (%s)", ErrForeignChallenge, headerText(chal.Realm), strings.Join(a.realms(), ", "))
}

// sameHostPort compares two host:port strings, case-insensitively.
func sameHostPort(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}

// registrarResolveTimeout bounds the look-up of the registrar's addresses.
const registrarResolveTimeout = 2 * time.Second

// registrarIPs are the addresses of the account's registrar (the outbound
// proxy): its host if it is an IP, else what it resolves to now.
func (p *Phone) registrarIPs() []net.IP {
	a := p.account()
	if a == nil {
		return nil
	}
	target, err := a.registrar()
	if err != nil {
		return nil
	}
	host, _, err := net.SplitHostPort(target.hostPort)
	if err != nil {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil {
		return []net.IP{ip}
	}
	ctx, cancel := context.WithTimeout(p.ctx, registrarResolveTimeout)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		p.log.Warn("resolving the registrar", "host", host, "error", err)
		return nil
	}
	out := make([]net.IP, 0, len(addrs))
	for _, ad := range addrs {
		out = append(out, ad.IP)
	}
	return out
}

// fromRegistrar reports whether a message's source address ("ip:port") is
// one of the registrar's addresses.
func (p *Phone) fromRegistrar(source string) bool {
	return ipIn(sourceIP(source), p.registrarIPs())
}

// sourceIP is the IP of a message's source ("ip:port" or a bare IP); nil
// when it is neither.
func sourceIP(source string) net.IP {
	host, _, err := net.SplitHostPort(source)
	if err != nil {
		host = source
	}
	return net.ParseIP(host)
}

// ipIn reports whether ip is one of ips (false for a nil ip).
func ipIn(ip net.IP, ips []net.IP) bool {
	if ip == nil {
		return false
	}
	for _, r := range ips {
		if r.Equal(ip) {
			return true
		}
	}
	return false
}
