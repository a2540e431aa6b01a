package calllink

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		link, want string
		err        error
	}{
		{"sip:bob@example.com", "sip:bob@example.com", nil},
		{"SIP:bob@example.com:5070", "sip:bob@example.com:5070", nil},
		{"sips:alice@pbx.example.org", "sips:alice@pbx.example.org", nil},
		{"sip:bob@10.0.0.7;transport=tcp", "sip:bob@10.0.0.7", nil},
		{"sip:bob@example.com?Replaces=abc%3Bto-tag%3D1", "sip:bob@example.com", nil},
		{"sip:bob@example.com;method=REFER?Refer-To=sip:x@evil", "sip:bob@example.com", nil},
		{"sip:1000@[2001:db8::1]", "sip:1000@[2001:db8::1]", nil},
		{"tel:+33-1-23-45-67-89", "+33123456789", nil},
		{"tel:+1%20(555)%20010.0199;ext=12", "+15550100199", nil},
		{"tel:*21#", "*21#", nil},
		{"callto:0123456789", "0123456789", nil},
		{"callto://bob@example.com", "sip:bob@example.com", nil},
		{"callto:bob@example.com?x=y", "sip:bob@example.com", nil},

		{"https://example.com", "", ErrNotCallLink},
		{"--listen", "", ErrNotCallLink},
		{"headless", "", ErrNotCallLink},
		{"sip:bob%0D%0AVia:%20evil@example.com", "", ErrBadLink},
		{"sip:bob@exa\r\nmple.com", "", ErrBadLink},
		{"sip:bob:secret@example.com", "", ErrBadLink},
		{"sip:bob@exam<ple.com", "", ErrBadLink},
		{"sip:@", "", ErrBadLink},
		{"sip:;@0", "", ErrBadLink},
		{"sip:0::@0", "", ErrBadLink},
		{"sip:+331234;phone-context=pbx@example.com", "sip:+331234;phone-context=pbx@example.com", nil},
		{"tel:", "", ErrBadLink},
		{"tel:+33;phone-context=x", "+33", nil},
		{"tel:call-me-maybe", "", ErrBadLink},
		{"tel:+" + strings.Repeat("1", 40), "", ErrBadLink},
		{"sip:" + strings.Repeat("a", 600) + "@x", "", ErrBadLink},
	} {
		t.Run(tc.link, func(t *testing.T) {
			got, err := Parse(tc.link)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("Parse(%q) = %q, %v; want error %v", tc.link, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Parse(%q) = %q, %v; want %q", tc.link, got, err, tc.want)
			}
		})
	}
}

// FuzzParse: whatever a web page puts in a link, what Parse returns is a
// plain address with no control characters, no URI headers or parameters,
// and Parse accepts its own output unchanged.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"sip:bob@example.com", "tel:+1-555", "callto://x@y", "sips:a@[::1]:5061;x=y?h=v", "sip:%0d%0a@x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, link string) {
		got, err := Parse(link)
		if err != nil {
			if !errors.Is(err, ErrBadLink) && !errors.Is(err, ErrNotCallLink) {
				t.Fatalf("Parse(%q): unexpected error %v", link, err)
			}
			return
		}
		// ';' may stay inside a SIP user part (RFC 3261 §19.1.2 user
		// parameters, e.g. a number's phone-context); never after the host.
		host := got[strings.LastIndexByte(got, '@')+1:]
		if hasControl(got) || strings.ContainsAny(got, "?\r\n<>\"") || strings.Contains(host, ";") {
			t.Fatalf("Parse(%q) = %q: not a plain address", link, got)
		}
		if IsLink(got) {
			again, err := Parse(got)
			if err != nil || again != got {
				t.Fatalf("Parse(%q) = %q, but Parse of that = %q, %v", link, got, again, err)
			}
		}
	})
}
