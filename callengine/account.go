package callengine

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/parlo-voip/parlo/callengine/media"
)

// Transport names as they appear in Via and in ;transport= parameters.
const (
	TransportUDP = "udp"
	TransportTCP = "tcp"
	TransportTLS = "tls"
	TransportWS  = "ws"
	TransportWSS = "wss"
)

// Account is one SIP line: who we are, how we authenticate and where we
// register. The zero Account means direct mode (no registrar).
type Account struct {
	// URI is the address-of-record, e.g. "sip:alice@parlo.test".
	URI string
	// Username for digest auth; defaults to the AOR's user part.
	Username string
	// Password for digest auth. Never logged.
	Password string
	// Registrar is where REGISTER and (as outbound proxy) all requests go:
	// "sip:127.0.0.1:5060", "sip:pbx.example.com;transport=tls",
	// "ws://127.0.0.1:8080/" or "wss://pbx.example.com/".
	Registrar string
	// Transport overrides the registrar's transport (udp, tcp, tls, ws, wss).
	Transport string
	// CAFile is a PEM file of extra CAs trusted for TLS/WSS.
	CAFile string
	// Realm is the digest realm the registrar challenges with (default:
	// the AOR's domain or the registrar's host). Challenges for any other
	// realm are not answered, so a stranger cannot collect a digest of the
	// password.
	Realm string
	// Expires is the registration lifetime asked for (default 300 s,
	// clamped to MinExpires..MaxExpires).
	Expires time.Duration
	// Media is the path of calls placed on this account: "webrtc",
	// "classic" or "auto" (default: webrtc over WS/WSS, classic otherwise).
	Media string
	// SRTP is the classic path's policy: required (default), optional, off.
	SRTP media.SRTPPolicy
}

// registrarTarget is the parsed form of Account.Registrar.
type registrarTarget struct {
	uri       sip.Uri // request URI for REGISTER (sip:domain)
	hostPort  string  // where to send
	transport string  // lower case
}

// aor parses the account's URI.
func (a *Account) aor() (sip.Uri, error) {
	var u sip.Uri
	if a.URI == "" {
		return u, fmt.Errorf("%w: field URI is empty", ErrBadAccount)
	}
	if !strings.HasPrefix(a.URI, "sip:") && !strings.HasPrefix(a.URI, "sips:") {
		return u, fmt.Errorf("%w: field URI %q must start with sip: or sips:, as in sip:alice@example.com", ErrBadAccount, a.URI)
	}
	if err := sip.ParseUri(a.URI, &u); err != nil {
		return u, fmt.Errorf("%w: field URI %q: %w", ErrBadAccount, a.URI, err)
	}
	if u.Password != "" || userinfoHasPassword(a.URI) {
		// RFC 3261 §19.1.1: a password in the userinfo is NOT RECOMMENDED;
		// it would travel in From, To and the logs of every request.
		return u, fmt.Errorf("%w: field URI must not carry a password (sip:user:password@host); put it in field Password", ErrBadAccount)
	}
	if strings.ContainsAny(u.User+u.Host, " @<>\"") {
		return u, fmt.Errorf("%w: field URI %q has characters not allowed in user@host", ErrBadAccount, a.URI)
	}
	if u.User == "" || u.Host == "" {
		return u, fmt.Errorf("%w: field URI %q needs user@host", ErrBadAccount, a.URI)
	}
	return u, nil
}

// userinfoHasPassword reports a ":" in a URI's userinfo (sip:user:pw@host),
// even an empty password.
func userinfoHasPassword(uri string) bool {
	rest := strings.TrimPrefix(strings.TrimPrefix(uri, "sips:"), "sip:")
	userinfo, _, ok := strings.Cut(rest, "@")
	return ok && strings.Contains(userinfo, ":")
}

func (a *Account) authUser() string {
	if a.Username != "" {
		return a.Username
	}
	u, _ := a.aor()
	return u.User
}

// Registration lifetime bounds: below 30 s a registrar or a user setting
// would make Parlo re-register in a loop, above a day a stale binding
// outlives the device (RFC 3261 §10.2.1.1 leaves the range to policy).
const (
	MinExpires = 30 * time.Second
	MaxExpires = 24 * time.Hour
)

// clampExpires keeps a lifetime within MinExpires..MaxExpires.
func clampExpires(d time.Duration) time.Duration {
	return min(max(d, MinExpires), MaxExpires)
}

func (a *Account) expires() time.Duration {
	if a.Expires <= 0 {
		return 300 * time.Second
	}
	return clampExpires(a.Expires)
}

// domains are the hosts a Refer-To target may name with this account: the
// AOR's domain, the realm and the registrar's host.
func (a *Account) domains() []string {
	var out []string
	if u, err := a.aor(); err == nil {
		out = append(out, u.Host)
	}
	if a.Realm != "" {
		out = append(out, a.Realm)
	}
	if r, err := a.registrar(); err == nil {
		if h, _, err := net.SplitHostPort(r.hostPort); err == nil {
			out = append(out, h)
		}
	}
	return out
}

