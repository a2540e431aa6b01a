package callengine_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/parlo-voip/parlo/callengine"
	"github.com/parlo-voip/parlo/callengine/audio"
	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/callengine/media/classic"
	"github.com/parlo-voip/parlo/internal/testpeers"
)

// lateOfferUAC is a real SIP user agent (sipgo, on loopback) that sends
// offerless INVITEs, with real media: a classic media session that answers
// the offer Parlo puts in its 200 OK, sends a 440 Hz tone and listens.
type lateOfferUAC struct {
	ua      *sipgo.UserAgent
	dua     *sipgo.DialogUA
	contact sip.Uri
	media   media.Session
	ear     *audio.ToneDetector

	mu   sync.Mutex
	byes []*sip.Request
}

func newLateOfferUAC(t *testing.T) *lateOfferUAC {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("late-offer-uac"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	u := &lateOfferUAC{ua: ua, ear: audio.NewToneDetector(3 * time.Second)}
	port := testpeers.FreeUDPPort(t)
	u.contact = sip.Uri{Scheme: "sip", User: "pbx", Host: "127.0.0.1", Port: port}
	u.dua = &sipgo.DialogUA{Client: cli, ContactHDR: sip.ContactHeader{Address: u.contact}}
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		u.mu.Lock()
		u.byes = append(u.byes, req)
		u.mu.Unlock()
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
	})
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	go func() {
		_ = srv.ListenAndServe(context.WithValue(ctx, sipgo.ListenReadyCtxKey, sipgo.ListenReadyCtxValue(ready)), "udp", fmt.Sprintf("127.0.0.1:%d", port)) //nolint:staticcheck // SA1029: the key is sipgo's own API
	}()
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		t.Fatal("UAC did not listen")
	}
	ms, err := classic.New(media.Options{
		AudioIn: audio.NewTone(440, 0.3), AudioOut: u.ear,
		IncludeLoopback: true, LoopbackOnly: true, SRTP: media.SRTPRequired,
	}, media.Events{})
	if err != nil {
		t.Fatal(err)
	}
	u.media = ms
	t.Cleanup(func() { ms.Close(); cancel(); ua.Close() })
	return u
}

// invite sends an INVITE without a body to target and waits for the 2xx.
func (u *lateOfferUAC) invite(ctx context.Context, t *testing.T, target string) *sipgo.DialogClientSession {
	t.Helper()
	var to sip.Uri
	if err := sip.ParseUri(target, &to); err != nil {
		t.Fatal(err)
	}
	req := sip.NewRequest(sip.INVITE, to)
	req.SetTransport("UDP")
	dcs, err := u.dua.WriteInvite(ctx, req)
	if err != nil {
		t.Fatalf("offerless INVITE: %v", err)
	}
	if err := dcs.WaitAnswer(ctx, sipgo.AnswerOptions{}); err != nil {
		t.Fatalf("offerless INVITE answered: %v", err)
	}
	t.Cleanup(func() { dcs.Close() })
	return dcs
}

// ack sends the ACK of the transaction numbered cseq with body (none when
// nil).
func (u *lateOfferUAC) ack(ctx context.Context, t *testing.T, dcs *sipgo.DialogClientSession, cseq uint32, body []byte) {
	t.Helper()
	target := dcs.InviteRequest.Recipient
	if ct := dcs.InviteResponse.Contact(); ct != nil {
		target = ct.Address
	}
	ack := sip.NewRequest(sip.ACK, target)
	ack.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: sip.ACK})
	if body != nil {
		ack.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	ack.SetBody(body)
	if err := dcs.WriteAck(ctx, ack); err != nil {
		t.Fatalf("ACK: %v", err)
	}
}

func (u *lateOfferUAC) waitBye(t *testing.T, timeout time.Duration) *sip.Request {
	t.Helper()
	for end := time.Now().Add(timeout); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		u.mu.Lock()
		if len(u.byes) > 0 {
			b := u.byes[0]
			u.mu.Unlock()
			return b
		}
		u.mu.Unlock()
	}
	t.Fatalf("no BYE from Parlo within %s", timeout)
	return nil
}

func (u *lateOfferUAC) waitTone(t *testing.T, hz float64, timeout time.Duration) {
	t.Helper()
	var got, rms float64
	for end := time.Now().Add(timeout); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if got, rms = u.ear.Frequency(500 * time.Millisecond); rms > 0.02 && math.Abs(got-hz) <= 10 {
			return
		}
	}
	t.Fatalf("UAC: want %.0f Hz, heard %.1f Hz (rms %.3f)", hz, got, rms)
}

