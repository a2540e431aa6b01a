package callengine

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/emiago/sipgo/siptest"

	"github.com/parlo-voip/parlo/callengine/media"
)

// A request lacking a header a handler needs, or whose CSeq names another
// method, gets 400 (an ACK: nothing) and the phone stays up. Before the
// guard, the INFO/BYE/ACK/NOTIFY/REFER rows without Call-ID killed the
// process with a nil dereference.
func TestGuardMissingHeadersIntegration(t *testing.T) {
	p := newTestPhone(t, testPhoneOpts{})
	methods := []string{"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "MESSAGE", "INFO", "REFER", "NOTIFY", "SUBSCRIBE"}
	for _, method := range methods {
		for _, missing := range []string{"Call-ID", "From", "To", "CSeq", "Via", "CSeq method"} {
			t.Run(method+"/no "+missing, func(t *testing.T) {
				h := newHostile(t, p)
				r := rawReq{method: method, callID: "mh-" + method + "-" + missing, omit: map[string]bool{missing: true}}
				if method == "INVITE" {
					r.body = sdesOffer()
				}
				if missing == "CSeq method" {
					r.cseqMethod = "OPTIONS"
					if method == "OPTIONS" {
						r.cseqMethod = "INVITE"
					}
				}
				wait := 5 * time.Second // answers come within it even on a loaded machine
				if method == "ACK" {
					wait = time.Second // nothing comes back; this is how long we listen
				}
				res, prov := h.exchange(h.build(r), wait)
				switch {
				case method == "ACK" && (missing == "Via" || missing == "CSeq") && status(res) == 400:
					// sipgo's transaction layer answers a request it cannot
					// key with a stateless 400, even an ACK (RFC 3261 §17.1.1.3
					// says an ACK is never answered); harmless, and before us.
				case method == "ACK" && res != nil:
					t.Fatalf("ACK answered %d", res.StatusCode)
				case method == "ACK":
				case missing == "Via" && res == nil:
					// Without Via there is nowhere RFC 3261 §18.2.2 says
					// to answer; sipgo answers to the source when it can.
				case status(res) != 400:
					t.Fatalf("answered %d (provisional %v), want 400", status(res), prov)
				case len(prov) > 0 && prov[0] != 100:
					t.Fatalf("provisional %v before 400", prov)
				}
			})
		}
	}
	if n := p.guard.panics.Load(); n != 0 {
		t.Fatalf("%d handler panics", n)
	}
	if n := p.rec.count(EventCallIncoming, ""); n != 0 {
		t.Fatalf("%d calls rang", n)
	}
	waitNoCalls(t, p, 5*time.Second)
	realCallWorks(t, p)
}

// An offer Parlo cannot answer gets 488 with a Warning before anything
// rings: no 180, no call, no event (so no history entry).
func TestGuardOfferCheckedBeforeRingingIntegration(t *testing.T) {
	// SRTP required, so that a plain offer is one more thing to refuse; the
	// default (preferred) answers plain RTP, see TestInteropMatrixIntegration.
	p := newTestPhone(t, testPhoneOpts{srtp: media.SRTPRequired})
	manyLines := func(n int) func(string) string {
		return func(s string) string {
			return s + strings.Repeat("m=audio 40002 RTP/AVP 0\r\n", n-1)
		}
	}
	replace := func(old, repl string) func(string) string {
		return func(s string) string { return strings.Replace(s, old, repl, 1) }
	}
	webrtcNoICE := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=audio 40000 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\na=setup:actpass\r\na=mid:0\r\n" +
		"a=fingerprint:sha-256 " + strings.TrimSuffix(strings.Repeat("AB:", 32), ":") + "\r\na=rtcp-mux\r\n"
	cases := []struct {
		name  string
		offer string
	}{
		{"300 m-lines", sdesOffer(manyLines(300))},
		{"17 m-lines", sdesOffer(manyLines(17))},
		{"crypto key too short", sdesOffer(replace("inline:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNk", "inline:MDEyMzQ1Njc4OWFiY2RlZg=="))},
		{"crypto key not base64", sdesOffer(replace("inline:MDEy", "inline:!!!!"))},
		{"crypto without inline", sdesOffer(replace("inline:", "uri:"))},
		{"crypto tag not a number", sdesOffer(replace("a=crypto:1 ", "a=crypto:x "))},
		{"crypto bad MKI", sdesOffer(replace("\r\na=sendrecv", "|1:999\r\na=sendrecv"))},
		{"only unknown crypto suite", sdesOffer(replace("AES_CM_128_HMAC_SHA1_80", "NULL_CIPHER"))},
		{"fingerprint without ICE (WebRTC profile)", webrtcNoICE},
		{"ice-ufrag without ice-pwd", webrtcNoICE + "a=ice-ufrag:abcd\r\n"},
		{"ice-pwd too short", webrtcNoICE + "a=ice-ufrag:abcd\r\na=ice-pwd:short\r\n"},
		{"fingerprint wrong length", strings.Replace(webrtcNoICE, "AB:AB:", "AB:", 1) + "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"},
		{"fingerprint unknown hash", strings.Replace(webrtcNoICE, "sha-256", "crc-32", 1) + "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"},
		{"no codec we support", sdesOffer(replace("RTP/SAVP 0 101", "RTP/SAVP 18 101"), replace("a=rtpmap:0 PCMU/8000", "a=rtpmap:18 G729/8000"))},
		{"plain RTP while SRTP is required", sdesOffer(replace("RTP/SAVP", "RTP/AVP"), replace("a=crypto:", "a=x-crypto:"))},
		{"port range", sdesOffer(replace("m=audio 40000 ", "m=audio 40000/500 "))},
		{"port out of range", sdesOffer(replace("m=audio 40000 ", "m=audio 70000 "))},
		{"video only", sdesOffer(replace("m=audio", "m=video"))},
		{"not SDP", "hello"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHostile(t, p)
			id := "oc-" + strings.ReplaceAll(tc.name, " ", "-")
			res, prov := h.exchange(h.build(rawReq{method: "INVITE", callID: id, body: tc.offer}), 5*time.Second)
			if status(res) != 488 || !hasWarning(res) {
				t.Fatalf("answered %d (Warning %v), want 488 with a Warning", status(res), hasWarning(res))
			}
			for _, c := range prov {
				if c != 100 {
					t.Fatalf("provisional %d before 488", c)
				}
			}
			t.Logf("Warning: %s", res.GetHeader("Warning").Value())
			if names := p.rec.names(id); len(names) != 0 {
				t.Fatalf("events for a refused offer: %v", names)
			}
		})
	}
	// The control: the unmutated offer does ring.
	h := newHostile(t, p)
	h.send(h.build(rawReq{method: "INVITE", callID: "oc-control", body: sdesOffer()}))
	p.rec.wait(t, EventCallIncoming, "oc-control", 5*time.Second)
	rejectAll(t, p)
	waitNoCalls(t, p, 5*time.Second)
	realCallWorks(t, p)
}

