package callengine_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine"
	"github.com/parlo-voip/parlo/callengine/audio"
	"github.com/parlo-voip/parlo/callengine/media/classic"
	"github.com/parlo-voip/parlo/internal/testpeers"
)

// A conference whose legs differ in path, codec and rate: A (Parlo,
// default settings) calls B (Parlo: WebRTC, Opus 48 kHz) and baresip
// (plain RTP, PCMU only: 8 kHz), then merges. B hears A and baresip;
// baresip hears A and B.
func TestConferenceAcrossCodecsIntegration(t *testing.T) {
	testpeers.Require(t, "baresip")
	const toneA, toneB, toneC = 660.0, 880.0, 440.0
	a := newEventPhone(t, toneA, callengine.Options{Listen: []string{"udp:127.0.0.1:0"}, ClassicMediaFactory: classic.New})
	b := newEventPhone(t, toneB, callengine.Options{Listen: []string{"udp:127.0.0.1:0"}, ClassicMediaFactory: classic.New, AutoAnswer: true})
	bs := testpeers.StartBaresip(t, testpeers.BaresipOptions{AutoAnswer: true, ToneHz: int(toneC), AudioCodecs: "PCMU"})
	ctx := ctxFor(t, 60*time.Second)

	ab, err := a.Call(ctx, b.uri(), callengine.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	earB := waitEar(t, b)
	waitHeard(t, "B before the merge", earB, map[float64]bool{toneA: true}, 10*time.Second)
	ac, err := a.Call(ctx, bs.URI(), callengine.CallOptions{})
	if err != nil {
		t.Fatalf("call baresip: %v\n%s", err, bs.Log())
	}
	if _, err := bs.WaitEvent(ctx, "CALL_ESTABLISHED"); err != nil {
		t.Fatalf("baresip: %v\n%s", err, bs.Log())
	}
	waitHeard(t, "A from baresip", a.ear(t), map[float64]bool{toneC: true}, 10*time.Second)
	if err := a.Merge(ctx, ab.SipCallID, ac.SipCallID); err != nil {
		t.Fatalf("Merge: %v", err)
	}
	waitHeard(t, "B in the conference", earB, map[float64]bool{toneA: true, toneC: true}, 10*time.Second)
	st, _ := a.Stats(ac.SipCallID)
	if !strings.EqualFold(st.Audio.Codec, "PCMU") {
		t.Fatalf("the baresip leg uses %q, want PCMU", st.Audio.Codec)
	}
	time.Sleep(2 * time.Second) // two seconds of the mix into baresip's recording
	if err := a.Hangup(ctx, ac.SipCallID); err != nil {
		t.Fatal(err)
	}
	if _, err := bs.WaitEvent(ctx, "CALL_CLOSED"); err != nil {
		t.Fatalf("baresip did not close: %v", err)
	}
	pcm, rate := baresipRecording(t, bs)
	tail := pcm[max(0, len(pcm)-int(1.5*float64(rate))):]
	for _, hz := range []float64{toneA, toneB} {
		if lvl := audio.ToneLevel(tail, rate, hz); lvl < 0.05 {
			t.Errorf("baresip hears %.0f Hz at %.3f in the conference's last 1.5 s, want it present", hz, lvl)
		}
	}
}

// waitEar waits for cp's first call audio output.
func waitEar(t *testing.T, cp *classicPhone) *audio.ToneDetector {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		cp.mu.Lock()
		n := len(cp.ears)
		cp.mu.Unlock()
		if n > 0 {
			return cp.ear(t)
		}
	}
	t.Fatal("no call audio output opened")
	return nil
}

// waitHeard polls ear until each tone of want is present or absent.
func waitHeard(t *testing.T, who string, ear *audio.ToneDetector, want map[float64]bool, timeout time.Duration) {
	t.Helper()
	for end := time.Now().Add(timeout); ; time.Sleep(100 * time.Millisecond) {
		pcm := ear.Last(300 * time.Millisecond)
		ok := len(pcm) > 0
		var got []string
		for hz, present := range want {
			lvl := audio.ToneLevel(pcm, audio.SampleRate, hz)
			got = append(got, fmt.Sprintf("%.0f Hz %.3f", hz, lvl))
			if present != (lvl > 0.1) {
				ok = false
			}
		}
		if ok {
			return
		}
		if time.Now().After(end) {
			sort.Strings(got)
			t.Fatalf("%s hears %s; want %v", who, strings.Join(got, ", "), want)
		}
	}
}

// baresipRecording is what baresip recorded of the call.
func baresipRecording(t *testing.T, bs *testpeers.Baresip) ([]int16, int) {
	t.Helper()
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if path := bs.RecordingPath(); path != "" {
			if pcm, rate, err := audio.ReadWAV(path); err == nil && len(pcm) > rate {
				return pcm, rate
			}
		}
	}
	t.Fatalf("baresip recorded nothing usable\n%s", bs.Log())
	return nil, 0
}
