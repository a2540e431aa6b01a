package callengine

import (
	"encoding/base64"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// hostile is a raw SIP sender on an address of its own in 127.0.0.0/8, so
// every stranger a test plays has its own source: the phone's per-source
// limit then never touches the real calls the tests make from 127.0.0.1.
type hostile struct {
	t      testing.TB
	conn   *net.UDPConn
	target *net.UDPAddr
	ip     string
	port   int
	n      atomic.Int64
}

var hostileAddrs atomic.Int64

func newHostile(t testing.TB, p *testPhone) *hostile {
	t.Helper()
	n := hostileAddrs.Add(1)
	ip := fmt.Sprintf("127.%d.%d.%d", 1+n/62500%250, n/250%250, 1+n%250)
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatalf("hostile socket on %s: %v", ip, err)
	}
	t.Cleanup(func() { conn.Close() })
	l := p.Listeners()[0]
	return &hostile{
		t: t, conn: conn, ip: ip, port: conn.LocalAddr().(*net.UDPAddr).Port,
		target: &net.UDPAddr{IP: net.ParseIP(l.Host), Port: l.Port},
	}
}

// with returns the same stranger reporting to t (inside a fuzz function,
// the fuzz target's own T must not be used).
func (h *hostile) with(t testing.TB) *hostile {
	t.Helper()
	return &hostile{t: t, conn: h.conn, target: h.target, ip: h.ip, port: h.port}
}

// rawReq describes one request the stranger sends.
type rawReq struct {
	method     string
	callID     string
	fromTag    string
	toTag      string
	cseq       int
	cseqMethod string // default: method
	branch     string // default: fresh
	body       string
	ctype      string          // default application/sdp when body is set
	omit       map[string]bool // header names left out
	extra      []string
}

func (h *hostile) build(r rawReq) string {
	if r.cseq == 0 {
		r.cseq = 1
	}
	if r.cseqMethod == "" {
		r.cseqMethod = r.method
	}
	if r.branch == "" {
		r.branch = "z9hG4bK" + strconv.FormatInt(time.Now().UnixNano(), 36) + strconv.FormatInt(h.n.Add(1), 36)
	}
	if r.fromTag == "" {
		r.fromTag = "s" + strconv.FormatInt(h.n.Add(1), 10)
	}
	if r.body != "" && r.ctype == "" {
		r.ctype = "application/sdp"
	}
	to := "To: <sip:parlo@" + h.target.IP.String() + ">"
	if r.toTag != "" {
		to += ";tag=" + r.toTag
	}
	hdr := []struct{ name, line string }{
		{"Via", fmt.Sprintf("Via: SIP/2.0/UDP %s:%d;rport;branch=%s", h.ip, h.port, r.branch)},
		{"Max-Forwards", "Max-Forwards: 70"},
		{"From", "From: <sip:stranger@" + h.ip + ">;tag=" + r.fromTag},
		{"To", to},
		{"Call-ID", "Call-ID: " + r.callID},
		{"CSeq", fmt.Sprintf("CSeq: %d %s", r.cseq, r.cseqMethod)},
		{"Contact", fmt.Sprintf("Contact: <sip:stranger@%s:%d>", h.ip, h.port)},
	}
	lines := []string{r.method + " sip:parlo@" + h.target.String() + " SIP/2.0"}
	for _, x := range hdr {
		if !r.omit[x.name] {
			lines = append(lines, x.line)
		}
	}
	if r.ctype != "" {
		lines = append(lines, "Content-Type: "+r.ctype)
	}
	lines = append(lines, r.extra...)
	lines = append(lines, "Content-Length: "+strconv.Itoa(len(r.body)), "", r.body)
	return strings.Join(lines, "\r\n")
}

func (h *hostile) send(msg string) {
	h.t.Helper()
	if _, err := h.conn.WriteToUDP([]byte(msg), h.target); err != nil {
		h.t.Fatalf("send: %v", err)
	}
}

// exchange sends msg and collects responses until a final one or timeout.
// It returns the final response (nil if none) and the provisional codes.
func (h *hostile) exchange(msg string, timeout time.Duration) (*sip.Response, []int) {
	h.t.Helper()
	h.send(msg)
	return h.await(timeout)
}

