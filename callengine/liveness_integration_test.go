package callengine

import (
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/pion/sdp/v3"

	"github.com/parlo-voip/parlo/internal/testpeers"
)

// figure prints one measured figure in the form docs/reliability.md is
// generated from (internal/reliability reads "FIGURE key: value" lines of
// go test -v).
func figure(t testing.TB, key, format string, args ...any) {
	t.Helper()
	t.Logf("FIGURE %s: %s", key, fmt.Sprintf(format, args...))
}

// vanishedPeerLimit is how soon a call to a peer that vanished must end.
const vanishedPeerLimit = 30 * time.Second

// waitFailed waits for the call's onCallFailed and checks its reason is
// one of want; it returns the reason and how long after since it came.
func waitFailed(t *testing.T, tp *testPhone, id string, since time.Time, want ...EndReason) (EndReason, time.Duration) {
	t.Helper()
	ev := tp.rec.wait(t, EventCallFailed, id, vanishedPeerLimit+5*time.Second)
	took := time.Since(since)
	failed, _ := ev.Payload.(CallStatusPayload)
	reason := failed.Reason
	ok := false
	for _, w := range want {
		ok = ok || EndReason(reason) == w
	}
	if !ok {
		t.Fatalf("onCallFailed reason %q (%s), want one of %v", reason, failed.Error, want)
	}
	ended := tp.rec.wait(t, EventCallEnded, id, 2*time.Second)
	if p, _ := ended.Payload.(CallStatusPayload); p != failed {
		t.Fatalf("onCallEnded payload %+v, onCallFailed said %+v", ended.Payload, failed)
	}
	if took > vanishedPeerLimit {
		t.Fatalf("the call ended %s after the peer vanished, want within %s", took.Round(time.Millisecond), vanishedPeerLimit)
	}
	for _, s := range tp.Calls() {
		if s.SipCallID == id {
			t.Fatalf("the ended call is still listed: %+v", s)
		}
	}
	return EndReason(reason), took
}

// answeredAudioPort is the audio port of the peer's answer to call id.
func answeredAudioPort(t *testing.T, tp *testPhone, id string) string {
	t.Helper()
	c, err := tp.call(id)
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	body := c.uac.InviteResponse.Body()
	c.mu.Unlock()
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(string(body)); err != nil {
		t.Fatalf("the answer's SDP: %v", err)
	}
	for _, m := range sd.MediaDescriptions {
		if m.MediaName.Media == "audio" {
			return strconv.Itoa(m.MediaName.Port.Value)
		}
	}
	t.Fatalf("no audio line in the answer:\n%s", body)
	return ""
}

// A far end that dies mid-call (kill -9: no BYE) or whose packets all
// vanish (nftables drop of its SIP and media ports) ends the call within
// 30 s with a reason, on both media paths, with the phone's defaults.
func TestVanishedPeerIntegration(t *testing.T) {
	paths := []struct {
		name string
		opts testpeers.BaresipOptions
	}{
		{"webrtc", testpeers.BaresipOptions{MediaEnc: "dtls_srtp", MediaNAT: "ice", AutoAnswer: true, ToneHz: 440, ExtraConfig: []string{"rtcp_mux yes"}}},
		{"classic", testpeers.BaresipOptions{AutoAnswer: true, ToneHz: 440}},
	}
	for _, path := range paths {
		for _, how := range []string{"kill9", "nftdrop"} {
			t.Run(path.name+"/"+how, func(t *testing.T) {
				t.Parallel() // mostly waiting: the four cases share the wait
				if how == "nftdrop" {
					nftTable(t) // refuses to run outside the test namespace, before any set-up
				}
				bs := testpeers.StartBaresip(t, path.opts)
				a := newTestPhone(t, testPhoneOpts{toneHz: 660})
				ctx := ctxT(t, 60*time.Second)
				s, err := a.Call(ctx, bs.URI(), CallOptions{})
				if err != nil {
					t.Fatal(err)
				}
				id := s.SipCallID
				a.rec.wait(t, EventMediaConnected, id, 10*time.Second)
				a.waitTone(t, 440, 10*time.Second)
				st, _ := a.Stats(id)
				if st.Path != path.name {
					t.Fatalf("call went over %q, want %q", st.Path, path.name)
				}
				var start time.Time
				switch how {
				case "kill9":
					start = time.Now()
					bs.Kill()
				case "nftdrop":
					_, mediaPort, _ := net.SplitHostPort(st.Transport.RemoteAddress)
					if mediaPort == "" {
						mediaPort = answeredAudioPort(t, a, id) // the classic path keeps no selected pair
					}
					_, sipPort, _ := net.SplitHostPort(bs.SIPAddr())
					if mediaPort == "" {
						t.Fatalf("no remote media address in %+v", st.Transport)
					}
					ports := []string{sipPort, mediaPort}
					if mp, err := strconv.Atoi(mediaPort); err == nil && path.name == "classic" {
						ports = append(ports, strconv.Itoa(mp+1)) // its RTCP without rtcp-mux
					}
					start = time.Now()
					nftDrop(t, ports...)
				}
				reason, took := waitFailed(t, a, id, start, EndMediaTimeout, EndICEFailed)
				figure(t, "vanished."+path.name+"."+how, "%.1f s (%s)", took.Seconds(), reason)
			})
		}
	}
}

