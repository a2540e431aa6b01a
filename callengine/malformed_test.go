package callengine

import (
	"net"
	"strings"
	"testing"
	"time"
)

// rawExchange sends one datagram to the phone and returns the reply, if any.
func rawExchange(t *testing.T, addr string, msg string) string {
	t.Helper()
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 65535)
	n, err := conn.Read(buf)
	if err != nil {
		return ""
	}
	return string(buf[:n])
}

func sipRequest(method, callID, body string, extra ...string) string {
	lines := []string{
		method + " sip:parlo@127.0.0.1 SIP/2.0",
		"Via: SIP/2.0/UDP 127.0.0.1:5999;rport;branch=z9hG4bK" + callID + method, // rport: answer to our socket (RFC 3581)
		"From: <sip:t@127.0.0.1>;tag=abc",
		"To: <sip:parlo@127.0.0.1>",
		"Call-ID: " + callID,
		"CSeq: 1 " + method,
		"Contact: <sip:t@127.0.0.1:5999>",
		"Max-Forwards: 70",
	}
	lines = append(lines, extra...)
	lines = append(lines, "Content-Length: "+itoa(len(body)), "", body)
	return strings.Join(lines, "\r\n")
}

func itoa(n int) string {
	return strings.TrimSpace(strings.Repeat(" ", 0) + func() string {
		b := []byte{}
		if n == 0 {
			return "0"
		}
		for n > 0 {
			b = append([]byte{byte('0' + n%10)}, b...)
			n /= 10
		}
		return string(b)
	}())
}

// Bad input gets a SIP error answer and the phone stays up.
func TestMalformedInputGetsErrorResponses(t *testing.T) {
	p := newTestPhone(t, testPhoneOpts{})
	addr := p.Listeners()[0]
	target := net.JoinHostPort(addr.Host, itoa(addr.Port))
	cases := []struct {
		name string
		msg  string
		want string // status line prefix; "" = no answer expected (unparseable)
	}{
		{"bad SDP", sipRequest("INVITE", "c1", "this is not sdp", "Content-Type: application/sdp"), "SIP/2.0 488"},
		// An INVITE without SDP is a late offer (RFC 3261 §13.2.1), not
		// malformed: see TestLateOfferIntegration.
		{"not SDP", sipRequest("INVITE", "c3", "{}", "Content-Type: application/json"), "SIP/2.0 415"},
		{"BYE unknown dialog", sipRequest("BYE", "c4", ""), "SIP/2.0 481"},
		{"OPTIONS", sipRequest("OPTIONS", "c5", ""), "SIP/2.0 200"},
		{"garbage", "\x00\x01hello world\r\n\r\n", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := rawExchange(t, target, tc.msg)
			if tc.want == "" {
				return
			}
			if !strings.HasPrefix(got, tc.want) {
				t.Fatalf("reply %q, want %s", firstLine(got), tc.want)
			}
		})
	}
	// Still alive and answering after all of it.
	if got := rawExchange(t, target, sipRequest("OPTIONS", "c9", "")); !strings.HasPrefix(got, "SIP/2.0 200") {
		t.Fatalf("phone stopped answering: %q", firstLine(got))
	}
	if len(p.Calls()) != 0 {
		t.Fatalf("malformed INVITEs left %d calls", len(p.Calls()))
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\r\n")
	return l
}

// FuzzInviteBody sends INVITEs with arbitrary bodies and headers values to a
// real phone: whatever arrives, the phone answers with a final status (or
// drops an unparseable message) and never panics. Run with
// `go test -fuzz FuzzInviteBody ./callengine`.
func FuzzInviteBody(f *testing.F) {
	f.Add("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n", "application/sdp")
	f.Add("v=0\r\nm=video 0 RTP/AVP 96\r\n", "application/sdp")
	f.Add("", "")
	f.Add("\x00\xff", "application/sdp")
	// Fuzzing sends thousands of requests a second from one address: the
	// per-source limit (tested in TestGuardInviteFloodIntegration) is off.
	p := newTestPhone(f, testPhoneOpts{tune: func(o *Options) { o.SourceRate = -1 }})
	addr := p.Listeners()[0]
	target := net.JoinHostPort(addr.Host, itoa(addr.Port))
	monitor := newHostile(f, p)
	n := 0
	f.Fuzz(func(t *testing.T, body, contentType string) {
		n++
		extra := []string{}
		if contentType != "" && !strings.ContainsAny(contentType, "\r\n") {
			extra = append(extra, "Content-Type: "+contentType)
		}
		_ = rawExchange(t, target, sipRequest("INVITE", "fz"+itoa(n), body, extra...))
		// Alive = answers OPTIONS within 5 s (1 s was too short on a loaded
		// 2-core machine while fuzzing).
		mon := monitor.with(t)
		id := "fo" + itoa(n)
		if res := mon.probe(mon.build(rawReq{method: "OPTIONS", callID: id}), id, 5*time.Second); status(res) != 200 {
			t.Fatalf("phone stopped answering after body %q: %d", body, status(res))
		}
		if panics := p.guard.panics.Load(); panics != 0 {
			t.Fatalf("%d handler panics after body %q", panics, body)
		}
		for _, s := range p.Calls() {
			_ = p.Hangup(ctxT(t, 2*time.Second), s.SipCallID)
		}
	})
}