// 300 INVITEs in about a second from one stranger: at most MaxRinging ring,
// the source is throttled, every other one is refused with 486 or 503.
func TestGuardInviteFloodIntegration(t *testing.T) {
	p := newTestPhone(t, testPhoneOpts{})
	h := newHostile(t, p)
	const total = 300
	start := time.Now()
	for i := 0; i < total; i++ {
		h.send(h.build(rawReq{method: "INVITE", callID: fmt.Sprintf("flood-%d", i), body: sdesOffer()}))
		time.Sleep(3 * time.Millisecond)
	}
	sent := time.Since(start)
	finals := map[int]int{}
	ringing := map[string]bool{}
	final := map[string]bool{}
	buf := make([]byte, 65535)
	// Generous: the loop ends as soon as all are answered; a loaded
	// machine may take seconds to handle 300 INVITEs.
	deadline := time.Now().Add(20 * time.Second)
	answered := 0
	for answered < total {
		_ = h.conn.SetReadDeadline(deadline)
		n, err := h.conn.Read(buf)
		if err != nil {
			break
		}
		res := parseResponse(t, buf[:n])
		id := res.CallID().Value()
		switch {
		case res.StatusCode == 180:
			if !ringing[id] {
				ringing[id] = true
				answered++
			}
		case res.StatusCode >= 200 && !final[id]:
			// Counted once: the INVITE transaction retransmits a final
			// response the stranger never ACKs (RFC 3261 §17.2.1).
			final[id] = true
			finals[res.StatusCode]++
			answered++
		}
	}
	elapsed := time.Since(start)
	t.Logf("sent %d INVITEs in %s: %d ringing, finals %v, %d calls in the table", total, sent.Round(time.Millisecond), len(ringing), finals, len(p.Calls()))
	if answered != total {
		t.Fatalf("%d of %d INVITEs answered", answered, total)
	}
	if len(ringing) > defaultMaxRinging || len(p.Calls()) > defaultMaxRinging {
		t.Fatalf("%d ringing, %d calls: more than the cap %d", len(ringing), len(p.Calls()), defaultMaxRinging)
	}
	if finals[486]+finals[503] != total-len(ringing) {
		t.Fatalf("finals %v: every INVITE not ringing must get 486 or 503", finals)
	}
	// The token bucket let through at most its burst plus what it refilled
	// while the phone handled the flood.
	if admitted := total - finals[503]; float64(admitted) > defaultSourceBurst+defaultSourceRate*elapsed.Seconds()+1 {
		t.Fatalf("%d INVITEs admitted in %s from one source", admitted, elapsed)
	}
	if n := p.rec.count(EventCallIncoming, ""); n > defaultMaxRinging {
		t.Fatalf("%d onCallIncoming events", n)
	}
	rejectAll(t, p)
	waitNoCalls(t, p, 10*time.Second)
	realCallWorks(t, p)
}

