package directory

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/emersion/go-vcard"
	"github.com/go-ldap/ldap/v3"
)

// checkContact asserts the limits every source's output obeys.
func checkContact(t *testing.T, c Contact) {
	t.Helper()
	if !utf8.ValidString(c.Name) || len(c.Name) > MaxNameLen || strings.ContainsAny(c.Name, "\x00\r\n\u202e") {
		t.Fatalf("name not cleaned: %q", c.Name)
	}
	if len(c.Phones) > MaxNumbersPerContact {
		t.Fatalf("%d phones", len(c.Phones))
	}
	for _, p := range c.Phones {
		if len(p.Number) > MaxNumberLen || Normalize(p.Number) == "" {
			t.Fatalf("bad number %q", p.Number)
		}
	}
}

// FuzzCardToContact feeds server vCards through go-vcard and our mapping.
func FuzzCardToContact(f *testing.F) {
	f.Add("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Alice\r\nTEL;TYPE=CELL:+33 6 12\r\nEND:VCARD\r\n")
	f.Add("BEGIN:VCARD\r\nVERSION:4.0\r\nN:Martin;Alice;;;\r\nTEL;VALUE=uri:tel:+33123;ext=1\r\nORG:ACME;Sales\r\nEND:VCARD\r\n")
	f.Fuzz(func(t *testing.T, data string) {
		card, err := vcard.NewDecoder(strings.NewReader(data)).Decode()
		if err != nil {
			return
		}
		if c, ok := cardToContact(card); ok {
			checkContact(t, c)
		}
	})
}

// FuzzEntryToContact maps arbitrary attribute values of an LDAP entry.
func FuzzEntryToContact(f *testing.F) {
	f.Add("Alice Martin", "+33 1 23 45 67 89", "06 12", "ACME")
	f.Add("", "", "\x00\xff", "")
	f.Fuzz(func(t *testing.T, cn, tel, mobile, org string) {
		e := ldap.NewEntry("cn=x,dc=example,dc=com", map[string][]string{
			"cn": {cn}, "telephoneNumber": {tel, tel + tel}, "mobile": {mobile}, "o": {org},
		})
		if c, ok := entryToContact(e); ok {
			checkContact(t, c)
		}
	})
}

// FuzzLDAPFilter checks that no query escapes the filter template: the
// compiled filter always parses, and decompiles to the template with the
// escaped words in place.
func FuzzLDAPFilter(f *testing.F) {
	f.Add("alice")
	f.Add("*)(uid=*))(|(uid=*")
	f.Add("a\\b\x00c(")
	f.Fuzz(func(t *testing.T, query string) {
		if !utf8.ValidString(query) {
			return
		}
		words := strings.Fields(query)
		if len(words) == 0 {
			return
		}
		esc := make([]string, len(words))
		for i, w := range words {
			esc[i] = ldap.EscapeFilter(w)
		}
		filter := ldapFilter("(cn=*{query}*)", QueryPlaceholder, strings.Join(esc, "*"))
		p, err := ldap.CompileFilter(filter)
		if err != nil {
			t.Fatalf("filter %q does not compile: %v", filter, err)
		}
		back, err := ldap.DecompileFilter(p)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(back, "(cn=*") || strings.Count(back, "(") != 1 {
			t.Fatalf("query %q changed the filter's structure: %q", query, back)
		}
	})
}
