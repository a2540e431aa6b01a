package callengine

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// fakeUAS is a real SIP UAS (sipgo) that records every INVITE it gets and
// answers 486, standing for whatever a transfer target would be.
type fakeUAS struct {
	addr string
	mu   sync.Mutex
	got  []*sip.Request
	in   chan *sip.Request
}

func startFakeUAS(t *testing.T) *fakeUAS {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("fake-uas"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// TCP beside UDP: Parlo's WebRTC offers are too big for UDP and go
	// over TCP (RFC 3261 §18.1.1).
	tl, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	u := &fakeUAS{addr: pc.LocalAddr().String(), in: make(chan *sip.Request, 16)}
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		u.mu.Lock()
		u.got = append(u.got, req)
		u.mu.Unlock()
		u.in <- req
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusBusyHere, "Busy Here", nil))
	})
	srv.OnAck(func(*sip.Request, sip.ServerTransaction) {})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		_ = srv.ServeUDP(pc)
	}()
	go func() {
		defer wg.Done()
		_ = srv.ServeTCP(tl)
	}()
	t.Cleanup(func() {
		srv.Close()
		pc.Close()
		tl.Close()
		ua.Close()
		wg.Wait()
	})
	return u
}

func (u *fakeUAS) invites() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.got)
}

// sendRefer sends a REFER with the given raw Refer-To (and Referred-By,
// when not empty) inside the call's dialog, as a hostile or buggy
// transferor would, and returns the final answer.
func sendRefer(t *testing.T, p *testPhone, id, referTo, referredBy string) *sip.Response {
	t.Helper()
	c, err := p.call(id)
	if err != nil {
		t.Fatal(err)
	}
	req := sip.NewRequest(sip.REFER, c.remoteTarget())
	req.AppendHeader(sip.NewHeader("Refer-To", referTo))
	if referredBy != "" {
		req.AppendHeader(sip.NewHeader("Referred-By", referredBy))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := c.dialog().Do(ctx, req)
	if err != nil {
		t.Fatalf("REFER: %v", err)
	}
	return res
}

// A REFER whose Refer-To percent-encodes CR/LF must never put a header of
// its choosing into the INVITE Parlo sends: the Replaces it carries is
// parsed and rebuilt (or the REFER refused), other URI headers dropped,
// and what reaches a real UAS is checked on its side of the wire.
func TestReferHeaderInjectionIntegration(t *testing.T) {
	uas := startFakeUAS(t)
	a := newTestPhone(t, testPhoneOpts{toneHz: 440})
	b := newTestPhone(t, testPhoneOpts{toneHz: 660})
	aID, bID := connect(t, a, b)
	target := "sip:uas@" + uas.addr

	cases := []struct {
		name       string
		referTo    string
		referredBy string
		wantStatus int  // the REFER's answer
		wantInvite bool // an INVITE reaches the UAS
		check      func(t *testing.T, inv *sip.Request)
	}{
		{
			name:       "CRLF in Replaces Call-ID",
			referTo:    "<" + target + "?Replaces=abc%0D%0AX-Injected%3A%20yes%3Bto-tag%3D1%3Bfrom-tag%3D2>",
			wantStatus: sip.StatusBadRequest,
		},
		{
			name:       "CRLF in Replaces tag",
			referTo:    "<" + target + "?Replaces=abc%3Bto-tag%3D1%0D%0AX-Injected%3A%20yes%3Bfrom-tag%3D2>",
			wantStatus: sip.StatusBadRequest,
		},
		{
			name:       "CRLF in another URI header, and in Referred-By's URI",
			referTo:    "<" + target + "?X-Injected=yes%0D%0AX-Evil%3A%201>",
			referredBy: "<sip:mallory@evil.test?X-Injected=%0D%0AX-Evil:%201>",
			wantStatus: sip.StatusAccepted, wantInvite: true,
			check: func(t *testing.T, inv *sip.Request) {
				if rb := inv.GetHeader("Referred-By"); rb == nil || rb.Value() != "<sip:mallory@evil.test>" {
					t.Errorf("Referred-By: %v", rb)
				}
			},
		},
		{
			name:       "escaped CRLF in the target's user part",
			referTo:    "<sip:uas%0D%0AX-Injected:%20yes@" + uas.addr + ">",
			wantStatus: sip.StatusAccepted, wantInvite: true,
		},
		{
			name:       "well-formed Replaces is rebuilt from its parts",
			referTo:    "<" + target + "?Replaces=abc%40host%3B%20from-tag%3D2%3Bto-tag%3D1>",
			wantStatus: sip.StatusAccepted, wantInvite: true,
			check: func(t *testing.T, inv *sip.Request) {
				if r := inv.GetHeader("Replaces"); r == nil || r.Value() != "abc@host;to-tag=1;from-tag=2" {
					t.Errorf("Replaces: %v", r)
				}
				// RFC 3892 §3: no Referred-By in the REFER, so the
				// REFER's sender (From) is named.
				if rb := inv.GetHeader("Referred-By"); rb == nil || !strings.Contains(rb.Value(), "sip:parlo@") {
					t.Errorf("Referred-By: %v", rb)
				}
			},
		},
	}
	finals := 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := uas.invites()
			if tc.wantStatus == sip.StatusAccepted {
				a.consentTo(t, aID, true)
			}
			res := sendRefer(t, b, bID, tc.referTo, tc.referredBy)
			if res.StatusCode != tc.wantStatus {
				t.Fatalf("REFER answered %d %s, want %d", res.StatusCode, res.Reason, tc.wantStatus)
			}
			if !tc.wantInvite {
				if n := uas.invites(); n != before {
					t.Fatalf("the UAS got %d INVITEs", n-before)
				}
				return
			}
			var inv *sip.Request
			select {
			case inv = <-uas.in:
			case <-time.After(10 * time.Second):
				t.Fatal("no INVITE reached the UAS")
			}
			raw := inv.String()
			for _, h := range []string{"X-Injected", "X-Evil"} {
				if inv.GetHeader(h) != nil || strings.Contains(strings.ToLower(raw), "\n"+strings.ToLower(h)+":") {
					t.Fatalf("%s injected into our INVITE:\n%s", h, raw)
				}
			}
			if tc.check != nil {
				tc.check(t, inv)
			}
			// The transfer fails (486) and is reported to B; A's call
			// with B goes on, and no call is left behind at A.
			finals++
			deadline := time.Now().Add(10 * time.Second)
			for countFinalProgress(b.rec, bID) < finals {
				if time.Now().After(deadline) {
					t.Fatalf("no final NOTIFY at B; B's events %v", b.rec.names(bID))
				}
				time.Sleep(20 * time.Millisecond)
			}
			waitCalls(t, a.Phone, 1)
		})
	}
	if s := a.Calls(); len(s) != 1 || s[0].SipCallID != aID || !s[0].IsEstablished() {
		t.Fatalf("A's calls after the REFERs: %v", s)
	}
}

// countFinalProgress counts onTransferProgress events with a final status.
func countFinalProgress(r *recorder, id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, ev := range r.events {
		if ev.Name == EventTransferProgress && ev.Session != nil && ev.Session.SipCallID == id {
			if payloadOf[TransferProgressPayload](ev).Status >= 200 {
				n++
			}
		}
	}
	return n
}

// waitCalls waits until p holds n calls.
func waitCalls(t *testing.T, p *Phone, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(p.Calls()) != n {
		if time.Now().After(deadline) {
			t.Fatalf("calls: %d, want %d: %v", len(p.Calls()), n, fmt.Sprint(p.Calls()))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
