package directory

import (
	"fmt"
	"strconv"
	"strings"
)

// Rule rewrites a dialled number that starts with Prefix: the prefix is
// replaced with Replace. A rule with an empty Prefix matches every number
// (with MinDigits, an outside-line prefix for external numbers only).
type Rule struct {
	// Prefix is matched against the normalised number ("+33", "00", "").
	Prefix string
	// Replace takes the prefix's place ("0", "+", "9").
	Replace string
	// MinDigits, when above 0, leaves numbers with fewer digits alone, so
	// internal extensions keep their form.
	MinDigits int
}

// Rules are applied in order; the first whose prefix matches wins, so put
// the most specific first ("+33" before "+").
type Rules []Rule

// Apply rewrites target when it is a number (digits, '+', '*', '#',
// optionally written with spaces, dashes, dots or parentheses). Names and
// SIP URIs are returned unchanged, and so is everything when there are no
// rules; otherwise a number no rule matches loses its separators only.
func (rs Rules) Apply(target string) string {
	t := strings.TrimSpace(target)
	if !isPhoneish(t) || len(rs) == 0 {
		return target
	}
	n := digitsOnly(t)
	if n == "" {
		return target
	}
	digits := len(strings.Trim(n, "+*#"))
	for _, r := range rs {
		if r.MinDigits > 0 && digits < r.MinDigits {
			continue
		}
		if strings.HasPrefix(n, r.Prefix) {
			return r.Replace + n[len(r.Prefix):]
		}
	}
	return n
}

// String writes the rules one per line in the form ParseRules reads.
func (rs Rules) String() string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteString(r.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// String is "PREFIX=REPLACE" or "PREFIX=REPLACE;min=N".
func (r Rule) String() string {
	s := r.Prefix + "=" + r.Replace
	if r.MinDigits > 0 {
		s += ";min=" + strconv.Itoa(r.MinDigits)
	}
	return s
}

// ParseRules reads one rule per line: "PREFIX=REPLACE", optionally
// followed by ";min=N". Blank lines and lines starting with '#' are
// skipped. Examples: "+33=0" (French numbers dialled nationally),
// "+=00" (other international numbers), "=0;min=7" (outside-line prefix
// for numbers of seven digits or more).
func ParseRules(text string) (Rules, error) {
	var rs Rules
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r, err := parseRule(line)
		if err != nil {
			return nil, fmt.Errorf("line %d %q: %w", i+1, line, err)
		}
		rs = append(rs, r)
	}
	return rs, nil
}

func parseRule(line string) (Rule, error) {
	spec, opt, hasOpt := strings.Cut(line, ";")
	from, to, ok := strings.Cut(spec, "=")
	if !ok {
		return Rule{}, fmt.Errorf("%w: want PREFIX=REPLACE", ErrBadRule)
	}
	from, to = strings.TrimSpace(from), strings.TrimSpace(to)
	if !ruleText(from) || !ruleText(to) {
		return Rule{}, fmt.Errorf("%w: only digits, a leading '+', '*' and '#'", ErrBadRule)
	}
	r := Rule{Prefix: from, Replace: to}
	if hasOpt {
		v, ok := strings.CutPrefix(strings.TrimSpace(opt), "min=")
		n, err := strconv.Atoi(v)
		if !ok || err != nil || n < 1 || n > 30 {
			return Rule{}, fmt.Errorf("%w: option must be min=N (1 to 30)", ErrBadRule)
		}
		r.MinDigits = n
	}
	if r.Prefix == "" && r.Replace == "" {
		return Rule{}, fmt.Errorf("%w: empty rule", ErrBadRule)
	}
	return r, nil
}

func ruleText(s string) bool {
	for i, r := range s {
		if !(r >= '0' && r <= '9') && r != '*' && r != '#' && !(r == '+' && i == 0) {
			return false
		}
	}
	return true
}