func (h *hostile) await(timeout time.Duration) (*sip.Response, []int) {
	h.t.Helper()
	var prov []int
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 65535)
	for {
		_ = h.conn.SetReadDeadline(deadline)
		n, err := h.conn.Read(buf)
		if err != nil {
			return nil, prov
		}
		msg, err := sip.ParseMessage(buf[:n])
		if err != nil {
			h.t.Fatalf("unparsable reply: %v: %q", err, buf[:n])
		}
		res, ok := msg.(*sip.Response)
		if !ok {
			continue // a request (e.g. a retransmitted response's ACK) is not ours
		}
		if res.StatusCode < 200 {
			prov = append(prov, res.StatusCode)
			continue
		}
		return res, prov
	}
}

// sdesOffer is a classic audio offer the phone accepts under its default
// policy (SDES-SRTP, PCMU): it rings, and needs no ICE to build.
func sdesOffer(mutate ...func(string) string) string {
	key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcd"))
	s := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=audio 40000 RTP/SAVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n" +
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + key + "\r\na=sendrecv\r\n"
	for _, m := range mutate {
		s = m(s)
	}
	return s
}

// realCallWorks places a real call from a new phone to callee, checks that
// it rings, is accepted, carries audio, and ends cleanly, leaving no call.
func realCallWorks(t *testing.T, callee *testPhone) {
	t.Helper()
	caller := newTestPhone(t, testPhoneOpts{toneHz: 440})
	defer caller.Close()
	ctx := ctxT(t, 30*time.Second)
	s, err := caller.Call(ctx, callee.uri(), CallOptions{})
	if err != nil {
		t.Fatalf("real call: %v", err)
	}
	id := s.SipCallID
	callee.rec.wait(t, EventCallIncoming, id, 5*time.Second)
	if err := callee.Accept(ctx, id); err != nil {
		t.Fatalf("real call: Accept: %v", err)
	}
	caller.rec.wait(t, EventCallAccepted, id, 5*time.Second)
	callee.rec.wait(t, EventMediaConnected, id, 10*time.Second)
	callee.waitTone(t, 440, 10*time.Second)
	if err := caller.Hangup(ctx, id); err != nil {
		t.Fatalf("real call: Hangup: %v", err)
	}
	callee.rec.wait(t, EventCallEnded, id, 5*time.Second)
	waitNoCalls(t, callee, 5*time.Second)
	if n := callee.guard.panics.Load(); n != 0 {
		t.Fatalf("%d handler panics recovered", n)
	}
}

func waitNoCalls(t testing.TB, p *testPhone, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for len(p.Calls()) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d calls left", len(p.Calls()))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// rejectAll declines every ringing call and hangs up the rest.
func rejectAll(t testing.TB, p *testPhone) {
	t.Helper()
	ctx := ctxT(t, 10*time.Second)
	for _, s := range p.Calls() {
		if !s.IsCaller && !s.Answered {
			_ = p.Reject(ctx, s.SipCallID, 486)
		} else {
			_ = p.Hangup(ctx, s.SipCallID)
		}
	}
}

func hasWarning(res *sip.Response) bool {
	return res != nil && res.GetHeader("Warning") != nil
}

func status(res *sip.Response) int {
	if res == nil {
		return 0
	}
	return res.StatusCode
}

func parseResponse(t testing.TB, b []byte) *sip.Response {
	t.Helper()
	msg, err := sip.ParseMessage(b)
	if err != nil {
		t.Fatalf("unparsable reply: %v: %q", err, b)
	}
	res, ok := msg.(*sip.Response)
	if !ok {
		t.Fatalf("a request came back: %q", b)
	}
	return res
}

// probe sends msg and waits for the final response carrying callID,
// skipping stale ones (retransmitted finals of earlier probes).
func (h *hostile) probe(msg, callID string, timeout time.Duration) *sip.Response {
	h.t.Helper()
	h.send(msg)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		res, _ := h.await(time.Until(deadline))
		if res == nil {
			return nil
		}
		if res.CallID() != nil && res.CallID().Value() == callID {
			return res
		}
	}
	return nil
}