// An unanswered call gets 480 after RingTimeout and ends as missed (ended,
// never answered, neither rejected nor canceled).
func TestGuardRingTimeoutIntegration(t *testing.T) {
	p := newTestPhone(t, testPhoneOpts{tune: func(o *Options) { o.RingTimeout = time.Second }})
	h := newHostile(t, p)
	start := time.Now()
	res, prov := h.exchange(h.build(rawReq{method: "INVITE", callID: "rt-1", body: sdesOffer()}), 10*time.Second)
	if status(res) != 480 {
		t.Fatalf("answered %d (provisional %v), want 480 after the ring timeout", status(res), prov)
	}
	if took := time.Since(start); took < 900*time.Millisecond || took > 8*time.Second {
		t.Fatalf("480 after %s, want about 1 s", took)
	}
	ended := p.rec.wait(t, EventCallEnded, "rt-1", 2*time.Second)
	if ended.Session.Answered || ended.Session.IsCaller || payloadOf[CallStatusPayload](ended).Reason != "no answer" {
		t.Fatalf("ended session %+v payload %v", ended.Session, ended.Payload)
	}
	for _, n := range []string{EventCallRejected, EventCallCanceled, EventCallAccepted} {
		if p.rec.count(n, "rt-1") != 0 {
			t.Fatalf("unexpected %s: %v", n, p.rec.names("rt-1"))
		}
	}
	waitNoCalls(t, p, 5*time.Second)
	realCallWorks(t, p)
}

