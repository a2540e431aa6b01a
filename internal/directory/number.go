package directory

import "strings"

// matchDigits is how many trailing digits two numbers of different forms
// must share to be the same line: enough for a national significant number
// (nine in France, Germany's vary), so "+33 1 23 45 67 89" is
// "01 23 45 67 89", while short internal extensions must match exactly.
const (
	matchDigits    = 9
	minMatchDigits = 7
)

// Normalize reduces a number to the characters that matter for dialling
// and matching: a leading '+', digits, '*' and '#'. Visual separators
// (spaces, dashes, dots, parentheses, slashes) go. A tel: URI (RFC 3966)
// loses its scheme and parameters; a SIP URI whose user part is a number
// is reduced to that number, and one whose user part is a name is returned
// lower-cased as user@host so it still matches itself. It returns "" when
// nothing dialable is left.
func Normalize(s string) string {
	s = strings.TrimSpace(s)
	l := strings.ToLower(s)
	switch {
	case strings.HasPrefix(l, "tel:"):
		s = s[len("tel:"):]
		if i := strings.IndexByte(s, ';'); i >= 0 {
			s = s[:i]
		}
	case strings.HasPrefix(l, "sip:") || strings.HasPrefix(l, "sips:"):
		rest := s[strings.IndexByte(s, ':')+1:]
		user, host, hasHost := strings.Cut(rest, "@")
		if !hasHost {
			user, host = "", user
		}
		if i := strings.IndexByte(user, ';'); i >= 0 {
			user = user[:i] // RFC 3261 §19.1.1 user parameters (;phone-context)
		}
		if d := digitsOnly(user); d != "" && isPhoneish(user) {
			return d
		}
		if i := strings.IndexAny(host, ";?>"); i >= 0 {
			host = host[:i]
		}
		if user == "" {
			return strings.ToLower(host)
		}
		return strings.ToLower(user + "@" + host)
	}
	if !isPhoneish(s) {
		return ""
	}
	return digitsOnly(s)
}

// isPhoneish reports whether s is written only with what numbers are
// written with.
func isPhoneish(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9') && !strings.ContainsRune("+*#-. ()/", r) {
			return false
		}
	}
	return true
}

// digitsOnly keeps a leading '+', digits, '*' and '#'.
func digitsOnly(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '+' && b.Len() == 0:
			b.WriteRune(r)
		case r >= '0' && r <= '9', r == '*', r == '#':
			b.WriteRune(r)
		}
	}
	if b.String() == "+" {
		return ""
	}
	return b.String()
}

// SameNumber reports whether a and b reach the same line: equal once
// normalised, or, for numbers of at least minMatchDigits digits, the same
// last matchDigits digits (one written internationally, the other
// nationally: +33 1 23 45 67 89 and 01 23 45 67 89, or 0033…).
func SameNumber(a, b string) bool {
	na, nb := Normalize(a), Normalize(b)
	if na == "" || nb == "" {
		return false
	}
	if na == nb {
		return true
	}
	da, db := strings.TrimLeft(na, "+"), strings.TrimLeft(nb, "+")
	if !allDigits(da) || !allDigits(db) || len(da) < minMatchDigits || len(db) < minMatchDigits {
		return false
	}
	n := min(matchDigits, len(da), len(db))
	return da[len(da)-n:] == db[len(db)-n:]
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// tail is the last n digits of a normalised number (all of it when
// shorter); directory servers are asked for numbers ending with it.
func tail(n string, count int) string {
	d := strings.TrimLeft(n, "+")
	if len(d) <= count {
		return d
	}
	return d[len(d)-count:]
}
