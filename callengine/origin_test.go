package callengine

import (
	"bufio"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/parlo-voip/parlo/internal/testpeers"
)

// rawRequest sends one UDP datagram from a socket bound on from and returns
// the status code of the first final answer (0 when none comes).
func rawRequest(t *testing.T, from, to string, method sip.RequestMethod, ruri string, extra string) int {
	t.Helper()
	conn, err := net.ListenPacket("udp", from+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	dst, err := net.ResolveUDPAddr("udp", to)
	if err != nil {
		t.Fatal(err)
	}
	local := conn.LocalAddr().String()
	msg := fmt.Sprintf("%s %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%d;rport\r\nMax-Forwards: 70\r\n"+
		"From: <sip:mallory@%s>;tag=t%d\r\nTo: <%s>\r\nCall-ID: stranger-%d@%s\r\nCSeq: 1 %s\r\nContact: <sip:mallory@%s>\r\n%sContent-Length: 0\r\n\r\n",
		method, ruri, local, time.Now().UnixNano(), local, time.Now().UnixNano(), ruri, time.Now().UnixNano(), from, method, local, extra)
	if _, err := conn.WriteTo([]byte(msg), dst); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65535)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		_ = conn.SetReadDeadline(deadline)
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			return 0
		}
		line, _ := bufio.NewReader(strings.NewReader(string(buf[:n]))).ReadString('\n')
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		code, _ := strconv.Atoi(f[1])
		if code >= 200 {
			return code
		}
	}
	return 0
}

