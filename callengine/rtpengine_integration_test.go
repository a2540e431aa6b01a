package callengine_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine"
	"github.com/parlo-voip/parlo/internal/testpeers"
)

// pbx is Kamailio with rtpengine anchoring the media, the usual way a
// Kamailio PBX bridges WebRTC (WebSocket) clients and classic phones.
type pbx struct {
	k   *testpeers.Kamailio
	rtp *testpeers.RTPEngine
}

var pbxUsers = map[string]string{"alice": "pa", "bob": "pb", "carol": "pc"}

func startPBX(t *testing.T) *pbx {
	t.Helper()
	testpeers.Require(t, "kamailio")
	rtp := testpeers.StartRTPEngine(t, testpeers.RTPEngineOptions{})
	k := testpeers.StartKamailio(t, testpeers.KamailioOptions{Users: pbxUsers, RTPEngine: rtp.NGAddr()})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- rtpengine log ---\n%s", rtp.Log())
		}
	})
	return &pbx{k: k, rtp: rtp}
}

// phone is a registered Parlo on default settings; ws picks the WebSocket
// transport (the WebRTC side of the PBX), else UDP.
func (x *pbx) phone(t *testing.T, user string, ws bool, hz float64, auto bool) *classicPhone {
	t.Helper()
	reg := "sip:" + x.k.UDPAddr()
	if ws {
		reg = x.k.WSURL()
	}
	p := newEventPhone(t, hz, callengine.Options{
		Listen:     []string{"udp:127.0.0.1:0"},
		AutoAnswer: auto,
		Account:    &callengine.Account{URI: "sip:" + user + "@" + x.k.Domain(), Password: pbxUsers[user], Registrar: reg},
	})
	if err := p.Register(ctxFor(t, 10*time.Second)); err != nil {
		t.Fatalf("register %s: %v\n%s", user, err, x.k.Log())
	}
	return p
}

// relayed fails unless rtpengine relayed media from both legs of the call
// (its ng query counts RTP packets per SIP tag): the media went through the
// PBX, not around it.
func (x *pbx) relayed(t *testing.T, callID string) {
	t.Helper()
	x.relayedSince(t, callID, nil)
}

