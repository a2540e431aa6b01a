package directory

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Placeholders in LDAP filter templates.
const (
	// QueryPlaceholder is replaced with the search words, each escaped
	// (RFC 4515 §3) and joined with '*', so "ali mar" matches "Alice
	// Martin" in a substring filter "(cn=*{query}*)".
	QueryPlaceholder = "{query}"
	// NumberPlaceholder is replaced with the last digits of the caller's
	// number; telephoneNumber's substring matching rule ignores spaces
	// and dashes (RFC 4517 §4.2.29), so "*{number}" finds "+33 1 23 45 67 89".
	NumberPlaceholder = "{number}"
)

// Default filters, for inetOrgPerson entries (RFC 2798).
const (
	DefaultLDAPFilter       = "(|(cn=*{query}*)(displayName=*{query}*)(mail=*{query}*)(o=*{query}*)(telephoneNumber=*{query}*)(mobile=*{query}*))"
	DefaultLDAPLookupFilter = "(|(telephoneNumber=*{number})(mobile=*{number})(homePhone=*{number}))"
)

// ldapAttributes are the attributes asked for: only what is shown.
var ldapAttributes = []string{"cn", "displayName", "o", "ou", "mail", "telephoneNumber", "mobile", "homePhone"}

// LDAPOptions configure an LDAP source.
type LDAPOptions struct {
	// Name names the source to the user; "LDAP" when empty.
	Name string
	// URL is ldap://host[:port] or ldaps://host[:port].
	URL string
	// BindDN and Password authenticate with a simple bind (RFC 4513
	// §5.1.3); both empty is an anonymous search.
	BindDN   string
	Password string
	// BaseDN is where searches start (subtree).
	BaseDN string
	// Filter is the search filter template with QueryPlaceholder;
	// DefaultLDAPFilter when empty.
	Filter string
	// LookupFilter finds a caller with NumberPlaceholder;
	// DefaultLDAPLookupFilter when empty.
	LookupFilter string
	// TLSConfig is used for ldaps:// (nil: system roots).
	TLSConfig *tls.Config
}

// LDAP searches an LDAP directory (RFC 4511). Each search opens its own
// connection, bound by the context's deadline: a directory consulted a
// few times a minute does not need a pool, and a dead connection cannot
// linger.
type LDAP struct {
	opts LDAPOptions
	host string
}

// NewLDAP checks the options (the filters must compile with any query)
// and makes the source; it does not touch the network.
func NewLDAP(o LDAPOptions) (*LDAP, error) {
	if o.Name == "" {
		o.Name = "LDAP"
	}
	if o.Filter == "" {
		o.Filter = DefaultLDAPFilter
	}
	if o.LookupFilter == "" {
		o.LookupFilter = DefaultLDAPLookupFilter
	}
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "" {
		return nil, fmt.Errorf("%w: LDAP URL %q must be ldap://host[:port] or ldaps://host[:port]", ErrConfig, redactURL(o.URL))
	}
	if o.BaseDN == "" {
		return nil, fmt.Errorf("%w: LDAP search base is empty", ErrConfig)
	}
	if _, err := ldap.ParseDN(o.BaseDN); err != nil {
		return nil, fmt.Errorf("%w: LDAP search base %q: %w", ErrConfig, o.BaseDN, err)
	}
	// RFC 4513 §5.1.2: a name with an empty password is an
	// "unauthenticated" bind that many servers accept as anonymous; the
	// user meant to authenticate, so say so instead.
	if o.BindDN != "" && o.Password == "" {
		return nil, fmt.Errorf("%w: LDAP bind DN given without a password", ErrConfig)
	}
	if !strings.Contains(o.Filter, QueryPlaceholder) {
		return nil, fmt.Errorf("%w: LDAP filter must contain %s", ErrConfig, QueryPlaceholder)
	}
	if !strings.Contains(o.LookupFilter, NumberPlaceholder) {
		return nil, fmt.Errorf("%w: LDAP lookup filter must contain %s", ErrConfig, NumberPlaceholder)
	}
	if _, err := ldap.CompileFilter(ldapFilter(o.Filter, QueryPlaceholder, "x")); err != nil {
		return nil, fmt.Errorf("%w: LDAP filter %q: %w", ErrConfig, o.Filter, err)
	}
	if _, err := ldap.CompileFilter(ldapFilter(o.LookupFilter, NumberPlaceholder, "1")); err != nil {
		return nil, fmt.Errorf("%w: LDAP lookup filter %q: %w", ErrConfig, o.LookupFilter, err)
	}
	return &LDAP{opts: o, host: u.Host}, nil
}

// Name is the source's name.
func (s *LDAP) Name() string { return s.opts.Name }

// Search runs the filter with the query's words.
func (s *LDAP) Search(ctx context.Context, query string) ([]Contact, error) {
	words := strings.Fields(query)
	if len(words) == 0 {
		return nil, nil // an empty query would list the whole directory
	}
	escaped := make([]string, len(words))
	for i, w := range words {
		escaped[i] = ldap.EscapeFilter(w)
	}
	filter := ldapFilter(s.opts.Filter, QueryPlaceholder, strings.Join(escaped, "*"))
	entries, err := s.search(ctx, filter)
	var out []Contact
	for _, e := range entries {
		if c, ok := entryToContact(e); ok {
			out = append(out, c)
		}
	}
	return out, err
}

