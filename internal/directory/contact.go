package directory

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on what a source may hand back. Servers are untrusted: a hostile
// or broken one must not fill memory or the screen.
const (
	// MaxNameLen caps a name, in bytes.
	MaxNameLen = 200
	// MaxNumberLen caps a number or SIP URI, in bytes.
	MaxNumberLen = 120
	// MaxNumbersPerContact caps how many numbers a contact keeps.
	MaxNumbersPerContact = 8
	// MaxResults caps the contacts one source returns for one search.
	MaxResults = 50
)

// Phone is one number (or SIP URI) of a contact.
type Phone struct {
	// Label says which number it is: "work", "mobile", "home", or "".
	Label string `json:"label,omitempty"`
	// Number is what is dialled: digits, +digits or a SIP URI.
	Number string `json:"number"`
}

// Contact is a person or place to call.
type Contact struct {
	// ID identifies a local contact; "" for remote ones.
	ID string `json:"id,omitempty"`
	// Name is the display name.
	Name string `json:"name"`
	// Organization is the company or department, if any.
	Organization string `json:"organization,omitempty"`
	// Email is informative only.
	Email string `json:"email,omitempty"`
	// Phones are the numbers, best first.
	Phones []Phone `json:"phones,omitempty"`
	// Source names where the contact came from ("Local", the CardDAV or
	// LDAP source's name); filled in by the Searcher.
	Source string `json:"source,omitempty"`
}

// PrimaryNumber is the first number, or "".
func (c Contact) PrimaryNumber() string {
	if len(c.Phones) == 0 {
		return ""
	}
	return c.Phones[0].Number
}

// HasNumber reports whether one of the contact's numbers is the same as n
// (SameNumber).
func (c Contact) HasNumber(n string) bool {
	for _, p := range c.Phones {
		if SameNumber(p.Number, n) {
			return true
		}
	}
	return false
}

// cleanText makes server text safe to show and log: valid UTF-8, no
// control or bidi-override characters (which could make a name read as
// something else), spaces collapsed, at most limit bytes.
func cleanText(s string, limit int) string {
	if len(s) > 4*limit {
		s = s[:4*limit]
	}
	var b strings.Builder
	space := false
	for _, r := range strings.ToValidUTF8(s, "") {
		switch {
		case unicode.IsSpace(r) || unicode.IsControl(r):
			space = b.Len() > 0
			continue
		case unicode.Is(unicode.Bidi_Control, r) || r == '\u200b' || r == '\ufeff':
			continue
		case !unicode.IsPrint(r):
			continue
		}
		need := utf8.RuneLen(r)
		if space {
			need++
		}
		// The pending space counts too: FuzzEntryToContact found a name
		// one byte over limit (a space written, then the rune refused).
		if b.Len()+need > limit {
			break
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// cleanNumber keeps a number's dialable characters. A SIP URI is kept as
// text (cleaned); anything else keeps digits, '+', '*', '#' and the
// separators people write (spaces, dashes, dots, parentheses).
func cleanNumber(s string) string {
	s = cleanText(s, MaxNumberLen)
	if isURI(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if (r >= '0' && r <= '9') || strings.ContainsRune("+*#-. ()/", r) {
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(b.String())
}

// isURI reports whether s is a SIP URI rather than a number.
func isURI(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "sip:") || strings.HasPrefix(l, "sips:")
}

// cleanContact applies the limits to a contact from any source; it
// returns false when nothing callable or nameable is left.
func cleanContact(c Contact) (Contact, bool) {
	out := Contact{
		ID:           cleanText(c.ID, 64),
		Name:         cleanText(c.Name, MaxNameLen),
		Organization: cleanText(c.Organization, MaxNameLen),
		Email:        cleanText(c.Email, MaxNameLen),
		Source:       c.Source,
	}
	for _, p := range c.Phones {
		if len(out.Phones) == MaxNumbersPerContact {
			break
		}
		n := cleanNumber(p.Number)
		if Normalize(n) == "" {
			continue
		}
		out.Phones = append(out.Phones, Phone{Label: cleanText(strings.ToLower(p.Label), 24), Number: n})
	}
	if out.Name == "" && len(out.Phones) == 0 {
		return out, false
	}
	if out.Name == "" {
		out.Name = out.Phones[0].Number
	}
	return out, true
}