// In-dialog requests from a stranger who knows the Call-ID but not both
// tags get 481 and change nothing: the call keeps its audio, no re-INVITE
// reaches the media (and no SDP comes back), no DTMF, no transfer.
func TestGuardForgedInDialogRequestsIntegration(t *testing.T) {
	a := newTestPhone(t, testPhoneOpts{toneHz: 440})
	b := newTestPhone(t, testPhoneOpts{toneHz: 660})
	aID, bID := connect(t, a, b)
	cb, err := b.call(bID)
	if err != nil {
		t.Fatal(err)
	}
	bLocal, bRemote, ok := cb.dialogTags()
	if !ok {
		t.Fatal("callee dialog has no tags")
	}
	ca, err := a.call(aID)
	if err != nil {
		t.Fatal(err)
	}
	aLocal, aRemote, ok := ca.dialogTags()
	if !ok {
		t.Fatal("caller dialog has no tags")
	}
	dtmf := "Signal=5\r\nDuration=160\r\n"
	cases := []struct {
		name        string
		to          *testPhone
		method      string
		from, toTag string
		body, ctype string
		extra       []string
		want        int // 0: no answer (ACK)
	}{
		{"BYE wrong To tag", b, "BYE", bRemote, "forged", "", "", nil, 481},
		{"BYE wrong From tag", b, "BYE", "forged", bLocal, "", "", nil, 481},
		{"BYE tags swapped", b, "BYE", bLocal, bRemote, "", "", nil, 481},
		{"BYE no To tag", b, "BYE", bRemote, "", "", "", nil, 481},
		{"BYE to caller wrong tags", a, "BYE", "forged", aLocal, "", "", nil, 481},
		{"BYE to caller swapped", a, "BYE", aLocal, aRemote, "", "", nil, 481},
		{"re-INVITE wrong To tag", b, "INVITE", bRemote, "forged", sdesOffer(), "", nil, 481},
		{"re-INVITE wrong From tag", b, "INVITE", "forged", bLocal, sdesOffer(), "", nil, 481},
		{"re-INVITE to caller wrong tags", a, "INVITE", "forged", aLocal, sdesOffer(), "", nil, 481},
		{"INFO DTMF wrong tags", b, "INFO", "forged", bLocal, dtmf, "application/dtmf-relay", nil, 481},
		{"NOTIFY wrong tags", a, "NOTIFY", "forged", aLocal, "SIP/2.0 200 OK", "message/sipfrag", []string{"Event: refer"}, 481},
		{"REFER wrong tags", b, "REFER", "forged", bLocal, "", "", []string{"Refer-To: <sip:evil@192.0.2.1>"}, 481},
		{"MESSAGE wrong tags", b, "MESSAGE", "forged", bLocal, `{"type":"signal","content":{}}`, "application/json", nil, 481},
		{"MESSAGE no To tag, live Call-ID", b, "MESSAGE", bRemote, "", "hi", "text/plain", nil, 481},
		{"INFO no To tag", b, "INFO", bRemote, "", dtmf, "application/dtmf-relay", nil, 481},
		{"ACK wrong tags", b, "ACK", "forged", bLocal, "", "", nil, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHostile(t, tc.to)
			wait := 5 * time.Second
			if tc.want == 0 {
				wait = time.Second // nothing comes back; this is how long we listen
			}
			res, _ := h.exchange(h.build(rawReq{
				method: tc.method, callID: aID, fromTag: tc.from, toTag: tc.toTag, cseq: 900,
				body: tc.body, ctype: tc.ctype, extra: tc.extra,
			}), wait)
			if status(res) != tc.want {
				t.Fatalf("answered %d, want %d", status(res), tc.want)
			}
			if res != nil && len(res.Body()) != 0 {
				t.Fatalf("a refused request got a body back: %q", res.Body())
			}
		})
	}
	for _, p := range []*testPhone{a, b} {
		for _, n := range []string{EventCallEnded, EventCallEnding, EventReinvite, EventDTMF, EventTransferRequested, EventTransferProgress, EventMessage} {
			if c := p.rec.count(n, ""); c != 0 {
				t.Fatalf("%d %s events after forged requests", c, n)
			}
		}
		if len(p.Calls()) != 1 || !p.Calls()[0].IsEstablished() {
			t.Fatalf("the call did not survive: %+v", p.Calls())
		}
		if n := p.guard.panics.Load(); n != 0 {
			t.Fatalf("%d handler panics", n)
		}
	}
	// Still a working call: both tones still heard, then a clean hangup.
	b.waitTone(t, 440, 5*time.Second)
	a.waitTone(t, 660, 5*time.Second)
	if err := a.Hangup(ctxT(t, 5*time.Second), aID); err != nil {
		t.Fatal(err)
	}
	b.rec.wait(t, EventCallEnded, bID, 5*time.Second)
	waitNoCalls(t, b, 5*time.Second)
	realCallWorks(t, b)
}