// A far end that goes quiet in RTP (silence without comfort noise) but
// still sends its RTCP reports is alive: nftables drops baresip's RTP and
// lets its RTCP through (they share a port: rtcp-mux; RFC 5761 §4 tells
// them apart by the second byte, 192–223 for RTCP), and the call outlives
// two media timeouts; once its RTCP is dropped too, the call ends by media
// timeout. The timeout is lowered to keep the test short: what is under
// test is what counts as received.
func TestSilentPeerKeptAliveByRTCPIntegration(t *testing.T) {
	table := nftTable(t) // refuses to run outside the test namespace, before any set-up
	const timeout = 8 * time.Second
	bs := testpeers.StartBaresip(t, testpeers.BaresipOptions{AutoAnswer: true, ToneHz: 440})
	a := newTestPhone(t, testPhoneOpts{toneHz: 660, tune: func(o *Options) { o.MediaTimeout = timeout }})
	ctx := ctxT(t, 90*time.Second)
	s, err := a.Call(ctx, bs.URI(), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	id := s.SipCallID
	a.rec.wait(t, EventMediaConnected, id, 10*time.Second)
	a.waitTone(t, 440, 10*time.Second)
	if st, _ := a.Stats(id); st.Path != "classic" {
		t.Fatalf("call went over %q, want classic", st.Path)
	}
	rtpPort := answeredAudioPort(t, a, id)
	// The payload's second byte (bits 72–79 past the UDP header's start).
	nftRun(t, "add", "rule", "inet", table, "in", "udp", "sport", rtpPort, "@th,72,8", "!=", "192-223", "drop")
	before, _ := a.Stats(id)
	quiet := time.Now()
	for time.Since(quiet) < 2*timeout {
		if n := a.rec.count(EventCallFailed, id) + a.rec.count(EventCallEnded, id); n > 0 {
			st, _ := a.Stats(id)
			t.Fatalf("the call ended %s into RTP silence although RTCP kept coming (%d → %d reports)",
				time.Since(quiet).Round(100*time.Millisecond), before.Transport.RTCPReceived, st.Transport.RTCPReceived)
		}
		time.Sleep(200 * time.Millisecond)
	}
	after, _ := a.Stats(id)
	if after.Transport.RTCPReceived <= before.Transport.RTCPReceived || after.Audio.PacketsReceived > before.Audio.PacketsReceived+5 {
		t.Fatalf("over %s of dropped RTP: RTCP %d → %d, RTP %d → %d; want reports only",
			2*timeout, before.Transport.RTCPReceived, after.Transport.RTCPReceived, before.Audio.PacketsReceived, after.Audio.PacketsReceived)
	}
	start := time.Now()
	nftDrop(t, rtpPort)
	reason, took := waitFailed(t, a, id, start, EndMediaTimeout)
	figure(t, "silent.rtcp", "alive through %s of RTP silence (media timeout %s) on %d RTCP reports; ended %.1f s after its RTCP stopped too (%s)",
		2*timeout, timeout, after.Transport.RTCPReceived-before.Transport.RTCPReceived, took.Seconds(), reason)
}
