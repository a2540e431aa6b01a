package callengine

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

func TestAccountValidateNamesTheField(t *testing.T) {
	cases := []struct {
		name  string
		acct  Account
		field string // "" means valid
	}{
		{"valid udp", Account{URI: "sip:alice@example.com", Password: "x", Registrar: "sip:127.0.0.1:5060"}, ""},
		{"valid ws", Account{URI: "sip:alice@example.com", Password: "x", Registrar: "ws://127.0.0.1:8080/"}, ""},
		{"valid tls", Account{URI: "sip:alice@example.com", Password: "x", Registrar: "sips:pbx.example.com"}, ""},
		{"empty uri", Account{Password: "x", Registrar: "sip:127.0.0.1"}, "URI"},
		{"uri without user", Account{URI: "sip:example.com", Password: "x", Registrar: "sip:127.0.0.1"}, "URI"},
		{"bad uri", Account{URI: "sip:al ice@@", Password: "x", Registrar: "sip:127.0.0.1"}, "URI"},
		{"not sip", Account{URI: "mailto:alice@example.com", Password: "x", Registrar: "sip:127.0.0.1"}, "URI"},
		{"no password", Account{URI: "sip:alice@example.com", Registrar: "sip:127.0.0.1"}, "Password"},
		{"no registrar", Account{URI: "sip:alice@example.com", Password: "x"}, "Registrar"},
		{"bad transport", Account{URI: "sip:alice@example.com", Password: "x", Registrar: "sip:127.0.0.1", Transport: "sctp"}, "Transport"},
		{"password in the AOR", Account{URI: "sip:alice:s3cret@example.com", Password: "x", Registrar: "sip:127.0.0.1"}, "URI"},
		{"empty password in the AOR", Account{URI: "sips:alice:@example.com", Password: "x", Registrar: "sip:127.0.0.1"}, "URI"},
		{"port in the AOR is no password", Account{URI: "sip:alice@example.com:5080", Password: "x", Registrar: "sip:127.0.0.1"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.acct.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("valid account rejected: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrBadAccount) {
				t.Fatalf("error %v does not wrap ErrBadAccount", err)
			}
			if !strings.Contains(err.Error(), "field "+tc.field) {
				t.Fatalf("error %q does not name field %s", err, tc.field)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("error %q repeats the password", err)
			}
		})
	}
}

func TestRegistrarParsing(t *testing.T) {
	cases := []struct {
		reg, transport, hostPort string
	}{
		{"sip:127.0.0.1:5070", "udp", "127.0.0.1:5070"},
		{"127.0.0.1", "udp", "127.0.0.1:5060"},
		{"sip:127.0.0.1;transport=tcp", "tcp", "127.0.0.1:5060"},
		{"sips:pbx.example.com", "tls", "pbx.example.com:5061"},
		{"ws://127.0.0.1:8080/", "ws", "127.0.0.1:8080"},
		{"wss://pbx.example.com/ws", "wss", "pbx.example.com:443"},
	}
	for _, tc := range cases {
		a := Account{URI: "sip:a@example.com", Password: "p", Registrar: tc.reg}
		r, err := a.registrar()
		if err != nil {
			t.Fatalf("%s: %v", tc.reg, err)
		}
		if r.transport != tc.transport || r.hostPort != tc.hostPort {
			t.Errorf("%s: got %s %s, want %s %s", tc.reg, r.transport, r.hostPort, tc.transport, tc.hostPort)
		}
	}
}

func TestParseListenAddr(t *testing.T) {
	cases := []struct {
		in   string
		ok   bool
		want ListenAddr
	}{
		{"udp:127.0.0.1:5071", true, ListenAddr{"udp", "127.0.0.1", 5071}},
		{"tcp:127.0.0.1:0", true, ListenAddr{"tcp", "127.0.0.1", 0}},
		{"ws:[::1]:8080", true, ListenAddr{"ws", "::1", 8080}},
		{"UDP:127.0.0.1:5060", true, ListenAddr{"udp", "127.0.0.1", 5060}},
		{"127.0.0.1:5060", false, ListenAddr{}},
		{"sctp:127.0.0.1:5060", false, ListenAddr{}},
		{"udp:localhost:5060", false, ListenAddr{}},
		{"udp:127.0.0.1:99999", false, ListenAddr{}},
		{"udp:127.0.0.1", false, ListenAddr{}},
	}
	for _, tc := range cases {
		got, err := ParseListenAddr(tc.in)
		if tc.ok != (err == nil) {
			t.Errorf("%q: err %v", tc.in, err)
			continue
		}
		if tc.ok && got != tc.want {
			t.Errorf("%q: %+v, want %+v", tc.in, got, tc.want)
		}
		if !tc.ok && !errors.Is(err, ErrBadListenAddr) {
			t.Errorf("%q: error %v does not wrap ErrBadListenAddr", tc.in, err)
		}
	}
}

// Lifetimes are kept within 30 s – 24 h, both what we ask and what the
// registrar grants.
func TestExpiresClamp(t *testing.T) {
	for _, tc := range []struct {
		name     string
		asked    time.Duration
		header   string // Expires of the 200, "" for none
		contact  string // our Contact's expires parameter, "" for none
		wantAsk  time.Duration
		wantUsed time.Duration
	}{
		{"default", 0, "", "", 300 * time.Second, 300 * time.Second},
		{"asked too short", 3 * time.Second, "", "", MinExpires, MinExpires},
		{"asked too long", 72 * time.Hour, "", "", MaxExpires, MaxExpires},
		{"granted 1 s", 300 * time.Second, "1", "", 300 * time.Second, MinExpires},
		{"granted ten years", 300 * time.Second, "315360000", "", 300 * time.Second, MaxExpires},
		{"contact param wins", 300 * time.Second, "600", "5", 300 * time.Second, MinExpires},
		{"granted in range", 300 * time.Second, "120", "", 300 * time.Second, 120 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := Account{Expires: tc.asked}
			if got := a.expires(); got != tc.wantAsk {
				t.Fatalf("asked %s, want %s", got, tc.wantAsk)
			}
			res := sip.NewResponse(sip.StatusOK, "OK")
			if tc.header != "" {
				res.AppendHeader(sip.NewHeader("Expires", tc.header))
			}
			if tc.contact != "" {
				res.AppendHeader(sip.NewHeader("Contact", "<sip:alice@127.0.0.1>;expires="+tc.contact))
			}
			if got := grantedExpires(res, a.expires()); got != tc.wantUsed {
				t.Fatalf("used %s, want %s", got, tc.wantUsed)
			}
		})
	}
}
