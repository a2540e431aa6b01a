package callengine

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine/audio"
	"github.com/parlo-voip/parlo/internal/testpeers"
)

// baresip 1.0 with ICE + DTLS-SRTP (the WebRTC profile without BUNDLE, which
// for one audio m-line is the same thing) answers Parlo, and its ausine tone
// reaches Parlo.
func TestBaresipAnswersParloIntegration(t *testing.T) {
	bs := testpeers.StartBaresip(t, testpeers.BaresipOptions{
		MediaEnc: "dtls_srtp", MediaNAT: "ice", AutoAnswer: true, ToneHz: 440,
		ExtraConfig: []string{"rtcp_mux yes"},
	})
	a := newTestPhone(t, testPhoneOpts{toneHz: 660})
	ctx := ctxT(t, 20*time.Second)
	start := time.Now()
	s, err := a.Call(ctx, bs.URI(), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a.rec.wait(t, EventCallAccepted, s.SipCallID, 10*time.Second)
	answered := time.Since(start)
	a.rec.wait(t, EventMediaConnected, s.SipCallID, 10*time.Second)
	t.Logf("call setup Parlo→baresip: 200 OK after %s, onMediaConnected after %s", answered, time.Since(start))
	a.waitTone(t, 440, 5*time.Second)
	if err := a.Hangup(ctx, s.SipCallID); err != nil {
		t.Fatalf("Hangup: %v", err)
	}
	if _, err := bs.WaitEvent(ctx, "CALL_CLOSED"); err != nil {
		t.Fatalf("baresip did not see the BYE: %v\n%s", err, bs.Log())
	}
}

// baresip calls Parlo (auto-answer); baresip records what it hears, and that
// must be Parlo's 660 Hz tone.
func TestBaresipCallsParloIntegration(t *testing.T) {
	a := newTestPhone(t, testPhoneOpts{toneHz: 660, auto: true})
	bs := testpeers.StartBaresip(t, testpeers.BaresipOptions{
		MediaEnc: "dtls_srtp", MediaNAT: "ice", ToneHz: 440,
		ExtraConfig: []string{"rtcp_mux yes"},
	})
	ctx := ctxT(t, 20*time.Second)
	setup, err := bs.DialAndWaitEstablished(ctx, a.uri())
	if err != nil {
		t.Fatalf("baresip dial: %v\n%s", err, bs.Log())
	}
	t.Logf("baresip→Parlo dial to CALL_ESTABLISHED: %s", setup)
	in := a.rec.wait(t, EventCallIncoming, "", 5*time.Second)
	id := in.Session.SipCallID
	a.rec.wait(t, EventMediaConnected, id, 10*time.Second)
	a.waitTone(t, 440, 5*time.Second)
	// Let baresip hear two seconds of us, then end the call from baresip.
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if st, _ := a.Stats(id); st.Audio.PacketsSent >= 100 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := bs.Command(ctx, "hangup", ""); err != nil {
		t.Fatalf("baresip hangup: %v", err)
	}
	a.rec.wait(t, EventCallEnded, id, 5*time.Second)
	if _, err := bs.WaitEvent(ctx, "CALL_CLOSED"); err != nil {
		t.Fatal(err)
	}
	path := bs.RecordingPath()
	var pcm []int16
	var rate int
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if pcm, rate, err = audio.ReadWAV(path); err == nil && len(pcm) > 0 {
			break
		}
	}
	if len(pcm) == 0 {
		t.Fatalf("baresip recorded nothing at %q (%v)\n%s", path, err, bs.Log())
	}
	// Skip the first half second (ICE/DTLS set-up, jitter buffer fill).
	if skip := rate / 2; len(pcm) > skip*2 {
		pcm = pcm[skip:]
	}
	hz, _ := audio.DominantFrequency(pcm, rate)
	if math.Abs(hz-660) > 10 {
		t.Fatalf("baresip heard %.1f Hz, want Parlo's 660 Hz (rms %.3f, %d samples at %d Hz)", hz, audio.RMS(pcm), len(pcm), rate)
	}
}

// DTMF both ways with baresip 1.0 over ICE + DTLS-SRTP: RFC 4733 events,
// checked against baresip's own "received DTMF" events and Parlo's onDTMF.
func TestBaresipDTMFIntegration(t *testing.T) {
	bs := testpeers.StartBaresip(t, testpeers.BaresipOptions{
		MediaEnc: "dtls_srtp", MediaNAT: "ice", AutoAnswer: true, ToneHz: 440,
		ExtraConfig: []string{"rtcp_mux yes"},
	})
	a := newTestPhone(t, testPhoneOpts{toneHz: 660})
	ctx := ctxT(t, 30*time.Second)
	s, err := a.Call(ctx, bs.URI(), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a.rec.wait(t, EventMediaConnected, s.SipCallID, 10*time.Second)
	a.waitTone(t, 440, 5*time.Second)

	if err := a.SendDTMF(ctx, s.SipCallID, "42#"); err != nil {
		t.Fatalf("SendDTMF: %v", err)
	}
	var got string
	for _, want := range "42#" {
		ev, err := bs.WaitEventFunc(ctx, func(ev testpeers.BaresipEvent) bool {
			return ev.Type == "CALL_DTMF_START" && !strings.Contains(got, ev.Param+"|")
		})
		if err != nil {
			t.Fatalf("baresip received %q so far: %v", got, err)
		}
		if ev.Param != string(want) {
			t.Fatalf("baresip received %q after %q, want %q", ev.Param, got, string(want))
		}
		got += ev.Param + "|"
	}

	if _, err := bs.Command(ctx, "sndcode", "7"); err != nil {
		t.Fatalf("baresip sndcode: %v", err)
	}
	waitTones(t, a.rec, s.SipCallID, "rfc4733", "7")
}
