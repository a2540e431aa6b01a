package directory

import (
	"context"
	"strings"
)

// Source is one place contacts come from.
type Source interface {
	// Name names the source to the user ("Local", "Company LDAP"), in
	// results and in error messages.
	Name() string
	// Search returns the contacts whose name, organisation, e-mail or
	// number contains query, at most MaxResults. It returns when ctx ends.
	Search(ctx context.Context, query string) ([]Contact, error)
	// Lookup returns the contact one of whose numbers is number
	// (SameNumber), or an error wrapping ErrNotFound.
	Lookup(ctx context.Context, number string) (Contact, error)
}

// matches reports whether c answers a search for query: every word of the
// query appears in the name, organisation or e-mail (case-insensitive), or
// the query is a number that appears in one of the contact's numbers.
func matches(c Contact, query string) bool {
	q := strings.ToLower(strings.TrimSpace(query))
	if q == "" {
		return true
	}
	if nq := Normalize(q); nq != "" && isPhoneish(q) {
		for _, p := range c.Phones {
			if strings.Contains(Normalize(p.Number), strings.TrimLeft(nq, "+")) || SameNumber(p.Number, q) {
				return true
			}
		}
	}
	hay := strings.ToLower(c.Name + " " + c.Organization + " " + c.Email)
	for _, w := range strings.Fields(q) {
		if !strings.Contains(hay, w) {
			return false
		}
	}
	return true
}
