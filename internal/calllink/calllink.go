// Package calllink turns a call link that a browser or the desktop hands
// Parlo (sip:, sips:, tel:, callto:) into a dial target. A link comes from
// any web page, so it is untrusted: it may only name one address to call,
// never add headers, parameters or methods to the request Parlo sends.
package calllink

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"

	"github.com/emiago/sipgo/sip"
)

// Errors of Parse. Both are wrapped with the reason.
var (
	// ErrNotCallLink: the text is not a sip:, sips:, tel: or callto: link.
	ErrNotCallLink = errors.New("calllink: not a call link")
	// ErrBadLink: a call link that names no usable address, or carries
	// characters that could smuggle something into a SIP request.
	ErrBadLink = errors.New("calllink: unusable call link")
)

// maxLen bounds a link; a real address is far shorter.
const maxLen = 512

// maxDigits bounds a telephone number (ITU-T E.164 allows 15; extensions
// and access codes add a few).
const maxDigits = 32

// IsLink reports whether s starts with a scheme Parlo handles, so that a
// command line argument can be told from a flag or a subcommand.
func IsLink(s string) bool {
	_, _, ok := splitScheme(s)
	return ok
}

// Parse returns what to dial for link: "sip:user@host[:port]" (the scheme
// kept, sips too) for SIP links, the number for tel: links (visual
// separators removed, RFC 3966 §5.1.1), and either for callto: links.
// URI parameters and headers are dropped: RFC 3261 §19.1.5 lets a URI's
// headers become headers of the request (Replaces, Route…), which no web
// page may choose for the user.
func Parse(link string) (string, error) {
	if len(link) > maxLen {
		return "", fmt.Errorf("%w: longer than %d bytes", ErrBadLink, maxLen)
	}
	scheme, rest, ok := splitScheme(strings.TrimSpace(link))
	if !ok {
		return "", fmt.Errorf("%w: %q", ErrNotCallLink, clip(link))
	}
	if hasControl(rest) {
		return "", fmt.Errorf("%w: control characters", ErrBadLink)
	}
	switch scheme {
	case "sip", "sips":
		return parseSIP(scheme, rest)
	case "tel":
		return parseNumber(rest)
	default: // callto: number, callto:user@host or callto://user
		rest = strings.TrimPrefix(rest, "//")
		if cut, _, found := strings.Cut(rest, "?"); found {
			rest = cut
		}
		if strings.Contains(rest, "@") {
			return parseSIP("sip", rest)
		}
		return parseNumber(rest)
	}
}

// splitScheme cuts a link at its scheme, case-insensitively (RFC 3986 §3.1).
func splitScheme(s string) (scheme, rest string, ok bool) {
	i := strings.IndexByte(s, ':')
	if i <= 0 {
		return "", "", false
	}
	scheme = strings.ToLower(s[:i])
	switch scheme {
	case "sip", "sips", "tel", "callto":
		return scheme, s[i+1:], true
	}
	return "", "", false
}

func parseSIP(scheme, rest string) (string, error) {
	// Headers (after '?') and parameters (after ';' in the host part) go;
	// the user part may itself hold ';' (RFC 3261 §19.1.2 user parameters),
	// so the parameters are cut only after the '@'.
	if cut, _, found := strings.Cut(rest, "?"); found {
		rest = cut
	}
	at := strings.LastIndexByte(rest, '@')
	if i := strings.IndexByte(rest[at+1:], ';'); i >= 0 {
		rest = rest[:at+1+i]
	}
	if at >= 0 && strings.Contains(rest[:at], ":") {
		// user:password (RFC 3261 §19.1.1, "NOT RECOMMENDED"): no web page
		// gets to hand a password to the request.
		return "", fmt.Errorf("%w: a link must not carry a password", ErrBadLink)
	}
	var u sip.Uri
	if err := sip.ParseUri(scheme+":"+rest, &u); err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadLink, err)
	}
	user, err := url.PathUnescape(u.User)
	if err != nil {
		return "", fmt.Errorf("%w: user part: %w", ErrBadLink, err)
	}
	if hasControl(user) || strings.ContainsAny(user, "<>\"") {
		return "", fmt.Errorf("%w: user part has characters no address holds", ErrBadLink)
	}
	if user != "" && strings.IndexFunc(user, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) < 0 {
		return "", fmt.Errorf("%w: user part %q names nobody", ErrBadLink, clip(user))
	}
	if u.Host == "" || !validHost(u.Host) {
		return "", fmt.Errorf("%w: host %q", ErrBadLink, clip(u.Host))
	}
	if u.Password != "" {
		return "", fmt.Errorf("%w: a link must not carry a password", ErrBadLink)
	}
	out := sip.Uri{Scheme: scheme, User: u.User, Host: u.Host, Port: u.Port}
	return out.String(), nil
}

// validHost accepts a DNS name, IPv4 or bracketed IPv6 literal.
func validHost(h string) bool {
	if strings.HasPrefix(h, "[") {
		return strings.HasSuffix(h, "]") && strings.Trim(h[1:len(h)-1], "0123456789abcdefABCDEF:.") == ""
	}
	for _, r := range h {
		if !(r == '.' || r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return false
		}
	}
	return true
}

// parseNumber reads a telephone number: an optional '+', digits, '*' and
// '#', with the visual separators of RFC 3966 §5.1.1 removed and its
// parameters (phone-context, ext, isub) dropped.
func parseNumber(rest string) (string, error) {
	if cut, _, found := strings.Cut(rest, ";"); found {
		rest = cut
	}
	decoded, err := url.PathUnescape(rest)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadLink, err)
	}
	var b strings.Builder
	digits := 0
	for i, r := range strings.TrimSpace(decoded) {
		switch {
		case r >= '0' && r <= '9':
			digits++
			b.WriteRune(r)
		case r == '*' || r == '#':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case strings.ContainsRune("-.() ", r):
		default:
			return "", fmt.Errorf("%w: %q is not a telephone number", ErrBadLink, clip(decoded))
		}
	}
	if digits == 0 || digits > maxDigits {
		return "", fmt.Errorf("%w: a number needs 1 to %d digits", ErrBadLink, maxDigits)
	}
	return b.String(), nil
}

func hasControl(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return true
		}
	}
	return false
}

// clip shortens text quoted in an error.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
