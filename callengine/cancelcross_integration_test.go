package callengine

import (
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// crossingCallee is a callee seen through a proxy at the moment the caller
// hangs up: it rings, and the caller's CANCEL reaches it after its 200 OK
// went out, so the proxy (Kamailio's default configuration drops a CANCEL
// whose transaction has ended) never answers that CANCEL. It speaks SIP
// over TCP with sipgo's parser and answers each request as scripted.
type crossingCallee struct {
	ln  net.Listener
	got chan sip.RequestMethod
	wg  sync.WaitGroup
}

func startCrossingCallee(t *testing.T) *crossingCallee {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cc := &crossingCallee{ln: ln, got: make(chan sip.RequestMethod, 32)}
	var conns sync.Map
	cc.wg.Add(1)
	go func() {
		defer cc.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Store(conn, true)
			cc.wg.Add(1)
			go func() { defer cc.wg.Done(); cc.serve(conn) }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		conns.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
		cc.wg.Wait()
	})
	return cc
}

func (cc *crossingCallee) uri() string {
	return "sip:callee@" + cc.ln.Addr().String() + ";transport=tcp"
}

func (cc *crossingCallee) serve(conn net.Conn) {
	parser := sip.NewParser().NewSIPStream()
	var invite *sip.Request
	respond := func(req *sip.Request, code int, reason string) {
		res := sip.NewResponseFromRequest(req, code, reason, nil)
		if code > 100 {
			res.To().Params.Add("tag", "callee")
		}
		if code == sip.StatusOK && req.IsInvite() {
			params := sip.NewParams()
			params.Add("transport", "tcp")
			res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{User: "callee", Host: "127.0.0.1", Port: cc.ln.Addr().(*net.TCPAddr).Port, UriParams: params}})
		}
		_, _ = conn.Write([]byte(res.String()))
	}
	buf := make([]byte, 64<<10)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return
		}
		err = parser.ParseSIPStream(buf[:n], func(m sip.Message) {
			req, ok := m.(*sip.Request)
			if !ok {
				return
			}
			cc.got <- req.Method
			switch req.Method {
			case sip.INVITE:
				invite = req
				respond(req, sip.StatusTrying, "Trying")
				respond(req, sip.StatusRinging, "Ringing")
			case sip.CANCEL:
				if invite != nil { // answered just before; the CANCEL is dropped
					respond(invite, sip.StatusOK, "OK")
				}
			case sip.BYE:
				respond(req, sip.StatusOK, "OK")
			}
		})
		if err != nil && !errors.Is(err, sip.ErrParseSipPartial) {
			return
		}
	}
}

// waitFor waits for the callee to receive a request of method m.
func (cc *crossingCallee) waitFor(t *testing.T, m sip.RequestMethod, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case got := <-cc.got:
			if got == m {
				return
			}
		case <-deadline:
			t.Fatalf("the callee received no %s", m)
		}
	}
}

// The user hangs up a ringing call at the moment the callee answers: the
// 200 OK crosses the CANCEL, and the proxy drops the CANCEL without an
// answer. RFC 3261 §15: the caller ACKs the 2xx and sends BYE at once, and
// the hang-up returns then, not after the CANCEL transaction times out
// (32 s) with the callee left alone on an answered call.
func TestHangupWhileAnsweredIntegration(t *testing.T) {
	callee := startCrossingCallee(t)
	a := newTestPhone(t, testPhoneOpts{})
	ctx := ctxT(t, 10*time.Second)
	s, err := a.Call(ctx, callee.uri(), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a.rec.wait(t, EventProgress, s.SipCallID, 5*time.Second)
	if err := a.Hangup(ctx, s.SipCallID); err != nil {
		t.Fatalf("Hangup: %v", err)
	}
	callee.waitFor(t, sip.CANCEL, time.Second) // already in: Hangup returned after the 2xx
	callee.waitFor(t, sip.ACK, 5*time.Second)
	callee.waitFor(t, sip.BYE, 5*time.Second)
	a.rec.wait(t, EventCallEnded, s.SipCallID, 5*time.Second)
	for _, name := range []string{EventCallAccepted, EventCallRejected, EventCallError} {
		if n := a.rec.count(name, s.SipCallID); n != 0 {
			t.Errorf("%s sent %d times for a call the user hung up before answer", name, n)
		}
	}
}