// While registered, requests that start something are served only when
// they come from the registrar or carry our Contact token: a stranger
// reaching the socket directly gets 403, never a ringing call.
func TestStrangerRefusedWhenRegisteredIntegration(t *testing.T) {
	// The registrar on 127.0.0.3, strangers on 127.0.0.1 and 127.0.0.2
	// (a TCP connection from any local socket leaves from 127.0.0.1).
	reg := startChallengerAt(t, "127.0.0.3", "parlo.test", sip.StatusUnauthorized)
	alice := newTestPhone(t, testPhoneOpts{toneHz: 440, account: &Account{URI: "sip:alice@parlo.test", Password: "pa", Registrar: "sip:" + reg.addr}})
	if err := alice.Register(ctxT(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	alice.mu.Lock()
	token := alice.reg.token
	alice.mu.Unlock()
	aliceAddr := alice.Listeners()[0]
	hostPort := net.JoinHostPort(aliceAddr.Host, strconv.Itoa(aliceAddr.Port))
	plain := "sip:alice@" + hostPort
	withToken := plain + ";" + contactTokenParam + "=" + token
	const stranger = "127.0.0.2"

	cases := []struct {
		method sip.RequestMethod
		ruri   string
		extra  string
		want   int
	}{
		{sip.OPTIONS, plain, "", sip.StatusForbidden},
		{sip.MESSAGE, plain, "Content-Type: text/plain\r\n", sip.StatusForbidden},
		{sip.NOTIFY, plain, "Event: refer\r\nSubscription-State: active\r\n", sip.StatusForbidden},
		{sip.REFER, plain, "Refer-To: <sip:premium@198.51.100.1>\r\n", sip.StatusForbidden},
		{sip.INVITE, plain, "", sip.StatusForbidden},
		{sip.OPTIONS, plain + ";" + contactTokenParam + "=guessed", "", sip.StatusForbidden},
		// With the token the request reaches its handler.
		{sip.OPTIONS, withToken, "", sip.StatusOK},
	}
	for _, tc := range cases {
		t.Run(string(tc.method)+" "+strings.TrimPrefix(tc.ruri, plain), func(t *testing.T) {
			if got := rawRequest(t, stranger, hostPort, tc.method, tc.ruri, tc.extra); got != tc.want {
				t.Fatalf("%s from a stranger answered %d, want %d", tc.method, got, tc.want)
			}
		})
	}
	// A real phone at the stranger's address: its INVITE is refused
	// before ringing; with the token (as the registrar would send it)
	// it rings.
	mallory := newTestPhone(t, testPhoneOpts{toneHz: 660, listen: "udp:" + stranger + ":0"})
	s, err := mallory.Call(ctxT(t, 10*time.Second), plain, CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rej := mallory.rec.wait(t, EventCallRejected, s.SipCallID, 10*time.Second)
	if payloadOf[CallStatusPayload](rej).Status != sip.StatusForbidden {
		t.Fatalf("stranger's INVITE: %v, want 403", rej.Payload)
	}
	if n := alice.rec.count(EventCallIncoming, ""); n != 0 {
		t.Fatalf("alice rang %d times for strangers", n)
	}
	s, err = mallory.Call(ctxT(t, 10*time.Second), withToken, CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	in := alice.rec.wait(t, EventCallIncoming, s.SipCallID, 10*time.Second)
	if err := alice.Accept(ctxT(t, 10*time.Second), in.Session.SipCallID); err != nil {
		t.Fatal(err)
	}
	alice.rec.wait(t, EventMediaConnected, s.SipCallID, 10*time.Second)
	_ = alice.Hangup(ctxT(t, 5*time.Second), s.SipCallID)
	waitCalls(t, alice.Phone, 0)
}

// Kamailio stores our Contact with its token and routes to it, so once its
// 200 OK shows the token, a request without it is refused even from the
// registrar's own address (a scanner on the same host or NAT); calls
// through Kamailio still ring.
func TestKamailioTokenRequiredIntegration(t *testing.T) {
	testpeers.Require(t, "kamailio")
	k := testpeers.StartKamailio(t, testpeers.KamailioOptions{Users: map[string]string{"alice": "pa", "bob": "pb"}})
	acct := func(user, pass string) *Account {
		return &Account{URI: "sip:" + user + "@" + k.Domain(), Password: pass, Registrar: "sip:" + k.UDPAddr()}
	}
	a := newTestPhone(t, testPhoneOpts{toneHz: 440, account: acct("alice", "pa")})
	b := newTestPhone(t, testPhoneOpts{toneHz: 660, account: acct("bob", "pb")})
	ctx := ctxT(t, 20*time.Second)
	for _, p := range []*testPhone{a, b} {
		if err := p.Register(ctx); err != nil {
			t.Fatalf("register: %v\n%s", err, k.Log())
		}
	}
	a.mu.Lock()
	echoed := a.reg.tokenEchoed.Load()
	a.mu.Unlock()
	if !echoed {
		t.Fatal("Kamailio's 200 OK did not list our Contact token")
	}
	l := a.Listeners()[0]
	hostPort := net.JoinHostPort(l.Host, strconv.Itoa(l.Port))
	for _, m := range []sip.RequestMethod{sip.OPTIONS, sip.INVITE, sip.MESSAGE} {
		if got := rawRequest(t, "127.0.0.1", hostPort, m, "sip:alice@"+hostPort, ""); got != sip.StatusForbidden {
			t.Fatalf("%s from the registrar's address without the token answered %d, want 403", m, got)
		}
	}
	s, err := b.Call(ctx, "alice", CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a.rec.wait(t, EventCallIncoming, s.SipCallID, 5*time.Second)
	if err := a.Accept(ctx, s.SipCallID); err != nil {
		t.Fatal(err)
	}
	b.rec.wait(t, EventMediaConnected, s.SipCallID, 5*time.Second)
	if n := a.rec.count(EventCallIncoming, ""); n != 1 {
		t.Fatalf("alice rang %d times, want once", n)
	}
}

// Known scanners' User-Agents are refused in direct mode too, and an INVITE
// with a To tag naming no call (sipvicious' way of not ringing phones) is
// refused while registered; a plain OPTIONS from anyone is answered in
// direct mode.
func TestScannerRefusedIntegration(t *testing.T) {
	p := newTestPhone(t, testPhoneOpts{})
	l := p.Listeners()[0]
	hostPort := net.JoinHostPort(l.Host, strconv.Itoa(l.Port))
	for _, tc := range []struct {
		name   string
		method sip.RequestMethod
		extra  string
		want   int
	}{
		{"sipvicious INVITE", sip.INVITE, "User-Agent: friendly-scanner\r\n", sip.StatusForbidden},
		{"sipvicious OPTIONS", sip.OPTIONS, "User-Agent: friendly-scanner\r\n", sip.StatusForbidden},
		{"sipcli", sip.OPTIONS, "User-Agent: sipcli/v1.8\r\n", sip.StatusForbidden},
		{"a phone", sip.OPTIONS, "User-Agent: Linphone/5.1\r\n", sip.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := rawRequest(t, "127.0.0.2", hostPort, tc.method, "sip:parlo@"+hostPort, tc.extra); got != tc.want {
				t.Fatalf("answered %d, want %d", got, tc.want)
			}
		})
	}
	if n := p.rec.count(EventCallIncoming, ""); n != 0 {
		t.Fatalf("rang %d times", n)
	}
}
