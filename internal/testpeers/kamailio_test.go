package testpeers

import (
	"bufio"
	"crypto/md5"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rawSIP is a minimal UDP SIP client for the self-tests; it is deliberately
// independent of Parlo's SIP stack so that it checks the peer, not Parlo.
type rawSIP struct {
	t    *testing.T
	conn *net.UDPConn
	seq  int
}

func dialRawSIP(t *testing.T, addr string) *rawSIP {
	t.Helper()
	ua, err := net.ResolveUDPAddr("udp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialUDP("udp4", nil, ua)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &rawSIP{t: t, conn: c}
}

// register sends a REGISTER for user@domain, with an Authorization header
// when auth is not empty, and returns the first final response.
func (r *rawSIP) register(user, domain, auth string) string {
	r.t.Helper()
	r.seq++
	local := r.conn.LocalAddr().String()
	req := "REGISTER sip:" + domain + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + local + ";branch=z9hG4bK-selftest-" + strconv.Itoa(r.seq) + ";rport\r\n" +
		"Max-Forwards: 70\r\n" +
		"From: <sip:" + user + "@" + domain + ">;tag=selftest\r\n" +
		"To: <sip:" + user + "@" + domain + ">\r\n" +
		"Call-ID: selftest-register@" + local + "\r\n" +
		"CSeq: " + strconv.Itoa(r.seq) + " REGISTER\r\n" +
		"Contact: <sip:" + user + "@" + local + ">\r\n" +
		"Expires: 60\r\n"
	if auth != "" {
		req += "Authorization: " + auth + "\r\n"
	}
	req += "Content-Length: 0\r\n\r\n"
	return r.roundTrip(req)
}

func (r *rawSIP) roundTrip(req string) string {
	r.t.Helper()
	buf := make([]byte, 8192)
	// Retransmit like RFC 3261 timer A would, in case a datagram is lost.
	for attempt := range 5 {
		if _, err := r.conn.Write([]byte(req)); err != nil {
			r.t.Fatalf("write: %v", err)
		}
		deadline := time.Now().Add(time.Duration(500*(attempt+1)) * time.Millisecond)
		for {
			_ = r.conn.SetReadDeadline(deadline)
			n, err := r.conn.Read(buf)
			if err != nil {
				break
			}
			resp := string(buf[:n])
			if code := statusCode(resp); code >= 200 {
				return resp
			}
		}
	}
	r.t.Fatalf("no final response to:\n%s", req)
	return ""
}

func statusCode(resp string) int {
	var code int
	if _, err := fmt.Sscanf(resp, "SIP/2.0 %d", &code); err != nil {
		return 0
	}
	return code
}

func header(resp, name string) string {
	for _, line := range strings.Split(resp, "\r\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func digestParam(h, name string) string {
	m := regexp.MustCompile(`(?i)\b` + name + `="?([^",]*)"?`).FindStringSubmatch(h)
	if m == nil {
		return ""
	}
	return m[1]
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// digestAuthorization computes an RFC 2617 section 3.2.2 response by hand.
func digestAuthorization(challenge, user, pass, method, uri string) string {
	realm := digestParam(challenge, "realm")
	nonce := digestParam(challenge, "nonce")
	ha1 := md5hex(user + ":" + realm + ":" + pass)
	ha2 := md5hex(method + ":" + uri)
	if strings.Contains(digestParam(challenge, "qop"), "auth") {
		const nc, cnonce = "00000001", "0a4f113b"
		resp := md5hex(ha1 + ":" + nonce + ":" + nc + ":" + cnonce + ":auth:" + ha2)
		return fmt.Sprintf(`Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=MD5, qop=auth, nc=%s, cnonce="%s"`,
			user, realm, nonce, uri, resp, nc, cnonce)
	}
	resp := md5hex(ha1 + ":" + nonce + ":" + ha2)
	return fmt.Sprintf(`Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=MD5`,
		user, realm, nonce, uri, resp)
}

func TestKamailioRegisterChallenge(t *testing.T) {
	tests := []struct {
		name  string
		realm string
	}{
		{"default realm", ""},
		{"custom realm", "example.invalid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := StartKamailio(t, KamailioOptions{Users: map[string]string{"alice": "s3cret"}, Realm: tc.realm})
			want := tc.realm
			if want == "" {
				want = DefaultRealm
			}
			if k.Domain() != want {
				t.Fatalf("Domain() = %q, want %q", k.Domain(), want)
			}
			resp := dialRawSIP(t, k.UDPAddr()).register("alice", k.Domain(), "")
			if code := statusCode(resp); code != 401 {
				t.Fatalf("REGISTER without credentials: got %d, want 401\n%s\n%s", code, resp, k.Log())
			}
			wa := header(resp, "WWW-Authenticate")
			if !strings.HasPrefix(wa, "Digest ") || digestParam(wa, "realm") != want || digestParam(wa, "nonce") == "" {
				t.Fatalf("WWW-Authenticate = %q, want Digest with realm %q and a nonce", wa, want)
			}
		})
	}
}

func TestKamailioRegisterDigest(t *testing.T) {
	tests := []struct {
		name     string
		password string
		want     int
	}{
		{"right password", "s3cret", 200},
		{"wrong password", "wrong", 401},
	}
	k := StartKamailio(t, KamailioOptions{Users: map[string]string{"alice": "s3cret", "bob": "other"}})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRawSIP(t, k.UDPAddr())
			resp := c.register("alice", k.Domain(), "")
			if statusCode(resp) != 401 {
				t.Fatalf("first REGISTER: %s", resp)
			}
			auth := digestAuthorization(header(resp, "WWW-Authenticate"), "alice", tc.password, "REGISTER", "sip:"+k.Domain())
			resp = c.register("alice", k.Domain(), auth)
			if code := statusCode(resp); code != tc.want {
				t.Fatalf("authenticated REGISTER: got %d, want %d\n%s\n--- log ---\n%s", code, tc.want, resp, k.Log())
			}
			if tc.want == 200 && !strings.Contains(header(resp, "Contact"), c.conn.LocalAddr().String()) {
				t.Fatalf("200 OK does not list our contact %s:\n%s", c.conn.LocalAddr(), resp)
			}
		})
	}
}