// A new INVITE (no To tag) with the Call-ID of a live call never touches
// that call: 482 when it is that call's INVITE again (same From tag, a
// merged or looped request, RFC 3261 §8.2.2.2), 400 otherwise.
func TestGuardCallIDReuseIntegration(t *testing.T) {
	a := newTestPhone(t, testPhoneOpts{toneHz: 440})
	b := newTestPhone(t, testPhoneOpts{toneHz: 660})
	aID, bID := connect(t, a, b)
	h := newHostile(t, b)
	// A ringing call from the stranger.
	h.send(h.build(rawReq{method: "INVITE", callID: "reuse-1", fromTag: "orig", cseq: 7, body: sdesOffer()}))
	b.rec.wait(t, EventCallIncoming, "reuse-1", 5*time.Second)
	if _, prov := h.await(time.Second); len(prov) == 0 {
		t.Fatal("the original INVITE did not ring")
	}
	_, bRemote, _ := func() (string, string, bool) { c, _ := b.call(bID); return c.dialogTags() }()
	cases := []struct {
		name    string
		callID  string
		fromTag string
		cseq    int
		want    int
	}{
		{"ringing: merged (same From tag and CSeq)", "reuse-1", "orig", 7, 482},
		{"ringing: same From tag, new CSeq", "reuse-1", "orig", 8, 482},
		{"ringing: other From tag", "reuse-1", "other", 7, 400},
		{"established: other From tag", aID, "other", 1, 400},
		{"established: the caller's From tag", aID, bRemote, 1, 482},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHostile(t, b)
			res, prov := h.exchange(h.build(rawReq{method: "INVITE", callID: tc.callID, fromTag: tc.fromTag, cseq: tc.cseq, body: sdesOffer()}), 5*time.Second)
			if status(res) != tc.want || len(res.Body()) != 0 {
				t.Fatalf("answered %d (provisional %v, body %d bytes), want %d", status(res), prov, len(res.Body()), tc.want)
			}
		})
	}
	if n := b.rec.count(EventCallIncoming, "reuse-1"); n != 1 {
		t.Fatalf("%d onCallIncoming for reuse-1", n)
	}
	if n := b.rec.count(EventCallIncoming, aID); n != 1 {
		t.Fatalf("%d onCallIncoming for the real call", n)
	}
	if b.rec.count(EventCallEnded, "") != 0 {
		t.Fatalf("a call ended: %v", b.rec.names(""))
	}
	calls := b.Calls()
	if len(calls) != 2 {
		t.Fatalf("%d calls, want the ringing and the established one", len(calls))
	}
	a.waitTone(t, 660, 5*time.Second)
	if err := a.Hangup(ctxT(t, 5*time.Second), aID); err != nil {
		t.Fatal(err)
	}
	rejectAll(t, b)
	waitNoCalls(t, b, 5*time.Second)
	realCallWorks(t, b)
}

// tortureAnswers is what each RFC 4475 message gets, with the RFC's
// section; 0 means dropped (never answered). Syntactically invalid messages
// (§3.1.2) get 400 or are dropped; the application-layer cases (§3.3) get
// what the RFC asks of a UAS; none rings.
var tortureAnswers = map[string][]int{
	// §3.1.1 valid messages.
	"wsinv":      {400}, // in-dialog (To tag) INVITE, RFC 2543 branch; sipgo cannot key its transaction (tag "= 98asjd8") and answers 400 before us; 481 would be ideal
	"intmeth":    {405}, // unknown method
	"esc01":      {488}, // plain RTP offer, SRTP required by this phone
	"escnull":    {405}, // REGISTER: we are no registrar
	"esc02":      {405}, // RE%47IST%45R is an unknown method
	"lwsdisp":    {200},
	"longreq":    {488}, // plain RTP offer, SRTP required by this phone
	"dblreq":     {405},
	"semiuri":    {200},
	"transports": {200},
	"mpart01":    {200}, // MESSAGE, multipart body
	"unreason":   {0},   // responses match no client transaction
	"noreason":   {0},
	// §3.1.2 syntactically invalid.
	"badinv01":   {400, 0},
	"clerr":      {400, 0},
	"scalar02":   {400, 0},
	"scalarlg":   {0},
	"quotbal":    {400, 0},
	"ltgtruri":   {400, 0},
	"lwsruri":    {400, 0},
	"lwsstart":   {400, 0},
	"trws":       {400, 0},
	"escruri":    {400},      // headers in the Request-URI
	"baddate":    {400, 488}, // the Date is ignorable; the plain RTP offer is refused
	"regbadct":   {400, 405},
	"badaspec":   {400, 0},
	"baddn":      {400, 0},
	"badvers":    {400, 505, 0},
	"mismatch01": {400},      // CSeq method differs from the request's
	"mismatch02": {400, 405}, // unknown method: sipgo's 405 comes first
	"bigcode":    {0},
	"ncl":        {400, 0},
	// §3.2 transaction layer: an empty branch after the cookie may be
	// served RFC 2543-style or refused.
	"badbranch": {200, 400},
	// §3.3 application layer.
	"insuf":    {400},
	"unkscm":   {416},
	"novelsc":  {416, 0}, // sipgo cannot parse this Request-URI
	"unksm2":   {405},
	"bext01":   {420},
	"invut":    {415},
	"regaut01": {405},
	"multi01":  {400},
	"mcl01":    {400},
	"bcast":    {0},
	"zeromf":   {200}, // Max-Forwards 0 matters to proxies; a UAS answers (§3.3.11)
	"cparam01": {405},
	"cparam02": {405},
	"regescrt": {405},
	"sdp01":    {406, 488}, // Accept without application/sdp
	// §3.4 backward compatibility: an RFC 2543 INVITE without tags. sipgo's
	// dialog layer needs a From tag; we answer 400 (a deviation: §3.4
	// asks to accept it).
	"inv2543": {400},
}

