package testpeers

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// wsSIP is a minimal SIP over WebSocket client (RFC 7118) for the
// self-tests: text frames, client-to-server masking (RFC 6455 section 5.3).
type wsSIP struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dialWSSIP(t *testing.T, k *Kamailio) *wsSIP {
	t.Helper()
	addr := strings.TrimSuffix(strings.TrimPrefix(k.WSURL(), "ws://"), "/")
	c, err := net.DialTimeout("tcp4", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	_, err = fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: sip\r\n\r\n", addr)
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	resp, err := http.ReadResponse(r, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("websocket handshake: %v %v\n%s", resp, err, k.Log())
	}
	return &wsSIP{t: t, conn: c, r: r}
}

func (w *wsSIP) send(msg string) {
	w.t.Helper()
	p := []byte(msg)
	hdr := []byte{0x81} // FIN + text frame
	switch {
	case len(p) < 126:
		hdr = append(hdr, 0x80|byte(len(p)))
	case len(p) < 1<<16:
		hdr = append(hdr, 0x80|126, byte(len(p)>>8), byte(len(p)))
	default:
		w.t.Fatalf("message too long for this test client")
	}
	var mask [4]byte
	_, _ = rand.Read(mask[:])
	hdr = append(hdr, mask[:]...)
	masked := make([]byte, len(p))
	for i := range p {
		masked[i] = p[i] ^ mask[i%4]
	}
	if _, err := w.conn.Write(append(hdr, masked...)); err != nil {
		w.t.Fatalf("ws write: %v", err)
	}
}

// recv returns the next text frame's payload.
func (w *wsSIP) recv() string {
	w.t.Helper()
	for {
		var h [2]byte
		if _, err := io.ReadFull(w.r, h[:]); err != nil {
			w.t.Fatalf("ws read: %v", err)
		}
		n := int(h[1] & 0x7f)
		switch n {
		case 126:
			var b [2]byte
			_, _ = io.ReadFull(w.r, b[:])
			n = int(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			_, _ = io.ReadFull(w.r, b[:])
			n = int(binary.BigEndian.Uint64(b[:]))
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(w.r, p); err != nil {
			w.t.Fatalf("ws read: %v", err)
		}
		if h[0]&0x0f == 0x1 {
			return string(p)
		}
	}
}

func (w *wsSIP) register(user, domain string, cseq int, auth string) string {
	w.t.Helper()
	req := "REGISTER sip:" + domain + " SIP/2.0\r\n" +
		"Via: SIP/2.0/WS selftest.invalid;branch=z9hG4bK-ws-" + fmt.Sprint(cseq) + "\r\n" +
		"Max-Forwards: 70\r\n" +
		"From: <sip:" + user + "@" + domain + ">;tag=wsselftest\r\n" +
		"To: <sip:" + user + "@" + domain + ">\r\n" +
		"Call-ID: ws-register-selftest\r\n" +
		"CSeq: " + fmt.Sprint(cseq) + " REGISTER\r\n" +
		"Contact: <sip:" + user + "@selftest.invalid;transport=ws>\r\n" +
		"Expires: 60\r\n"
	if auth != "" {
		req += "Authorization: " + auth + "\r\n"
	}
	w.send(req + "Content-Length: 0\r\n\r\n")
	return w.recv()
}

// TestKamailioWebSocketRegisterAndRouteIntegration registers a WebSocket
// client, whose Contact host is unreachable by design (RFC 7118 section 5),
// and checks that a call for it from a UDP phone arrives over that very
// WebSocket connection: the force_rport / fix_nated_register / lookup path of
// the WS REGISTER route in the Kamailio config.
func TestKamailioWebSocketRegisterAndRouteIntegration(t *testing.T) {
	users := map[string]string{"alice": "alice-pw", "web": "web-pw"}
	k := StartKamailio(t, KamailioOptions{Users: users})
	ws := dialWSSIP(t, k)

	resp := ws.register("web", k.Domain(), 1, "")
	if statusCode(resp) != 401 {
		t.Fatalf("WS REGISTER: %s", resp)
	}
	auth := digestAuthorization(header(resp, "WWW-Authenticate"), "web", users["web"], "REGISTER", "sip:"+k.Domain())
	if resp = ws.register("web", k.Domain(), 2, auth); statusCode(resp) != 200 {
		t.Fatalf("authenticated WS REGISTER: %s\n%s", resp, k.Log())
	}

	alice := StartBaresip(t, BaresipOptions{User: "alice", Password: users["alice"], Registrar: k.UDPAddr(), Domain: k.Domain()})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := alice.Command(ctx, "dial", "sip:web@"+k.Domain()); err != nil {
		t.Fatal(err)
	}
	invite := ws.recv()
	if !strings.HasPrefix(invite, "INVITE sip:web@selftest.invalid") {
		t.Fatalf("want the INVITE for web over its WebSocket, got:\n%s", invite)
	}
	if header(invite, "Record-Route") == "" {
		t.Errorf("INVITE through Kamailio has no Record-Route:\n%s", invite)
	}
	// Decline: alice must see the call end with our status.
	var reply strings.Builder
	reply.WriteString("SIP/2.0 486 Busy Here\r\n")
	for _, line := range strings.Split(invite, "\r\n") {
		name, _, _ := strings.Cut(line, ":")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "via", "v", "from", "f", "call-id", "i", "cseq":
			reply.WriteString(line + "\r\n")
		case "to", "t":
			reply.WriteString(line + ";tag=wsdecline\r\n")
		}
	}
	reply.WriteString("Content-Length: 0\r\n\r\n")
	ws.send(reply.String())
	ev, err := alice.WaitEvent(ctx, "CALL_CLOSED")
	if err != nil {
		t.Fatalf("alice: %v\n%s\n%s", err, alice.Log(), k.Log())
	}
	if !strings.Contains(ev.Param, "486") {
		t.Errorf("alice's call closed with %q, want 486", ev.Param)
	}
}
