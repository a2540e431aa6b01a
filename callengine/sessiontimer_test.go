package callengine

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

func reqWith(headers ...string) *sip.Request {
	req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "bob", Host: "127.0.0.1"})
	for i := 0; i+1 < len(headers); i += 2 {
		req.AppendHeader(sip.NewHeader(headers[i], headers[i+1]))
	}
	return req
}

func TestSessionExpiresHeader(t *testing.T) {
	cases := []struct {
		name      string
		headers   []string
		interval  time.Duration
		refresher string
		ok        bool
	}{
		{"absent", nil, 0, "", false},
		{"plain", []string{"Session-Expires", "1800"}, 1800 * time.Second, "", true},
		{"refresher", []string{"Session-Expires", "90;refresher=UAS"}, 90 * time.Second, "uas", true},
		{"compact form", []string{"x", "120 ; refresher=uac"}, 120 * time.Second, "uac", true},
		{"unknown refresher", []string{"Session-Expires", "600;refresher=proxy"}, 600 * time.Second, "", true},
		{"zero", []string{"Session-Expires", "0"}, 0, "", false},
		{"negative", []string{"Session-Expires", "-5"}, 0, "", false},
		{"garbage", []string{"Session-Expires", "soon"}, 0, "", false},
		{"overflow", []string{"Session-Expires", "99999999999999999999"}, 0, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ref, ok := sessionExpiresHeader(reqWith(tc.headers...))
			if got != tc.interval || ref != tc.refresher || ok != tc.ok {
				t.Fatalf("got %s %q %v, want %s %q %v", got, ref, ok, tc.interval, tc.refresher, tc.ok)
			}
		})
	}
}

func TestRaiseSessionExpiresOn422(t *testing.T) {
	cases := []struct {
		name    string
		minSE   string
		current time.Duration
		retries int
		want    time.Duration
		ok      bool
	}{
		{"raised", "1800", 90 * time.Second, 0, 1800 * time.Second, true},
		{"not higher", "60", 90 * time.Second, 0, 90 * time.Second, false},
		{"no Min-SE", "", 90 * time.Second, 0, 90 * time.Second, false},
		{"retries spent", "1800", 90 * time.Second, maxTimerRetries, 90 * time.Second, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := sip.NewResponse(statusIntervalTooSmall, "Session Interval Too Small")
			if tc.minSE != "" {
				res.AppendHeader(sip.NewHeader("Min-SE", tc.minSE))
			}
			d := &outgoingDial{sessionExpires: tc.current, timerRetries: tc.retries}
			if ok := d.raiseSessionExpires(res); ok != tc.ok || d.sessionExpires != tc.want {
				t.Fatalf("got %v, %s; want %v, %s", ok, d.sessionExpires, tc.ok, tc.want)
			}
		})
	}
}

// A UAC may require the timer extension (RFC 4028 §7.1); the request
// guard must not answer it 420 Bad Extension.
func TestRequireTimerAccepted(t *testing.T) {
	if code, _, why, _ := checkRequestLine(reqWith("Require", "timer")); code != 0 {
		t.Fatalf("Require: timer refused %d (%s)", code, why)
	}
	if code, _, _, _ := checkRequestLine(reqWith("Require", "timer, 100rel")); code != sip.StatusBadExtension {
		t.Fatalf("Require: 100rel got %d, want 420", code)
	}
}

// FuzzSessionTimerHeaders: what a stranger puts in Session-Expires, Min-SE
// and Supported never panics the parsers.
func FuzzSessionTimerHeaders(f *testing.F) {
	for _, s := range []string{"1800", "90;refresher=uac", "x;;=;", "4294967296", "timer, 100rel"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		req := reqWith("Session-Expires", v, "Min-SE", v, "Supported", v, "Allow", v)
		if d, _, ok := sessionExpiresHeader(req); ok && d <= 0 {
			t.Fatalf("accepted a non-positive interval %s from %q", d, v)
		}
		if minSEHeader(req) < 0 {
			t.Fatalf("negative Min-SE from %q", v)
		}
		_ = supportsTimer(req)
		_ = allows(req, "UPDATE")
	})
}