// relayedSince is relayed counting only the packets after the counts in
// base (a legs result): media flows through the relay again.
func (x *pbx) relayedSince(t *testing.T, callID string, base map[string]int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		legs := x.legs(t, callID)
		enough := len(legs) == 2
		for tag, n := range legs {
			enough = enough && n-base[tag] >= 50
		}
		if enough {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("rtpengine relayed too little: RTP packets per leg %v (before: %v), want 2 legs with ≥ 50 more each", legs, base)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// legs is rtpengine's count of RTP packets per leg (SIP tag) of a call.
func (x *pbx) legs(t *testing.T, callID string) map[string]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	legs, err := x.rtp.RTPLegs(ctx, callID)
	if err != nil {
		t.Fatalf("rtpengine query %s: %v\n%s", callID, err, x.k.Log())
	}
	return legs
}

// rtpengineParlo: Parlo on UDP and Parlo on WebSocket, both on default
// settings, through Kamailio + rtpengine; callerWS picks who dials. When the
// WebSocket side dials, rtpengine turns its WebRTC offer into SDES RTP/SAVP
// for the UDP side and the answer back.
func rtpengineParlo(t *testing.T, x *pbx, callerWS bool) (time.Duration, string) {
	t.Helper()
	a := x.phone(t, "alice", callerWS, 660, false)
	b := x.phone(t, "bob", !callerWS, 440, true)
	ctx := ctxFor(t, 30*time.Second)
	start := time.Now()
	s, err := a.Call(ctx, "bob", callengine.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a.waitFor(t, callengine.EventCallAccepted, s.SipCallID, 15*time.Second)
	setup := time.Since(start)
	a.waitTone(t, 440, 10*time.Second)
	b.waitTone(t, 660, 10*time.Second)
	x.relayed(t, s.SipCallID)
	m := mediaOf(a, s.SipCallID) + " ↔ " + mediaOf(b, s.SipCallID) // caller ↔ callee
	if err := a.Hangup(ctx, s.SipCallID); err != nil {
		t.Fatal(err)
	}
	return setup, m
}

// rtpengineBaresip: Parlo (UDP account) and baresip (a classic phone with
// SDES, registered over UDP) through Kamailio + rtpengine.
func rtpengineBaresip(t *testing.T, x *pbx, parloDials bool) (time.Duration, string) {
	t.Helper()
	bs := testpeers.StartBaresip(t, testpeers.BaresipOptions{
		User: "carol", Registrar: x.k.UDPAddr(), Domain: x.k.Domain(), Password: pbxUsers["carol"],
		MediaEnc: "srtp-mand", ToneHz: 440, AutoAnswer: parloDials,
	})
	ctx := ctxFor(t, 30*time.Second)
	if err := bs.WaitRegistered(ctx); err != nil {
		t.Fatalf("baresip register: %v\n%s", err, bs.Log())
	}
	p := x.phone(t, "alice", false, 660, !parloDials)
	var (
		setup time.Duration
		id    string
	)
	if parloDials {
		start := time.Now()
		s, err := p.Call(ctx, "carol", callengine.CallOptions{})
		if err != nil {
			t.Fatal(err)
		}
		id = s.SipCallID
		p.waitFor(t, callengine.EventCallAccepted, id, 15*time.Second)
		setup = time.Since(start)
	} else {
		var err error
		setup, err = bs.DialAndWaitEstablished(ctx, "sip:alice@"+x.k.Domain())
		if err != nil {
			t.Fatalf("baresip dial: %v\n%s\n%s", err, bs.Log(), x.k.Log())
		}
		id = p.wait(t, callengine.EventCallAccepted, 5*time.Second)
	}
	p.waitTone(t, 440, 10*time.Second)
	sendFor(t, p, id, 100)
	x.relayed(t, id)
	m := mediaOf(p, id)
	if err := p.Hangup(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := bs.WaitEvent(ctx, "CALL_CLOSED"); err != nil {
		t.Fatal(err)
	}
	if hz := baresipHeard(t, bs); math.Abs(hz-660) > 10 {
		t.Fatalf("baresip heard %.1f Hz, want 660", hz)
	}
	return setup, m
}

// holdAndResume holds call id from holder and resumes it, through the PBX:
// rtpengine rewrites each re-INVITE (RFC 3264 §8.4: sendonly, then
// sendrecv) for the other leg's profile. On hold both Parlos hear nothing
// (the held party answers recvonly); resumed, the tones come back both ways
// and rtpengine relays both legs again.
func (x *pbx) holdAndResume(t *testing.T, holder, other *classicPhone, id string, holderHears, otherHears float64) {
	t.Helper()
	ctx := ctxFor(t, 30*time.Second)
	if err := holder.Hold(ctx, id); err != nil {
		t.Fatalf("Hold: %v", err)
	}
	holder.waitFor(t, callengine.EventCallHeld, id, 5*time.Second)
	holder.waitSilence(t, 5*time.Second)
	other.waitSilence(t, 5*time.Second)
	base := x.legs(t, id)
	if err := holder.Resume(ctx, id); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	holder.waitFor(t, callengine.EventCallResumed, id, 5*time.Second)
	holder.waitTone(t, holderHears, 10*time.Second)
	other.waitTone(t, otherHears, 10*time.Second)
	x.relayedSince(t, id, base)
	for _, p := range []*classicPhone{holder, other} {
		if p.count(callengine.EventCallError, id) != 0 {
			t.Fatalf("onCallError during hold/resume: %v", p.names(id))
		}
	}
}

// rtpengineHoldParlo: Parlo on UDP and Parlo on WebSocket through Kamailio
// + rtpengine; the side that dials (holderWS picks it) holds and resumes.
// Every re-INVITE crosses rtpengine's bridge between the two profiles.
func rtpengineHoldParlo(t *testing.T, x *pbx, holderWS bool) (time.Duration, string) {
	t.Helper()
	a := x.phone(t, "alice", holderWS, 660, false)
	b := x.phone(t, "bob", !holderWS, 440, true)
	ctx := ctxFor(t, 30*time.Second)
	start := time.Now()
	s, err := a.Call(ctx, "bob", callengine.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	id := s.SipCallID
	a.waitFor(t, callengine.EventCallAccepted, id, 15*time.Second)
	setup := time.Since(start)
	a.waitTone(t, 440, 10*time.Second)
	b.waitTone(t, 660, 10*time.Second)
	x.relayed(t, id)
	x.holdAndResume(t, a, b, id, 440, 660)
	m := mediaOf(a, id) + " ↔ " + mediaOf(b, id)
	if err := a.Hangup(ctx, id); err != nil {
		t.Fatal(err)
	}
	b.waitFor(t, callengine.EventCallEnded, id, 5*time.Second)
	return setup, m
}

// rtpengineLateOffer: Linphone 5.1 sends an offerless INVITE (RFC 3261
// §13.2.1) through Kamailio + rtpengine to Parlo on a UDP account. Parlo's
// offer goes out in its 200 OK and Linphone's answer comes back in the ACK,
// each rewritten by rtpengine; tones both ways through the relay.
func rtpengineLateOffer(t *testing.T, x *pbx) (time.Duration, string) {
	t.Helper()
	lin := testpeers.StartLinphone(t, testpeers.LinphoneOptions{LateOffer: true, TCP: true, ToneHz: 440})
	p := x.phone(t, "alice", false, 660, true)
	ctx := ctxFor(t, 30*time.Second)
	setup, linID, err := lin.Dial(ctx, "sip:alice@"+x.k.UDPAddr())
	if err != nil {
		t.Fatalf("linphone dial: %v\n%s\n%s", err, lin.SIPTrace(), x.k.Log())
	}
	id := p.wait(t, callengine.EventCallAccepted, 5*time.Second)
	p.waitTone(t, 440, 10*time.Second)
	sendFor(t, p, id, 100)
	x.relayed(t, id)
	m := mediaOf(p, id)
	if err := p.Hangup(ctx, id); err != nil {
		t.Fatal(err)
	}
	ectx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := lin.WaitEnded(ectx, linID); err != nil {
		t.Fatalf("linphone did not end the call: %v", err)
	}
	// Linphone's log is complete once the call ended.
	if inviteSDP, ackSDP := lateOfferTrace(lin.SIPTrace()); inviteSDP || !ackSDP {
		t.Fatalf("not a late offer on Linphone's side: INVITE with SDP %v, ACK with SDP %v\n%s", inviteSDP, ackSDP, lin.SIPTrace())
	}
	if hz := linphoneHeard(t, lin); math.Abs(hz-660) > 10 {
		t.Fatalf("linphone heard %.1f Hz, want 660", hz)
	}
	return setup, m
}

// lateOfferTrace reads a SIP trace (Linphone's) and reports whether its
// first INVITE carried an SDP body and whether an ACK did.
func lateOfferTrace(trace string) (inviteSDP, ackSDP bool) {
	cur, invites := "", 0
	for _, line := range strings.Split(trace, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "INVITE "):
			invites++
			cur = "INVITE"
			if invites > 1 {
				cur = "" // a retry or re-INVITE: only the first counts
			}
		case strings.HasPrefix(line, "ACK "):
			cur = "ACK"
		case strings.HasPrefix(line, "SIP/2.0 "), strings.HasSuffix(line, " SIP/2.0"): // another message
			cur = ""
		case strings.HasPrefix(line, "m=audio"):
			switch cur {
			case "INVITE":
				inviteSDP = true
			case "ACK":
				ackSDP = true
			}
		}
	}
	return inviteSDP, ackSDP
}
