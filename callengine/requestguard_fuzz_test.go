package callengine

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fuzzDialog is the live call the in-dialog seeds aim at: placeholders in a
// fuzzed datagram are replaced by its Call-ID and tags, so mutations reach
// the dialog-matched handlers (BYE, re-INVITE, INFO, NOTIFY, REFER, ACK),
// not only the early refusals.
type fuzzDialog struct {
	a, b              *testPhone
	id                string
	localTag, peerTag string // the callee's view
}

func (d *fuzzDialog) ensure(t testing.TB) {
	t.Helper()
	if d.id != "" {
		if _, err := d.b.call(d.id); err == nil {
			return
		}
		// A fuzzed BYE with the right tags ended the callee's side (as it
		// should); the caller never heard of it.
		_ = d.a.Hangup(ctxT(t, 5*time.Second), d.id)
	}
	ctx := ctxT(t, 20*time.Second)
	s, err := d.a.Call(ctx, d.b.uri(), CallOptions{})
	if err != nil {
		t.Fatalf("fuzz call: %v", err)
	}
	d.id = s.SipCallID
	d.b.rec.wait(t, EventCallIncoming, d.id, 5*time.Second)
	if err := d.b.Accept(ctx, d.id); err != nil {
		t.Fatalf("fuzz call: Accept: %v", err)
	}
	d.a.rec.wait(t, EventCallAccepted, d.id, 5*time.Second)
	c, err := d.b.call(d.id)
	if err != nil {
		t.Fatal(err)
	}
	var ok bool
	if d.localTag, d.peerTag, ok = c.dialogTags(); !ok {
		t.Fatal("fuzz call has no dialog tags")
	}
}

// FuzzSIPRequest feeds one datagram per input to a running phone that has
// a live call. After each: the phone still answers OPTIONS, no handler
// panicked (the guard's recover counts them), at most MaxRinging calls
// ring, and the ringing ones are cleared. Seeds: one request per method,
// in and out of the live dialog, with and without each mandatory header,
// and the RFC 4475 torture messages. Plain `go test` runs the seeds; run
// `go test -fuzz FuzzSIPRequest ./callengine` to explore.
func FuzzSIPRequest(f *testing.F) {
	methods := []string{"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "MESSAGE", "INFO", "REFER", "NOTIFY", "SUBSCRIBE", "UPDATE", "PRACK"}
	bodies := map[string][2]string{
		"INVITE":  {"application/sdp", sdesOffer()},
		"INFO":    {"application/dtmf-relay", "Signal=5\r\nDuration=160\r\n"},
		"NOTIFY":  {"message/sipfrag", "SIP/2.0 200 OK\r\n"},
		"MESSAGE": {"application/json", `{"type":"signal","content":{"x":1}}`},
	}
	for _, m := range methods {
		for _, inDialog := range []bool{false, true} {
			r := rawReq{method: m, callID: "fz-" + m}
			if inDialog {
				r.callID, r.fromTag, r.toTag, r.cseq = "{callid}", "{peertag}", "{localtag}", 50
			}
			if b, ok := bodies[m]; ok {
				r.ctype, r.body = b[0], b[1]
			}
			extra := map[string][]string{"REFER": {"Refer-To: <sip:x@127.0.0.1>"}, "NOTIFY": {"Event: refer"}}
			r.extra = extra[m]
			f.Add(seedHostile.build(r))
			for _, omit := range []string{"Call-ID", "From", "To", "CSeq"} {
				r.omit = map[string]bool{omit: true}
				f.Add(seedHostile.build(r))
			}
		}
	}
	torture, _ := filepath.Glob(filepath.Join("testdata", "rfc4475", "*", "*.dat"))
	for _, file := range torture {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(string(b))
		}
	}
	b := newTestPhone(f, testPhoneOpts{tune: func(o *Options) { o.SourceRate = -1 }})
	a := newTestPhone(f, testPhoneOpts{toneHz: 440})
	d := &fuzzDialog{a: a, b: b}
	d.ensure(f)
	stranger := newHostile(f, b)
	monitor := newHostile(f, b)
	n := 0
	f.Fuzz(func(t *testing.T, msg string) {
		n++
		d.ensure(t)
		msg = strings.NewReplacer("{callid}", d.id, "{localtag}", d.localTag, "{peertag}", d.peerTag).Replace(msg)
		stranger.with(t).send(msg)
		mon := monitor.with(t)
		probe := mon.build(rawReq{method: "OPTIONS", callID: "probe-" + strconv.Itoa(n)})
		if res := mon.probe(probe, "probe-"+strconv.Itoa(n), 5*time.Second); status(res) != 200 {
			t.Fatalf("phone stopped answering OPTIONS (got %d) after %q", status(res), msg)
		}
		if p := b.guard.panics.Load() + a.guard.panics.Load(); p != 0 {
			t.Fatalf("%d handler panics after %q", p, msg)
		}
		if got := len(b.Calls()); got > defaultMaxRinging+1 {
			t.Fatalf("%d calls after %q", got, msg)
		}
		ctx := ctxT(t, 5*time.Second)
		for _, s := range b.Calls() {
			if s.SipCallID != d.id && !s.Answered && !s.IsCaller {
				_ = b.Reject(ctx, s.SipCallID, 486)
			} else if s.SipCallID != d.id {
				_ = b.Hangup(ctx, s.SipCallID)
			}
		}
	})
}

// seedHostile builds seed messages; the fuzz function sends them from a
// real hostile socket (its Via is rewritten by nothing: responses go to the
// source through rport).
var seedHostile = &hostile{ip: "127.0.0.1", port: 5999, target: mustUDPAddr("127.0.0.1:5060")}

func mustUDPAddr(s string) *net.UDPAddr {
	a, err := net.ResolveUDPAddr("udp", s)
	if err != nil {
		panic(err)
	}
	return a
}
