package callengine

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// A REFER is obeyed only with consent: the table covers every answer the
// transferee gives, on the wire (the REFER's status), in events and in
// what reaches the target (a real UAS). After each, A's call with B is
// still up and nothing else is left.
func TestReferConsentIntegration(t *testing.T) {
	uas := startFakeUAS(t)
	target := "<sip:uas@" + uas.addr + ">"
	acct := &Account{URI: "sip:alice@parlo.test", Password: "x", Registrar: "sip:192.0.2.1:9"}
	cases := []struct {
		name       string
		opts       testPhoneOpts
		referTo    string
		consent    int // 1 accept, -1 decline, 0 nobody answers
		wantStatus int
		wantInvite bool
		wantAsked  bool
	}{
		{name: "ask, accepted", referTo: target, consent: 1, wantStatus: sip.StatusAccepted, wantInvite: true, wantAsked: true},
		{name: "ask, declined", referTo: target, consent: -1, wantStatus: 603, wantAsked: true},
		{name: "ask, nobody answers", opts: testPhoneOpts{xferWait: time.Second}, referTo: target, wantStatus: 603, wantAsked: true},
		{name: "refuse policy", opts: testPhoneOpts{xferPolicy: TransferRefuse}, referTo: target, wantStatus: sip.StatusForbidden},
		{name: "target outside the account's domain", opts: testPhoneOpts{account: acct}, referTo: target, wantStatus: sip.StatusForbidden},
		{name: "accept-same-domain in direct mode still asks", opts: testPhoneOpts{xferPolicy: TransferAcceptSameDomain}, referTo: target, consent: -1, wantStatus: 603, wantAsked: true},
		{name: "accept-same-domain, target in the domain", opts: testPhoneOpts{account: acct, xferPolicy: TransferAcceptSameDomain}, referTo: "<sip:carol@parlo.test>", wantStatus: sip.StatusAccepted},
		{name: "not a SIP URI", referTo: "<tel:+15551234>", wantStatus: sip.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.toneHz = 440
			a := newTestPhone(t, tc.opts)
			b := newTestPhone(t, testPhoneOpts{toneHz: 660})
			aID, bID := connect(t, a, b)
			before := uas.invites()
			if tc.consent != 0 {
				a.consentTo(t, aID, tc.consent > 0)
			}
			res := sendRefer(t, b, bID, tc.referTo, "")
			if res.StatusCode != tc.wantStatus {
				t.Fatalf("REFER answered %d %s, want %d", res.StatusCode, res.Reason, tc.wantStatus)
			}
			if asked := a.rec.count(EventTransferRequested, aID) > 0 && payloadOf[TransferRequestedPayload](a.rec.wait(t, EventTransferRequested, aID, 0)).Pending; asked != tc.wantAsked {
				t.Fatalf("user asked: %v, want %v (events %v)", asked, tc.wantAsked, a.rec.names(aID))
			}
			if tc.wantInvite {
				select {
				case <-uas.in:
				case <-time.After(10 * time.Second):
					t.Fatal("no INVITE reached the target")
				}
				waitFinalNotify(t, b, bID)
			} else if tc.wantStatus != sip.StatusAccepted && uas.invites() != before {
				t.Fatalf("the target got an INVITE without consent")
			}
			if tc.wantStatus == sip.StatusAccepted && !tc.wantInvite {
				waitFinalNotify(t, b, bID) // parlo.test does not resolve: 503
			}
			waitCalls(t, a.Phone, 1)
			if s := a.Calls(); s[0].SipCallID != aID || !s[0].IsEstablished() {
				t.Fatalf("A's call with B after the REFER: %+v", s[0])
			}
		})
	}
}

func waitFinalNotify(t *testing.T, b *testPhone, bID string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for countFinalProgress(b.rec, bID) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no final NOTIFY at B: %v", b.rec.names(bID))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A second REFER while one waits for the user gets 491 (one pending
// request per call); the first is still answered as the user decides.
func TestReferOnePendingIntegration(t *testing.T) {
	a := newTestPhone(t, testPhoneOpts{toneHz: 440})
	b := newTestPhone(t, testPhoneOpts{toneHz: 660})
	aID, bID := connect(t, a, b)
	var wg sync.WaitGroup
	var first *sip.Response
	wg.Add(1)
	go func() {
		defer wg.Done()
		first = sendReferNoFatal(b, bID, "<sip:carol@127.0.0.1:9>")
	}()
	a.rec.wait(t, EventTransferRequested, aID, 5*time.Second)
	second := sendRefer(t, b, bID, "<sip:dave@127.0.0.1:9>", "")
	if second.StatusCode != sip.StatusRequestPending {
		t.Fatalf("second REFER answered %d, want 491", second.StatusCode)
	}
	if err := a.DeclineTransfer(ctxT(t, 5*time.Second), aID); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if first == nil || first.StatusCode != 603 {
		t.Fatalf("first REFER answered %v, want 603", first)
	}
	if err := a.AcceptTransfer(ctxT(t, time.Second), aID); err == nil {
		t.Fatal("AcceptTransfer with nothing pending succeeded")
	}
	// Declined requests free the call for the next one.
	a.consentTo(t, aID, false)
	if res := sendRefer(t, b, bID, "<sip:carol@127.0.0.1:9>", ""); res.StatusCode != 603 {
		t.Fatalf("third REFER answered %d, want 603", res.StatusCode)
	}
}

func sendReferNoFatal(p *testPhone, id, referTo string) *sip.Response {
	c, err := p.call(id)
	if err != nil {
		return nil
	}
	req := sip.NewRequest(sip.REFER, c.remoteTarget())
	req.AppendHeader(sip.NewHeader("Refer-To", referTo))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := c.dialog().Do(ctx, req)
	if err != nil {
		return nil
	}
	return res
}
