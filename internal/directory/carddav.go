package directory

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-vcard"
	"github.com/emersion/go-webdav"
	"github.com/emersion/go-webdav/carddav"
)

// Limits on a CardDAV server's answers.
const (
	// maxCardDAVBody bounds one HTTP response body.
	maxCardDAVBody = 16 << 20
	// maxCards bounds the cards kept for caller-name lookup.
	maxCards = 20000
	// cardCacheTTL is how long the cards fetched for lookups are reused;
	// an incoming call must not wait for a full download.
	cardCacheTTL = 2 * time.Minute
)

// CardDAVOptions configure a CardDAV source.
type CardDAVOptions struct {
	// Name names the source to the user; "CardDAV" when empty.
	Name string
	// URL is an address book collection, or any URL on the server (the
	// principal's address books are then discovered, RFC 6352 §7).
	URL string
	// Username and Password are sent with HTTP Basic authentication (use
	// https: Basic sends the password in clear otherwise).
	Username string
	Password string
	// HTTPClient overrides the client (tests, proxies); its Timeout, if
	// any, is kept alongside the context deadline.
	HTTPClient *http.Client
}

// CardDAV searches CardDAV address books (RFC 6352) with
// addressbook-query REPORTs (§8.6) and keeps a short-lived copy of the
// cards' names and numbers for caller-name lookup.
type CardDAV struct {
	opts   CardDAVOptions
	host   string
	client *carddav.Client

	mu        sync.Mutex
	books     []string // address book paths, discovered once
	cards     []Contact
	cardsTime time.Time
}

// NewCardDAV checks the options and makes the source; it does not touch
// the network.
func NewCardDAV(o CardDAVOptions) (*CardDAV, error) {
	if o.Name == "" {
		o.Name = "CardDAV"
	}
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: CardDAV URL %q must be http(s)://host/path", ErrConfig, redactURL(o.URL))
	}
	if u.User != nil {
		return nil, fmt.Errorf("%w: put the CardDAV user and password in their own fields, not in the URL", ErrConfig)
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	limited := *hc
	base := limited.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	limited.Transport = limitBody{base: base, max: maxCardDAVBody}
	var wc webdav.HTTPClient = &limited
	if o.Username != "" || o.Password != "" {
		wc = webdav.HTTPClientWithBasicAuth(wc, o.Username, o.Password)
	}
	c, err := carddav.NewClient(wc, o.URL)
	if err != nil {
		return nil, fmt.Errorf("%w: CardDAV: %w", ErrConfig, err)
	}
	return &CardDAV{opts: o, host: u.Host, client: c}, nil
}

// Name is the source's name.
func (s *CardDAV) Name() string { return s.opts.Name }

// Search asks every address book for cards whose FN, TEL, EMAIL or ORG
// contains the query's first word (RFC 6352 §10.5.4 text-match, default
// collation i;unicode-casemap), then keeps those matching every word.
func (s *CardDAV) Search(ctx context.Context, query string) ([]Contact, error) {
	books, err := s.addressBooks(ctx)
	if err != nil {
		return nil, err
	}
	words := strings.Fields(query)
	q := &carddav.AddressBookQuery{
		DataRequest: carddav.AddressDataRequest{Props: cardProps},
		Limit:       MaxResults,
	}
	if len(words) > 0 {
		first := words[0]
		q.FilterTest = carddav.FilterAnyOf
		// Not ORG: it is a structured value, and some servers (Radicale
		// 3.1) fail the whole REPORT on a text-match against it.
		for _, prop := range []string{vcard.FieldFormattedName, vcard.FieldEmail, vcard.FieldTelephone} {
			q.PropFilters = append(q.PropFilters, carddav.PropFilter{
				Name: prop, TextMatches: []carddav.TextMatch{{Text: first}},
			})
		}
	}
	var out []Contact
	for _, book := range books {
		objs, err := s.client.QueryAddressBook(ctx, book, q)
		if err != nil {
			if err = s.wrap(ctx, err); errors.Is(err, ErrServer) {
				// Filter support varies between servers (RFC 6352 §8.6
				// lets them refuse); searching the cards here works with
				// any server that lists them.
				return s.searchCached(ctx, query, err)
			}
			return out, err
		}
		for _, o := range objs {
			c, ok := cardToContact(o.Card)
			if !ok || !matches(c, query) {
				continue
			}
			out = append(out, c)
			if len(out) == MaxResults {
				return out, nil
			}
		}
	}
	return out, nil
}

// searchCached searches the cards fetched for lookups, after the server
// refused a filtered query with queryErr.
func (s *CardDAV) searchCached(ctx context.Context, query string, queryErr error) ([]Contact, error) {
	cards, err := s.allCards(ctx)
	if err != nil {
		return nil, errors.Join(queryErr, err)
	}
	var out []Contact
	for _, c := range cards {
		if matches(c, query) {
			out = append(out, c)
			if len(out) == MaxResults {
				break
			}
		}
	}
	return out, nil
}

// Lookup finds the card with number among all cards (fetched at most
// every cardCacheTTL): servers compare TEL as text, so "+33 1 23…" would
// not match "0123…" there; SameNumber does.
func (s *CardDAV) Lookup(ctx context.Context, number string) (Contact, error) {
	cards, err := s.allCards(ctx)
	if err != nil {
		return Contact{}, err
	}
	for _, c := range cards {
		if c.HasNumber(number) {
			return c, nil
		}
	}
	return Contact{}, fmt.Errorf("%s: %q: %w", s.opts.Name, number, ErrNotFound)
}