// topViaSentBy finds the sent-by host[:port] of the first Via (long or
// compact form, with the whitespace and line folding RFC 4475 plays with).
var topViaSentBy = regexp.MustCompile(`(?i)(?:^|\r\n)(?:via|v)[ \t]*:[ \t\r\n]*SIP[ \t\r\n]*/[ \t\r\n]*2\.0[ \t\r\n]*/[ \t\r\n]*[A-Za-z]+[ \t\r\n]+([^;, \t\r\n]+)`)

// The RFC 4475 torture messages (testdata/rfc4475, as sipgo ships them):
// nothing panics, each gets the answer tortureAnswers lists (nothing rings),
// and no call is left.
func TestRFC4475TortureIntegration(t *testing.T) {
	// SRTP required: the valid torture INVITEs offer plain RTP, and a final
	// 488 keeps them from ringing for the whole table (with the default
	// policy they would ring, as any valid call does).
	p := newTestPhone(t, testPhoneOpts{srtp: media.SRTPRequired})
	files, err := filepath.Glob(filepath.Join("testdata", "rfc4475", "*", "*.dat"))
	if err != nil || len(files) != len(tortureAnswers) {
		t.Fatalf("%d torture messages, %d expectations: %v", len(files), len(tortureAnswers), err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".dat")
		t.Run(name, func(t *testing.T) {
			want, ok := tortureAnswers[name]
			if !ok {
				t.Fatalf("no expectation for %s", name)
			}
			msg, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			h := newHostile(t, p)
			// Responses go to the top Via's sent-by (RFC 3261 §18.2.2),
			// example hosts here: point it at the stranger's socket,
			// leaving the rest of the message as the RFC wrote it.
			if loc := topViaSentBy.FindSubmatchIndex(msg); loc != nil {
				sentBy := fmt.Sprintf("%s:%d", h.ip, h.port)
				msg = append(append(append([]byte{}, msg[:loc[2]]...), sentBy...), msg[loc[3]:]...)
			}
			wait := 5 * time.Second
			if slices.Contains(want, 0) {
				wait = 1500 * time.Millisecond // may be dropped: how long we listen
			}
			res, prov := h.exchange(string(msg), wait)
			w := ""
			if res != nil && res.GetHeader("Warning") != nil {
				w = res.GetHeader("Warning").Value()
			}
			t.Logf("%s: answered %d %s, provisional %v", name, status(res), w, prov)
			if !slices.Contains(want, status(res)) {
				t.Fatalf("answered %d, want one of %v", status(res), want)
			}
			for _, c := range prov {
				if c != 100 {
					t.Fatalf("provisional %d", c)
				}
			}
		})
	}
	if n := p.guard.panics.Load(); n != 0 {
		t.Fatalf("%d handler panics", n)
	}
	if n := p.rec.count(EventCallIncoming, ""); n != 0 {
		t.Fatalf("%d torture messages rang", n)
	}
	waitNoCalls(t, p, 5*time.Second)
	realCallWorks(t, p)
}

