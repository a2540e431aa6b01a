package headless_test

import (
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine/audio"
)

// TestHeadlessContractIntegration drives two real `parlo headless` processes
// through stdin/stdout only: A (440 Hz tone) calls B (660 Hz tone, recording
// to b.wav), B accepts, audio flows both ways, A hangs up, both quit. Then
// b.wav must hold A's 440 Hz tone.
//
// Set PARLO_TRANSCRIPT=path to save the session's transcript.
func TestHeadlessContractIntegration(t *testing.T) {
	bin := buildParlo(t)
	dir := t.TempDir()
	wavPath := filepath.Join(dir, "b.wav")
	tr := &transcript{start: time.Now()}
	defer func() {
		if t.Failed() {
			t.Logf("transcript:\n%s", tr)
		}
		writeTranscriptIfAsked(t, tr)
	}()

	a := startDriver(t, bin, "A", tr, "--listen", "udp:127.0.0.1:0", "--username", "alice", "--audio-in", "tone:440", "--log-level", "debug")
	b := startDriver(t, bin, "B", tr, "--listen", "udp:127.0.0.1:0", "--username", "bob", "--audio-in", "tone:660", "--audio-out", "file:"+wavPath, "--log-level", "debug")

	// ready comes first, with the bound port.
	_, readyA := a.waitFor("ready", 0, 10*time.Second, func(o map[string]any) bool { return true })
	_, readyB := b.waitFor("ready", 0, 10*time.Second, func(o map[string]any) bool { return true })
	for _, r := range []map[string]any{readyA, readyB} {
		if r["event"] != "ready" {
			t.Fatalf("first line is not the ready event: %v", r)
		}
		listen, _ := r["listen"].([]any)
		if len(listen) != 1 || listen[0] == "udp:127.0.0.1:0" {
			t.Fatalf("ready.listen should hold the bound address, got %v", r["listen"])
		}
	}
	bContact, _ := readyB["contact"].(string)
	if bContact == "" {
		t.Fatalf("ready without contact: %v", readyB)
	}

	res := a.do(map[string]any{"cmd": "call", "to": bContact})
	callID, _ := dig(res, "session.sipCallId").(string)
	if callID == "" || dig(res, "session.isCaller") != true {
		t.Fatalf("call result has no caller session: %v", res)
	}

	inc := b.waitEvent("onCallIncoming", callID, 10*time.Second)
	if dig(inc, "session.ringing") != true || inc["wantsVideo"] != false {
		t.Fatalf("onCallIncoming: want ringing and wantsVideo=false at top level, got %v", inc)
	}
	b.do(map[string]any{"cmd": "accept", "call": callID})

	for _, d := range []*driver{a, b} {
		acc := d.waitEvent("onCallAccepted", callID, 10*time.Second)
		if dig(acc, "session.sipStatus") != "Established" {
			t.Fatalf("%s onCallAccepted not Established: %v", d.name, acc)
		}
		d.waitEvent("onMediaConnected", callID, 10*time.Second)
	}

	// About 2 s of audio: poll both sides' stats until each has received
	// 100 packets (2 s of 20 ms frames), with a deadline.
	deadline := time.Now().Add(15 * time.Second)
	for _, d := range []*driver{a, b} {
		for {
			st := d.do(map[string]any{"cmd": "stats", "call": callID})
			if num(t, st, "audio.packetsReceived") >= 100 {
				if c := dig(st, "audio.codec"); c != "opus" {
					t.Fatalf("%s audio.codec = %v, want opus (stats %v)", d.name, c, st)
				}
				if num(t, st, "audio.bytesReceived") <= 0 || num(t, st, "audio.packetsSent") <= 0 {
					t.Fatalf("%s stats do not show audio both ways: %v", d.name, st)
				}
				for _, k := range []string{"path", "srtp"} {
					if s, _ := st[k].(string); s == "" {
						t.Fatalf("%s stats lack %q: %v", d.name, k, st)
					}
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s received only %v packets by the deadline: %v", d.name, dig(st, "audio.packetsReceived"), st)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	a.do(map[string]any{"cmd": "hangup", "call": callID})
	for _, d := range []*driver{a, b} {
		ended := d.waitEvent("onCallEnded", callID, 10*time.Second)
		if dig(ended, "session.sipStatus") != "Terminated" {
			t.Fatalf("%s onCallEnded not Terminated: %v", d.name, ended)
		}
	}

	for _, d := range []*driver{a, b} {
		d.do(map[string]any{"cmd": "quit"})
		if err := d.waitExit(10 * time.Second); err != nil {
			t.Fatalf("%s exit: %v", d.name, err)
		}
	}

	pcm, rate, err := audio.ReadWAV(wavPath)
	if err != nil {
		t.Fatalf("reading B's recording: %v", err)
	}
	if rate != audio.SampleRate || len(pcm) < rate {
		t.Fatalf("b.wav: %d samples at %d Hz, want at least 1 s at %d Hz", len(pcm), rate, audio.SampleRate)
	}
	// Skip the first half second (jitter buffer filling, codec warm-up).
	hz, power := audio.DominantFrequency(pcm[rate/2:], rate)
	t.Logf("b.wav: %.2f s, dominant %.1f Hz (power share %.2f)", float64(len(pcm))/float64(rate), hz, power)
	if math.Abs(hz-440) > 10 {
		t.Fatalf("b.wav dominant frequency %.1f Hz, want 440±10 (A's tone)", hz)
	}
}
