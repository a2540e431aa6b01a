package callengine

import (
	"strings"
	"unicode"

	"github.com/emiago/sipgo/sip"
)

// maxHeaderText bounds a header value built from outside input, so a
// stranger's text cannot make our requests grow without limit.
const maxHeaderText = 512

// headerText makes text from outside Parlo (the network, the user, the
// configuration) safe as a header value: every control character — CR and
// LF above all, which end a header line (RFC 3261 §7.3.1) and would let the
// text inject headers or a body — becomes a space, and the result is
// trimmed and bounded. Percent-decoded URI headers (Refer-To ?Replaces=)
// and display names are where such text comes from.
func headerText(s string) string {
	if len(s) > maxHeaderText {
		s = s[:maxHeaderText]
	}
	clean := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(clean)
}

// headerName reports whether name is a header field name: an RFC 3261
// §25.1 token, nothing that could end the line or smuggle a colon.
func headerName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for _, r := range name {
		if !isTokenChar(r) {
			return false
		}
	}
	return true
}

// isTokenChar is RFC 3261 §25.1 token: alphanum / "-" / "." / "!" / "%" /
// "*" / "_" / "+" / "`" / "'" / "~".
func isTokenChar(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return strings.ContainsRune("-.!%*_+`'~", r)
}

// isWordChar is RFC 3261 §25.1 word (Call-ID's characters): token
// characters and ( ) < > : \ " / [ ] ? { }.
func isWordChar(r rune) bool {
	return isTokenChar(r) || strings.ContainsRune(`()<>:\"/[]?{}`, r)
}

// newHeader is the one way Parlo builds a header from a string: the value
// goes through headerText. A name that is not a token (only callers' extra
// headers can be) yields nil, which callers skip.
func newHeader(name, value string) sip.Header {
	if !headerName(name) {
		return nil
	}
	return sip.NewHeader(name, headerText(value))
}

// displayName makes a display name safe inside a quoted string (RFC 3261
// §25.1 quoted-string): no control characters, no quote or backslash that
// would end it early.
func displayName(s string) string {
	s = headerText(s)
	return strings.NewReplacer(`"`, "'", `\`, "/").Replace(s)
}