// realms are the digest realms answered with this account's password:
// the configured Realm alone when set, else the AOR's domain and the
// registrar's host.
func (a *Account) realms() []string {
	if a.Realm != "" {
		return []string{a.Realm}
	}
	var out []string
	if u, err := a.aor(); err == nil {
		out = append(out, u.Host)
	}
	if r, err := a.registrar(); err == nil {
		if h, _, err := net.SplitHostPort(r.hostPort); err == nil {
			out = append(out, h)
		}
	}
	return out
}

// registrar parses Account.Registrar.
func (a *Account) registrar() (registrarTarget, error) {
	aor, err := a.aor()
	if err != nil {
		return registrarTarget{}, err
	}
	r := registrarTarget{uri: sip.Uri{Scheme: "sip", Host: aor.Host}}
	reg := strings.TrimSpace(a.Registrar)
	switch {
	case reg == "":
		return r, fmt.Errorf("%w: field Registrar is empty", ErrBadAccount)
	case strings.HasPrefix(reg, "ws://"), strings.HasPrefix(reg, "wss://"):
		scheme, rest, _ := strings.Cut(reg, "://")
		hostPort, _, _ := strings.Cut(rest, "/")
		r.transport = scheme
		if _, _, err := net.SplitHostPort(hostPort); err != nil {
			def := "80"
			if scheme == TransportWSS {
				def = "443"
			}
			hostPort = net.JoinHostPort(hostPort, def)
		}
		r.hostPort = hostPort
	default:
		var u sip.Uri
		if !strings.HasPrefix(reg, "sip:") && !strings.HasPrefix(reg, "sips:") {
			reg = "sip:" + reg
		}
		if err := sip.ParseUri(reg, &u); err != nil {
			return r, fmt.Errorf("%w: field Registrar %q: %w", ErrBadAccount, a.Registrar, err)
		}
		r.transport = TransportUDP
		if u.IsEncrypted() {
			r.transport = TransportTLS
		}
		if t, ok := u.UriParams.Get("transport"); ok && t != "" {
			r.transport = strings.ToLower(t)
		}
		port := u.Port
		if port == 0 {
			port = 5060
			if r.transport == TransportTLS {
				port = 5061
			}
		}
		r.hostPort = net.JoinHostPort(u.Host, strconv.Itoa(port))
	}
	if a.Transport != "" {
		r.transport = strings.ToLower(a.Transport)
	}
	switch r.transport {
	case TransportUDP, TransportTCP, TransportTLS, TransportWS, TransportWSS:
	default:
		return r, fmt.Errorf("%w: field Transport %q is not one of udp, tcp, tls, ws, wss", ErrBadAccount, r.transport)
	}
	return r, nil
}

// Validate checks every field and names the first bad one.
func (a *Account) Validate() error {
	if _, err := a.aor(); err != nil {
		return err
	}
	if a.Password == "" {
		return fmt.Errorf("%w: field Password is empty", ErrBadAccount)
	}
	if _, err := a.registrar(); err != nil {
		return err
	}
	switch a.Media {
	case "", "auto", string(media.PathWebRTC), string(media.PathClassic):
	default:
		return fmt.Errorf("%w: field Media %q is not one of webrtc, classic, auto", ErrBadAccount, a.Media)
	}
	switch a.SRTP {
	case "", media.SRTPPreferred, media.SRTPRequired, media.SRTPOptional, media.SRTPOff:
	default:
		return fmt.Errorf("%w: field SRTP %q is not one of preferred, required, optional, off", ErrBadAccount, a.SRTP)
	}
	return nil
}

// ListenAddr is one local SIP listening socket, parsed from
// "udp:127.0.0.1:5071", "tcp:…", "tls:…", "ws:…".
type ListenAddr struct {
	Transport string
	Host      string
	Port      int
}

// ParseListenAddr parses "transport:host:port".
func ParseListenAddr(s string) (ListenAddr, error) {
	tr, hostPort, ok := strings.Cut(s, ":")
	if !ok {
		return ListenAddr{}, fmt.Errorf("%w: %q is not transport:host:port", ErrBadListenAddr, s)
	}
	tr = strings.ToLower(tr)
	switch tr {
	case TransportUDP, TransportTCP, TransportTLS, TransportWS, TransportWSS:
	default:
		return ListenAddr{}, fmt.Errorf("%w: %q: transport %q is not one of udp, tcp, tls, ws, wss", ErrBadListenAddr, s, tr)
	}
	host, portStr, err := net.SplitHostPort(hostPort)
	if err != nil {
		return ListenAddr{}, fmt.Errorf("%w: %q: %w", ErrBadListenAddr, s, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return ListenAddr{}, fmt.Errorf("%w: %q: bad port %q", ErrBadListenAddr, s, portStr)
	}
	if ip := net.ParseIP(host); ip == nil {
		return ListenAddr{}, fmt.Errorf("%w: %q: host must be an IP address", ErrBadListenAddr, s)
	}
	return ListenAddr{Transport: tr, Host: host, Port: port}, nil
}

func (l ListenAddr) String() string {
	return l.Transport + ":" + net.JoinHostPort(l.Host, strconv.Itoa(l.Port))
}