// An offerless INVITE (RFC 3261 §13.2.1) is answered with Parlo's offer in
// the 200 OK, and the ACK's answer sets up media: tones both ways. Then an
// offerless re-INVITE (a PBX's session refresh) gets a new offer in its
// 200, answered in its ACK, and the call goes on with audio both ways.
func TestLateOfferIntegration(t *testing.T) {
	p := newEventPhone(t, 660, callengine.Options{Listen: []string{"udp:127.0.0.1:0"}, AutoAnswer: true})
	u := newLateOfferUAC(t)
	ctx := ctxFor(t, 30*time.Second)

	start := time.Now()
	dcs := u.invite(ctx, t, p.uri())
	offer := dcs.InviteResponse.Body()
	if !strings.Contains(string(offer), "m=audio") {
		t.Fatalf("200 OK carries no offer:\n%s", offer)
	}
	ans, err := u.media.CreateAnswer(ctx, offer, media.SendRecv)
	if err != nil {
		t.Fatalf("answering Parlo's offer: %v\n%s", err, offer)
	}
	u.ack(ctx, t, dcs, dcs.InviteRequest.CSeq().SeqNo, ans)
	id := p.wait(t, callengine.EventCallAccepted, 5*time.Second)
	t.Logf("offerless INVITE to onCallAccepted: %v", time.Since(start).Round(time.Millisecond))
	p.waitTone(t, 440, 5*time.Second)
	u.waitTone(t, 660, 5*time.Second)

	// Offerless re-INVITE.
	target := dcs.InviteResponse.Contact().Address
	re := sip.NewRequest(sip.INVITE, target)
	res, err := dcs.Do(ctx, re)
	if err != nil || res.StatusCode != sip.StatusOK {
		t.Fatalf("offerless re-INVITE: %v %v", res, err)
	}
	ans2, err := u.media.CreateAnswer(ctx, res.Body(), media.SendRecv)
	if err != nil {
		t.Fatalf("answering Parlo's re-offer: %v\n%s", err, res.Body())
	}
	u.ack(ctx, t, dcs, re.CSeq().SeqNo, ans2)
	p.waitFor(t, callengine.EventReinvite, id, 5*time.Second)
	// The tones are checked on audio played out after the re-INVITE: one
	// second (50 frames) more on both ears first.
	for _, ear := range []*audio.ToneDetector{u.ear, p.ear(t)} {
		f0 := ear.Frames()
		for end := time.Now().Add(5 * time.Second); ear.Frames() < f0+50; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("no audio played out after the re-INVITE (%d frames)", ear.Frames()-f0)
			}
		}
	}
	p.waitTone(t, 440, 5*time.Second)
	u.waitTone(t, 660, 5*time.Second)
	if n := p.count(callengine.EventCallError, id); n != 0 {
		t.Fatalf("onCallError: %v", p.names(id))
	}
	if err := dcs.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	p.waitFor(t, callengine.EventCallEnded, id, 5*time.Second)
}

// An ACK without an answer to Parlo's offer, or with one Parlo cannot use,
// ends the call: BYE with a Reason (RFC 3326), onCallError, onCallEnded.
func TestLateOfferBadACKIntegration(t *testing.T) {
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"no-body", nil},
		{"garbage", []byte("v=0\r\nthis is not SDP\r\n")},
		{"audio-refused", []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 0 RTP/SAVP 0\r\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newEventPhone(t, 660, callengine.Options{Listen: []string{"udp:127.0.0.1:0"}, AutoAnswer: true})
			u := newLateOfferUAC(t)
			ctx := ctxFor(t, 20*time.Second)
			dcs := u.invite(ctx, t, p.uri())
			u.ack(ctx, t, dcs, dcs.InviteRequest.CSeq().SeqNo, tc.body)
			bye := u.waitBye(t, 5*time.Second)
			if r := bye.GetHeader("Reason"); r == nil || !strings.Contains(r.Value(), "cause=488") {
				t.Fatalf("BYE without a 488 Reason:\n%s", bye)
			}
			id := p.wait(t, callengine.EventCallEnded, 5*time.Second)
			if p.count(callengine.EventCallError, id) != 1 {
				t.Fatalf("events %v, want one onCallError", p.names(id))
			}
			if p.count(callengine.EventCallAccepted, id) != 0 {
				t.Fatalf("events %v: a call without media was accepted", p.names(id))
			}
		})
	}
}