// TestKamailioWebSocketHandshake checks that the WS port upgrades an HTTP
// request to SIP over WebSocket (RFC 7118 section 4), which needs
// tcp_accept_no_cl.
func TestKamailioWebSocketHandshake(t *testing.T) {
	k := StartKamailio(t, KamailioOptions{})
	addr := strings.TrimSuffix(strings.TrimPrefix(k.WSURL(), "ws://"), "/")
	c, err := net.DialTimeout("tcp4", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, err = fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: sip\r\n\r\n", addr)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read handshake response: %v\n%s", err, k.Log())
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake status %d, want 101\n%s", resp.StatusCode, k.Log())
	}
	// RFC 6455 section 1.3's example key has this accept value.
	if got := resp.Header.Get("Sec-WebSocket-Accept"); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("Sec-WebSocket-Accept = %q", got)
	}
	if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != "sip" {
		t.Fatalf("Sec-WebSocket-Protocol = %q, want sip", got)
	}
}

// TestKamailioInviteChallenge checks that an INVITE from a local user
// without credentials is challenged with 407 and Proxy-Authenticate (RFC 3261
// section 22.3), not 401.
func TestKamailioInviteChallenge(t *testing.T) {
	k := StartKamailio(t, KamailioOptions{Users: map[string]string{"alice": "s3cret"}})
	c := dialRawSIP(t, k.UDPAddr())
	local := c.conn.LocalAddr().String()
	req := "INVITE sip:bob@" + k.Domain() + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + local + ";branch=z9hG4bK-selftest-invite;rport\r\n" +
		"Max-Forwards: 70\r\n" +
		"From: <sip:alice@" + k.Domain() + ">;tag=selftest\r\n" +
		"To: <sip:bob@" + k.Domain() + ">\r\n" +
		"Call-ID: selftest-invite@" + local + "\r\n" +
		"CSeq: 1 INVITE\r\n" +
		"Contact: <sip:alice@" + local + ">\r\n" +
		"Content-Length: 0\r\n\r\n"
	resp := c.roundTrip(req)
	if code := statusCode(resp); code != 407 {
		t.Fatalf("INVITE without credentials: got %d, want 407\n%s", code, resp)
	}
	pa := header(resp, "Proxy-Authenticate")
	if digestParam(pa, "realm") != k.Domain() {
		t.Fatalf("Proxy-Authenticate = %q, want realm %q", pa, k.Domain())
	}
	// RFC 3261 section 17.1.1.3: a non-2xx final response to INVITE is
	// acknowledged; Kamailio would otherwise retransmit it.
	ack := strings.Replace(strings.SplitN(req, "\r\n", 2)[1], "CSeq: 1 INVITE", "CSeq: 1 ACK", 1)
	ack = strings.Replace(ack, "To: <sip:bob@"+k.Domain()+">", "To: "+header(resp, "To"), 1)
	_, _ = c.conn.Write([]byte("ACK sip:bob@" + k.Domain() + " SIP/2.0\r\n" + ack))
}

func TestKamailioTLSListens(t *testing.T) {
	k := StartKamailio(t, KamailioOptions{TLS: true, Users: map[string]string{"alice": "a"}})
	pool := x509.NewCertPool()
	pem, err := os.ReadFile(k.CA().CAFile)
	if err != nil || !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("CA: %v", err)
	}
	for _, addr := range []string{k.TLSAddr(), strings.TrimSuffix(strings.TrimPrefix(k.WSSURL(), "wss://"), "/")} {
		deadline := time.Now().Add(5 * time.Second)
		for {
			conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
			if err == nil {
				conn.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("TLS handshake with %s (certificate checked against the test CA): %v\n%s", addr, err, k.Log())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}