// lockedBuffer is a log sink several goroutines write to.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A handler that panics answers 500, logs the panic with its stack at
// error level, and the phone keeps serving.
func TestGuardRecoversPanic(t *testing.T) {
	var logs lockedBuffer
	p := newTestPhone(t, testPhoneOpts{tune: func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelError}))
	}})
	h := newHostile(t, p)
	msg, err := sip.ParseMessage([]byte(h.build(rawReq{method: "INFO", callID: "panic-1"})))
	if err != nil {
		t.Fatal(err)
	}
	req := msg.(*sip.Request)
	tx := siptest.NewServerTxRecorder(req)
	var calls map[string]*call
	p.guard.wrap(func(req *sip.Request, tx sip.ServerTransaction) {
		calls["x"].id = "boom" // a nil map entry: the kind of bug the guard contains
	})(req, tx)
	if res := tx.Result(); len(res) != 1 || res[0].StatusCode != 500 {
		t.Fatalf("responses %v, want one 500", res)
	}
	if n := p.guard.panics.Load(); n != 1 {
		t.Fatalf("%d panics counted, want 1", n)
	}
	out := logs.String()
	if !strings.Contains(out, "SIP request handler panicked") || !strings.Contains(out, "TestGuardRecoversPanic") {
		t.Fatalf("no error log with the stack: %q", out)
	}
	if res := h.probe(h.build(rawReq{method: "OPTIONS", callID: "after-panic"}), "after-panic", 5*time.Second); status(res) != 200 {
		t.Fatalf("OPTIONS after the panic answered %d", status(res))
	}
}

// TestGuardAdmitsRetryOfAnsweredInvite: a UAC retrying an INVITE after our
// final answer (a 422's Min-SE, RFC 4028 §7.4; the next media profile after
// a 488) sends the same Call-ID and From tag with a higher CSeq, and it can
// arrive before the handler that answered has returned. The guard waits
// for that handler rather than refuse the retry as a loop; a retry whose
// predecessor never finishes, and a second INVITE with the same CSeq, are
// still refused with 482.
func TestGuardAdmitsRetryOfAnsweredInvite(t *testing.T) {
	p := newTestPhone(t, testPhoneOpts{})
	h := newHostile(t, p)
	invite := func(callID string, cseq int) (*sip.Request, *siptest.ServerTxRecorder) {
		t.Helper()
		msg, err := sip.ParseMessage([]byte(h.build(rawReq{method: "INVITE", callID: callID, fromTag: "retry-tag", cseq: cseq})))
		if err != nil {
			t.Fatal(err)
		}
		req := msg.(*sip.Request)
		return req, siptest.NewServerTxRecorder(req)
	}
	admitted := func(callID string, cseq int) (release func(), tx *siptest.ServerTxRecorder, ok bool) {
		req, tx := invite(callID, cseq)
		release, ok = p.guard.admit(req, tx)
		return release, tx, ok
	}

	// The retry arrives while the first INVITE's handler is finishing.
	release1, _, ok := admitted("retry-1", 1)
	if !ok {
		t.Fatal("first INVITE refused")
	}
	type result struct {
		release func()
		ok      bool
		at      time.Time
	}
	got := make(chan result, 1)
	go func() {
		r, _, ok := admitted("retry-1", 2)
		got <- result{r, ok, time.Now()}
	}()
	select {
	case r := <-got:
		t.Fatalf("the retry was decided (admitted %v) before the first handler returned", r.ok)
	case <-time.After(100 * time.Millisecond): // the retry is waiting, as it should
	}
	releasedAt := time.Now()
	release1()
	r := <-got
	if !r.ok {
		t.Fatal("the retry of an answered INVITE was refused")
	}
	if r.at.Before(releasedAt) {
		t.Fatal("the retry was admitted before the first handler returned")
	}
	r.release()

	// The same CSeq again while the first is handled: a merged request.
	release2, _, ok := admitted("retry-2", 1)
	if !ok {
		t.Fatal("first INVITE refused")
	}
	if _, tx, ok := admitted("retry-2", 1); ok || len(tx.Result()) != 1 || tx.Result()[0].StatusCode != sip.StatusLoopDetected {
		t.Fatalf("a second INVITE with the same CSeq: admitted %v, responses %v; want 482", ok, tx.Result())
	}
	// A higher CSeq while the first never finishes: 482 after the wait.
	start := time.Now()
	// (A 100 Trying may go out during the wait: the final answer counts.)
	if _, tx, ok := admitted("retry-2", 2); ok || len(tx.Result()) == 0 || tx.Result()[len(tx.Result())-1].StatusCode != sip.StatusLoopDetected {
		t.Fatalf("a retry while the first INVITE is still handled: admitted %v, responses %v; want 482", ok, tx.Result())
	}
	if waited := time.Since(start); waited < retryAdmitWait {
		t.Errorf("refused after %s, before the %s wait", waited, retryAdmitWait)
	}
	release2()
}