// cardProps are the vCard properties asked for (RFC 6352 §10.4.2): only
// what is shown, so large PHOTOs are not sent.
var cardProps = []string{vcard.FieldFormattedName, vcard.FieldName, vcard.FieldTelephone, vcard.FieldEmail, vcard.FieldOrganization, vcard.FieldUID}

func (s *CardDAV) allCards(ctx context.Context) ([]Contact, error) {
	s.mu.Lock()
	if s.cards != nil && time.Since(s.cardsTime) < cardCacheTTL {
		cards := s.cards
		s.mu.Unlock()
		return cards, nil
	}
	s.mu.Unlock()
	books, err := s.addressBooks(ctx)
	if err != nil {
		return nil, err
	}
	q := &carddav.AddressBookQuery{DataRequest: carddav.AddressDataRequest{Props: cardProps}}
	cards := []Contact{}
	for _, book := range books {
		objs, err := s.client.QueryAddressBook(ctx, book, q)
		if err != nil {
			return nil, s.wrap(ctx, err)
		}
		for _, o := range objs {
			if c, ok := cardToContact(o.Card); ok && len(c.Phones) > 0 {
				cards = append(cards, c)
				if len(cards) == maxCards {
					break
				}
			}
		}
	}
	s.mu.Lock()
	s.cards, s.cardsTime = cards, time.Now()
	s.mu.Unlock()
	return cards, nil
}

// addressBooks returns the address books to search: the URL itself when
// it is one, otherwise every book of the current user's principal
// (RFC 5397 current-user-principal, RFC 6352 §7.1.1
// addressbook-home-set).
func (s *CardDAV) addressBooks(ctx context.Context) ([]string, error) {
	s.mu.Lock()
	books := s.books
	s.mu.Unlock()
	if books != nil {
		return books, nil
	}
	principal, err := s.client.FindCurrentUserPrincipal(ctx)
	if err != nil {
		return nil, s.wrap(ctx, err)
	}
	home, err := s.client.FindAddressBookHomeSet(ctx, principal)
	if err != nil {
		return nil, s.wrap(ctx, err)
	}
	all, err := s.client.FindAddressBooks(ctx, home)
	if err != nil {
		return nil, s.wrap(ctx, err)
	}
	u, _ := url.Parse(s.opts.URL)
	want := path.Clean("/" + u.Path)
	for _, b := range all {
		if path.Clean(b.Path) == want {
			books = []string{b.Path}
			break
		}
		books = append(books, b.Path)
	}
	if len(books) == 0 {
		return nil, fmt.Errorf("%w: %s (%s) has no address book for this user", ErrServer, s.opts.Name, s.host)
	}
	s.mu.Lock()
	s.books = books
	s.mu.Unlock()
	return books, nil
}

// wrap names the source and the server in err, and classes it: no answer
// (refused, timed out, cancelled) is ErrUnreachable, any other failure
// ErrServer. The URL's credentials never appear (they are not in it).
func (s *CardDAV) wrap(ctx context.Context, err error) error {
	var ne net.Error
	var oe *net.OpError
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("%w: %s (%s) did not answer in time: %w", ErrUnreachable, s.opts.Name, s.host, err)
	}
	if errors.As(err, &oe) || errors.As(err, &ne) {
		return fmt.Errorf("%w: %s (%s): %w", ErrUnreachable, s.opts.Name, s.host, err)
	}
	return fmt.Errorf("%w: %s (%s): %w", ErrServer, s.opts.Name, s.host, err)
}

// cardToContact maps a vCard (RFC 6350) to a contact: FN, else N; ORG;
// the preferred EMAIL; every TEL with its TYPE as label. A TEL written as
// a tel: URI (vCard 4, §6.4.1) loses its scheme.
func cardToContact(card vcard.Card) (Contact, bool) {
	c := Contact{
		Name:  card.PreferredValue(vcard.FieldFormattedName),
		Email: card.PreferredValue(vcard.FieldEmail),
	}
	if c.Name == "" {
		if n := card.Name(); n != nil {
			c.Name = strings.TrimSpace(strings.Join([]string{n.GivenName, n.AdditionalName, n.FamilyName}, " "))
		}
	}
	if org := card.Value(vcard.FieldOrganization); org != "" {
		c.Organization = strings.ReplaceAll(org, ";", ", ")
	}
	for _, f := range card[vcard.FieldTelephone] {
		if f == nil {
			continue
		}
		n := f.Value
		if len(n) > 4 && strings.EqualFold(n[:4], "tel:") {
			n = n[4:]
			if i := strings.IndexByte(n, ';'); i >= 0 {
				n = n[:i]
			}
		}
		c.Phones = append(c.Phones, Phone{Label: telLabel(f.Params.Types()), Number: n})
		if len(c.Phones) == 4*MaxNumbersPerContact {
			break
		}
	}
	return cleanContact(c)
}

// telLabel picks the label a user knows from a TEL's TYPE values.
func telLabel(types []string) string {
	for _, want := range []string{"cell", "work", "home", "fax", "pager"} {
		for _, t := range types {
			if strings.EqualFold(t, want) {
				if want == "cell" {
					return "mobile"
				}
				return want
			}
		}
	}
	return ""
}

// limitBody caps every response body: a hostile server cannot stream
// without end into memory.
type limitBody struct {
	base http.RoundTripper
	max  int64
}

func (l limitBody) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedReadCloser{r: io.LimitReader(resp.Body, l.max+1), c: resp.Body, left: l.max}
	return resp, nil
}

type limitedReadCloser struct {
	r    io.Reader
	c    io.Closer
	left int64
}

func (l *limitedReadCloser) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, ErrTooLarge
	}
	return n, err
}

func (l *limitedReadCloser) Close() error { return l.c.Close() }

// redactURL drops user info from a URL for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User = nil
	return u.String()
}
