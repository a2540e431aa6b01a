package directory

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/internal/testpeers"
)

// peopleCount is the size of the generated directories.
const peopleCount = 300

// servers starts Radicale and slapd with the same generated people.
func servers(t *testing.T) (*testpeers.Radicale, *testpeers.Slapd, []testpeers.DirectoryPerson) {
	t.Helper()
	people := testpeers.DirectoryPeople(peopleCount)
	var (
		wg  sync.WaitGroup
		rad *testpeers.Radicale
	)
	wg.Add(1)
	go func() { // owner: servers, which waits below
		defer wg.Done()
		rad = testpeers.StartRadicale(t, people)
	}()
	sl := testpeers.StartSlapd(t, people)
	wg.Wait()
	if rad == nil {
		t.FailNow()
	}
	return rad, sl, people
}

func newCardDAV(t *testing.T, rad *testpeers.Radicale, url string) *CardDAV {
	t.Helper()
	s, err := NewCardDAV(CardDAVOptions{Name: "Radicale", URL: url, Username: rad.User(), Password: rad.Password()})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newLDAP(t *testing.T, sl *testpeers.Slapd) *LDAP {
	t.Helper()
	s, err := NewLDAP(LDAPOptions{Name: "slapd", URL: sl.URL(), BindDN: sl.BindDN(), Password: sl.Password(), BaseDN: sl.BaseDN()})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newLocal(t *testing.T) *Local {
	t.Helper()
	l, err := OpenLocal(filepath.Join(t.TempDir(), "contacts.json"))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// percentile is the p-th percentile (0..100) of ds.
func percentile(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

func TestSearchIntegration(t *testing.T) {
	rad, sl, people := servers(t)
	local := newLocal(t)
	if _, err := local.Add(Contact{Name: "Léa Front Desk", Phones: []Phone{{Number: "200"}}}); err != nil {
		t.Fatal(err)
	}
	s := NewSearcher(SearcherOptions{Sources: []Source{local, newCardDAV(t, rad, rad.URL()), newLDAP(t, sl)}})
	ctx := context.Background()

	res := s.Search(ctx, "alice mar")
	if len(res.Errors) > 0 {
		t.Fatalf("errors: %v\nradicale: %s\nslapd: %s", res.Errors, rad.Log(), sl.Log())
	}
	if len(res.Contacts) != 1 || res.Contacts[0].Name != "Alice Martin" {
		t.Fatalf(`"alice mar": %+v`, res.Contacts)
	}
	alice := res.Contacts[0]
	if alice.Source != "Radicale, slapd" || !alice.HasNumber(people[0].Work) || !alice.HasNumber(people[0].Mobile) || len(alice.Phones) != 2 {
		t.Fatalf("Alice not merged from both servers: %+v", alice)
	}

	// Léa is the given name of every 20th person (15 of them), in both
	// servers, plus a local contact that ranks first (name starts with it,
	// most trusted source).
	res = s.Search(ctx, "léa")
	if len(res.Errors) > 0 {
		t.Fatal(res.Errors)
	}
	if len(res.Contacts) != 16 || res.Contacts[0].Source != LocalName {
		t.Fatalf(`"léa": %d contacts, first %+v`, len(res.Contacts), res.Contacts[0])
	}
	for _, c := range res.Contacts[1:] {
		if !strings.HasPrefix(c.Name, "Léa ") || c.Source != "Radicale, slapd" {
			t.Fatalf("unexpected %+v", c)
		}
	}

	// By number: person 123's work number, as digits typed in the dial field.
	res = s.Search(ctx, "4000 0123")
	if len(res.Contacts) == 0 || res.Contacts[0].Name != people[123].Name() {
		t.Fatalf(`number search: %+v %v`, res.Contacts, res.Errors)
	}

	// A query that is an LDAP filter must find nothing, not everything.
	res = s.Search(ctx, "*)(cn=*")
	if len(res.Contacts) != 0 {
		t.Fatalf("filter injection found %d contacts", len(res.Contacts))
	}

	// Latency, as the dial field sees it: queries typed one after another.
	per := map[string][]time.Duration{}
	var total []time.Duration
	for i := range 40 {
		q := people[(i*7)%peopleCount].Family[:3]
		res := s.Search(ctx, q)
		if len(res.Errors) > 0 || len(res.Contacts) == 0 {
			t.Fatalf("%q: %d contacts, %v", q, len(res.Contacts), res.Errors)
		}
		total = append(total, res.Elapsed)
		for _, tm := range res.Timings {
			per[tm.Source] = append(per[tm.Source], tm.Elapsed)
		}
	}
	t.Logf("merged search over %d people x2 servers: p50 %v, p95 %v, max %v", peopleCount, percentile(total, 50), percentile(total, 95), percentile(total, 100))
	for _, src := range []string{LocalName, "Radicale", "slapd"} {
		t.Logf("  %s: p50 %v, p95 %v", src, percentile(per[src], 50), percentile(per[src], 95))
	}
}

func TestLookupIntegration(t *testing.T) {
	rad, sl, people := servers(t)
	local := newLocal(t)
	if _, err := local.AddNumber("Reception", "+33 1 40 00 00 07"); err != nil {
		t.Fatal(err)
	}
	dav := newCardDAV(t, rad, rad.BookURL())
	ld := newLDAP(t, sl)
	ctx := context.Background()
	tests := []struct {
		name    string
		sources []Source
		number  string
		want    string
		source  string
	}{
		{"local wins over the servers", []Source{local, dav, ld}, "0140000007", "Reception", LocalName},
		{"CardDAV, national form of an international TEL", []Source{local, dav}, "0140000123", people[123].Name(), "Radicale"},
		{"LDAP, international form of a national mobile", []Source{local, ld}, "+33610000245", people[245].Name(), "slapd"},
		{"SIP URI caller", []Source{local, ld, dav}, "sip:+33140000299@pbx.parlo.test;user=phone", people[299].Name(), "slapd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSearcher(SearcherOptions{Sources: tt.sources})
			start := time.Now()
			c, err := s.Lookup(ctx, tt.number)
			if err != nil || c.Name != tt.want || c.Source != tt.source {
				t.Fatalf("Lookup(%q) = %+v, %v; want %q from %s", tt.number, c, err, tt.want, tt.source)
			}
			t.Logf("lookup %s: %v", tt.source, time.Since(start))
		})
	}
	s := NewSearcher(SearcherOptions{Sources: []Source{local, dav, ld}})
	if c, err := s.Lookup(ctx, "0199999999"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown number: %+v, %v", c, err)
	}
	if c, err := s.Lookup(ctx, "0140000"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("partial number named a caller: %+v, %v", c, err)
	}
}

// hungServer accepts connections and never answers, like a server behind
// a firewall that lets the handshake through, or a hung process.
func hungServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	wg.Add(1)
	go func() { // owner: the test's cleanup, which closes l and waits
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// closedPort is a loopback port nothing listens on (connections refused).
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestUnreachableServerIntegration(t *testing.T) {
	_, sl, _ := servers(t)
	hung := hungServer(t)
	refused := closedPort(t)
	hungDAV, err := NewCardDAV(CardDAVOptions{Name: "Office CardDAV", URL: "http://" + hung + "/dav/", Username: "u", Password: "dav-secret-pw"})
	if err != nil {
		t.Fatal(err)
	}
	hungLDAP, err := NewLDAP(LDAPOptions{Name: "Old LDAP", URL: "ldap://" + hung, BaseDN: "dc=x", BindDN: "cn=u,dc=x", Password: "ldap-secret-pw"})
	if err != nil {
		t.Fatal(err)
	}
	deadLDAP, err := NewLDAP(LDAPOptions{Name: "Dead LDAP", URL: "ldap://" + refused, BaseDN: "dc=x"})
	if err != nil {
		t.Fatal(err)
	}
	const deadline = time.Second
	s := NewSearcher(SearcherOptions{
		Sources:       []Source{newLocal(t), hungDAV, hungLDAP, deadLDAP, newLDAP(t, sl)},
		SearchTimeout: deadline, LookupTimeout: deadline,
	})
	start := time.Now()
	res := s.Search(context.Background(), "alice")
	elapsed := time.Since(start)
	t.Logf("search with 3 dead servers: %v, %d contacts, errors: %v", elapsed, len(res.Contacts), res.Errors)
	if elapsed > deadline+500*time.Millisecond {
		t.Fatalf("search took %v, deadline %v", elapsed, deadline)
	}
	if len(res.Contacts) != 15 {
		t.Fatalf("the reachable server's results are missing: %d contacts", len(res.Contacts))
	}
	if len(res.Errors) != 3 {
		t.Fatalf("want 3 source errors, got %v", res.Errors)
	}
	for _, e := range res.Errors {
		msg := e.Error()
		if !errors.Is(e, ErrUnreachable) || !strings.Contains(msg, e.Source) || !strings.Contains(msg, "127.0.0.1:") {
			t.Errorf("unclear error for %s: %v", e.Source, msg)
		}
		if strings.Contains(msg, "secret-pw") {
			t.Errorf("password in error: %v", msg)
		}
	}
	start = time.Now()
	_, err = s.Lookup(context.Background(), "0140000005")
	if elapsed := time.Since(start); err != nil || elapsed > deadline+500*time.Millisecond {
		t.Fatalf("lookup with dead servers: %v after %v", err, elapsed)
	}
	// A wrong password is a clear server error, not a hang, and is not echoed.
	bad, err := NewLDAP(LDAPOptions{Name: "slapd", URL: sl.URL(), BindDN: sl.BindDN(), Password: "wrong-secret-pw", BaseDN: sl.BaseDN()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.Search(context.Background(), "alice")
	if !errors.Is(err, ErrServer) || !strings.Contains(err.Error(), "wrong bind DN or password") || strings.Contains(err.Error(), "secret-pw") {
		t.Fatalf("wrong password: %v", err)
	}
}