// Lookup asks for entries whose number ends with the caller's last digits
// and keeps the first that SameNumber confirms.
func (s *LDAP) Lookup(ctx context.Context, number string) (Contact, error) {
	n := Normalize(number)
	if !allDigits(strings.TrimLeft(n, "+")) {
		return Contact{}, fmt.Errorf("%s: %q: %w", s.opts.Name, number, ErrNotFound)
	}
	filter := ldapFilter(s.opts.LookupFilter, NumberPlaceholder, ldap.EscapeFilter(tail(n, matchDigits)))
	entries, err := s.search(ctx, filter)
	if err != nil {
		return Contact{}, err
	}
	for _, e := range entries {
		if c, ok := entryToContact(e); ok && c.HasNumber(number) {
			return c, nil
		}
	}
	return Contact{}, fmt.Errorf("%s: %q: %w", s.opts.Name, number, ErrNotFound)
}

// ldapFilter substitutes an already escaped value into a template.
func ldapFilter(template, placeholder, escaped string) string {
	return strings.ReplaceAll(template, placeholder, escaped)
}

// search dials, binds and searches under ctx: the dial and every request
// end at ctx's deadline, and cancelling ctx closes the connection, so a
// server that accepts and never answers cannot stall the caller.
func (s *LDAP) search(ctx context.Context, filter string) ([]*ldap.Entry, error) {
	dialer := &net.Dialer{}
	if dl, ok := ctx.Deadline(); ok {
		dialer.Deadline = dl
	}
	opts := []ldap.DialOpt{ldap.DialWithDialer(dialer)}
	if s.opts.TLSConfig != nil {
		opts = append(opts, ldap.DialWithTLSConfig(s.opts.TLSConfig))
	}
	conn, err := ldap.DialURL(s.opts.URL, opts...)
	if err != nil {
		return nil, s.wrap(ctx, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	timeLimit := 0
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		if left <= 0 {
			return nil, s.wrap(ctx, context.DeadlineExceeded)
		}
		// A little past the deadline: the context closes the connection
		// first, so the failure reads as "did not answer in time".
		conn.SetTimeout(left + 250*time.Millisecond)
		timeLimit = max(1, int(left.Seconds()))
	}
	if s.opts.BindDN != "" {
		if err := conn.Bind(s.opts.BindDN, s.opts.Password); err != nil {
			return nil, s.wrap(ctx, err)
		}
	}
	req := ldap.NewSearchRequest(s.opts.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		MaxResults, timeLimit, false, filter, ldapAttributes, nil)
	res, err := conn.Search(req)
	if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		return nil, s.wrap(ctx, err)
	}
	if res == nil {
		return nil, nil
	}
	entries := res.Entries
	if len(entries) > MaxResults {
		entries = entries[:MaxResults]
	}
	return entries, nil
}

// wrap names the source and server and classes the failure; the bind
// password is never part of an error.
func (s *LDAP) wrap(ctx context.Context, err error) error {
	switch {
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || ldap.IsErrorWithCode(err, ldap.ErrorNetwork) && (isTimeout(err) || pastDeadline(ctx)):
		return fmt.Errorf("%w: %s (%s) did not answer in time: %w", ErrUnreachable, s.opts.Name, s.host, err)
	case ldap.IsErrorWithCode(err, ldap.ErrorNetwork):
		return fmt.Errorf("%w: %s (%s): %w", ErrUnreachable, s.opts.Name, s.host, err)
	case ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials):
		return fmt.Errorf("%w: %s (%s): wrong bind DN or password: %w", ErrServer, s.opts.Name, s.host, err)
	}
	return fmt.Errorf("%w: %s (%s): %w", ErrServer, s.opts.Name, s.host, err)
}

// pastDeadline reports whether ctx's deadline is (about) over: the
// connection's own timer can fire a moment before the context's.
func pastDeadline(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < 100*time.Millisecond
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// entryToContact maps an LDAP entry (inetOrgPerson, RFC 2798) to a
// contact: displayName or cn, o or ou, mail, and the phone attributes
// with their labels.
func entryToContact(e *ldap.Entry) (Contact, bool) {
	if e == nil {
		return Contact{}, false
	}
	c := Contact{
		Name:         firstOf(e, "displayName", "cn"),
		Organization: firstOf(e, "o", "ou"),
		Email:        e.GetAttributeValue("mail"),
	}
	for _, a := range []struct{ attr, label string }{{"telephoneNumber", "work"}, {"mobile", "mobile"}, {"homePhone", "home"}} {
		for _, v := range e.GetAttributeValues(a.attr) {
			c.Phones = append(c.Phones, Phone{Label: a.label, Number: v})
			if len(c.Phones) == 4*MaxNumbersPerContact {
				break
			}
		}
	}
	return cleanContact(c)
}

func firstOf(e *ldap.Entry, attrs ...string) string {
	for _, a := range attrs {
		if v := e.GetAttributeValue(a); v != "" {
			return v
		}
	}
	return ""
}
