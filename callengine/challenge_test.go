package callengine

import (
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// challenger is a real SIP server (sipgo) that challenges every request
// with its realm and records whether credentials ever came back. As a
// registrar it accepts a REGISTER that answers its challenge.
type challenger struct {
	addr  string
	realm string
	code  int // 401 or 407

	mu    sync.Mutex
	creds []string // methods that carried Authorization / Proxy-Authorization
	seen  []string // methods received
}

func startChallenger(t *testing.T, realm string, code int) *challenger {
	t.Helper()
	return startChallengerAt(t, "127.0.0.1", realm, code)
}

// startChallengerAt starts one listening on ip.
func startChallengerAt(t *testing.T, ip, realm string, code int) *challenger {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("challenger"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	tl, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	ch := &challenger{addr: pc.LocalAddr().String(), realm: realm, code: code}
	handle := func(req *sip.Request, tx sip.ServerTransaction) {
		ch.mu.Lock()
		ch.seen = append(ch.seen, string(req.Method))
		authed := req.GetHeader("Authorization") != nil || req.GetHeader("Proxy-Authorization") != nil
		if authed {
			ch.creds = append(ch.creds, string(req.Method))
		}
		ch.mu.Unlock()
		if authed && req.Method == sip.REGISTER {
			res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
			res.AppendHeader(sip.NewHeader("Expires", "300"))
			_ = tx.Respond(res)
			return
		}
		res := sip.NewResponseFromRequest(req, ch.code, "Unauthorized", nil)
		name := "WWW-Authenticate"
		if ch.code == sip.StatusProxyAuthRequired {
			res.Reason, name = "Proxy Authentication Required", "Proxy-Authenticate"
		}
		res.AppendHeader(sip.NewHeader(name, `Digest realm="`+ch.realm+`", nonce="n0nce", algorithm=MD5, qop="auth"`))
		_ = tx.Respond(res)
	}
	srv.OnRegister(handle)
	srv.OnInvite(handle)
	srv.OnMessage(handle)
	srv.OnAck(func(*sip.Request, sip.ServerTransaction) {})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = srv.ServeUDP(pc) }()
	go func() { defer wg.Done(); _ = srv.ServeTCP(tl) }()
	t.Cleanup(func() {
		srv.Close()
		pc.Close()
		tl.Close()
		ua.Close()
		wg.Wait()
	})
	return ch
}

func (c *challenger) credentialsSent() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.creds...)
}

func (c *challenger) received(m sip.RequestMethod) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.seen {
		if s == string(m) {
			return true
		}
	}
	return false
}

// Credentials go only to the account's registrar, for the account's realm:
// a stranger's challenge (wrong realm, or the right realm from the wrong
// address) fails the request with ErrForeignChallenge, and the stranger
// never sees an Authorization header.
func TestDigestOnlyForTheRegistrarIntegration(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T) (stranger *challenger, err error)
		// wantCreds: the registrar (not a stranger) got credentials.
		wantCreds bool
	}{
		{name: "registrar with the account's realm is answered", wantCreds: true, run: func(t *testing.T) (*challenger, error) {
			reg := startChallenger(t, "parlo.test", sip.StatusUnauthorized)
			p := newTestPhone(t, testPhoneOpts{account: &Account{URI: "sip:alice@parlo.test", Password: "pa", Registrar: "sip:" + reg.addr}})
			return reg, p.Register(ctxT(t, 10*time.Second))
		}},
		{name: "configured Realm is answered", wantCreds: true, run: func(t *testing.T) (*challenger, error) {
			reg := startChallenger(t, "asterisk", sip.StatusUnauthorized)
			p := newTestPhone(t, testPhoneOpts{account: &Account{URI: "sip:alice@parlo.test", Password: "pa", Registrar: "sip:" + reg.addr, Realm: "asterisk"}})
			return reg, p.Register(ctxT(t, 10*time.Second))
		}},
		{name: "registrar with a foreign realm", run: func(t *testing.T) (*challenger, error) {
			reg := startChallenger(t, "evil.test", sip.StatusUnauthorized)
			p := newTestPhone(t, testPhoneOpts{account: &Account{URI: "sip:alice@parlo.test", Password: "pa", Registrar: "sip:" + reg.addr}})
			return reg, p.Register(ctxT(t, 10*time.Second))
		}},
		{name: "unregistered account: INVITE to a stranger challenging with our realm", run: func(t *testing.T) (*challenger, error) {
			s := startChallenger(t, "parlo.test", sip.StatusProxyAuthRequired)
			p := newTestPhone(t, testPhoneOpts{account: &Account{URI: "sip:alice@parlo.test", Password: "pa", Registrar: "sip:192.0.2.1:9"}})
			cs, err := p.Call(ctxT(t, 10*time.Second), "sip:bob@"+s.addr, CallOptions{})
			if err != nil {
				return s, err
			}
			ev := p.rec.wait(t, EventCallRejected, cs.SipCallID, 10*time.Second)
			if payloadOf[CallStatusPayload](ev).Status != sip.StatusProxyAuthRequired {
				t.Errorf("onCallRejected payload %v, want status 407", ev.Payload)
			}
			if e := payloadOf[CallStatusPayload](ev).Error; !strings.Contains(e, "not to the registrar") {
				t.Errorf("onCallRejected error %q should say why", e)
			}
			waitCalls(t, p.Phone, 0)
			return s, errors.New(payloadOf[CallStatusPayload](ev).Error)
		}},
		{name: "unregistered account: MESSAGE to a stranger", run: func(t *testing.T) (*challenger, error) {
			s := startChallenger(t, "parlo.test", sip.StatusUnauthorized)
			p := newTestPhone(t, testPhoneOpts{account: &Account{URI: "sip:alice@parlo.test", Password: "pa", Registrar: "sip:192.0.2.1:9"}})
			return s, p.SendMessage(ctxT(t, 10*time.Second), "", "sip:bob@"+s.addr, "text/plain", []byte("hi"))
		}},
		{name: "registered: the registrar relays a foreign realm's INVITE challenge", run: func(t *testing.T) (*challenger, error) {
			// The registrar answers REGISTER for parlo.test, then every
			// INVITE with a challenge for another realm (as a proxy
			// relaying a stranger's 401 would).
			reg := startChallenger(t, "parlo.test", sip.StatusUnauthorized)
			p := newTestPhone(t, testPhoneOpts{account: &Account{URI: "sip:alice@parlo.test", Password: "pa", Registrar: "sip:" + reg.addr}})
			if err := p.Register(ctxT(t, 10*time.Second)); err != nil {
				t.Fatal(err)
			}
			reg.mu.Lock()
			reg.realm, reg.creds = "evil.test", nil
			reg.mu.Unlock()
			cs, err := p.Call(ctxT(t, 10*time.Second), "bob", CallOptions{})
			if err != nil {
				return reg, err
			}
			ev := p.rec.wait(t, EventCallRejected, cs.SipCallID, 10*time.Second)
			waitCalls(t, p.Phone, 0)
			return reg, errors.New(payloadOf[CallStatusPayload](ev).Error)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := tc.run(t)
			creds := s.credentialsSent()
			if tc.wantCreds {
				if err != nil || len(creds) == 0 {
					t.Fatalf("the registrar was not answered: err %v, credentials on %v", err, creds)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), ErrForeignChallenge.Error()) {
				t.Fatalf("error %v, want ErrForeignChallenge", err)
			}
			if !s.received(sip.REGISTER) && !s.received(sip.INVITE) && !s.received(sip.MESSAGE) {
				t.Fatal("the challenger got no request at all: the test proves nothing")
			}
			if len(creds) > 0 {
				t.Fatalf("credentials were sent to the challenger on %v", creds)
			}
		})
	}
}
