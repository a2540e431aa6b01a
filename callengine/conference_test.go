package callengine

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine/audio"
)

// waitMix polls ear until each tone of want is present (true) or absent
// (false) in the last 300 ms.
func waitMix(t *testing.T, who string, ear *audio.ToneDetector, want map[float64]bool, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		pcm := ear.Last(300 * time.Millisecond)
		ok := len(pcm) > 0
		var got []string
		for hz, present := range want {
			lvl := audio.ToneLevel(pcm, audio.SampleRate, hz)
			got = append(got, fmt.Sprintf("%.0f Hz %.3f", hz, lvl))
			if present != (lvl > 0.1) || (!present && lvl > 0.03) {
				ok = false
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			sort.Strings(got)
			t.Fatalf("%s hears %s; want %v", who, strings.Join(got, ", "), want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Three Parlos: A calls B, then C (which holds B), and merges the two calls.
// Each party hears the other two; A muted, B and C still hear each other;
// split, C is held and B hears A alone; merged again and B hangs up, A and C
// go on as an ordinary call.
func TestConferenceThreeWayIntegration(t *testing.T) {
	const toneA, toneB, toneC = 440.0, 660.0, 880.0
	a := newTestPhone(t, testPhoneOpts{toneHz: toneA})
	b := newTestPhone(t, testPhoneOpts{toneHz: toneB})
	c := newTestPhone(t, testPhoneOpts{toneHz: toneC})
	ab, _ := connect(t, a, b)
	ac, _ := connect(t, a, c)
	a.rec.wait(t, EventCallHeld, ab, 5*time.Second) // placing the second call held the first
	ctx := ctxT(t, 30*time.Second)

	start := time.Now()
	if err := a.Merge(ctx, ab, ac); err != nil {
		t.Fatalf("Merge: %v", err)
	}
	for _, id := range []string{ab, ac} {
		ev := a.rec.wait(t, EventCallMerged, id, 5*time.Second)
		if !ev.Session.Conference || ev.Session.Paused {
			t.Fatalf("merged session %s: conference=%v paused=%v", id, ev.Session.Conference, ev.Session.Paused)
		}
	}
	earB, earC := b.lastEar(t), c.lastEar(t)
	earAB, earAC := a.earAt(t, 0), a.earAt(t, 1)
	waitMix(t, "B", earB, map[float64]bool{toneA: true, toneC: true}, 10*time.Second)
	waitMix(t, "C", earC, map[float64]bool{toneA: true, toneB: true}, 10*time.Second)
	waitMix(t, "A from B", earAB, map[float64]bool{toneB: true, toneC: false}, 5*time.Second)
	waitMix(t, "A from C", earAC, map[float64]bool{toneC: true, toneB: false}, 5*time.Second)
	t.Logf("merge → every party hears the other two: %s", time.Since(start).Round(time.Millisecond))

	if err := a.Mute(ab); err != nil {
		t.Fatal(err)
	}
	if err := a.Mute(ac); err != nil {
		t.Fatal(err)
	}
	waitMix(t, "B, A muted", earB, map[float64]bool{toneA: false, toneC: true}, 5*time.Second)
	waitMix(t, "C, A muted", earC, map[float64]bool{toneA: false, toneB: true}, 5*time.Second)
	if err := a.Unmute(ab); err != nil {
		t.Fatal(err)
	}
	if err := a.Unmute(ac); err != nil {
		t.Fatal(err)
	}

	if err := a.Unmerge(ctx, ac, true); err != nil {
		t.Fatalf("Unmerge: %v", err)
	}
	a.rec.wait(t, EventCallUnmerged, ab, 5*time.Second)
	if s := a.sessionOf(t, ab); s.Conference {
		t.Fatal("a conference of one call is still a conference")
	}
	waitMix(t, "B after the split", earB, map[float64]bool{toneA: true, toneC: false}, 5*time.Second)

	if err := a.Merge(ctx, ab, ac); err != nil {
		t.Fatalf("Merge again: %v", err)
	}
	waitMix(t, "C merged again", earC, map[float64]bool{toneA: true, toneB: true}, 10*time.Second)
	if err := b.Hangup(ctx, b.onlyCallID(t)); err != nil {
		t.Fatal(err)
	}
	a.rec.wait(t, EventCallEnded, ab, 5*time.Second)
	waitMix(t, "C after B left", earC, map[float64]bool{toneA: true, toneB: false}, 5*time.Second)
	if s := a.sessionOf(t, ac); s.Conference {
		t.Fatal("the remaining call still says conference")
	}

	if err := a.Merge(ctx, ac); !errors.Is(err, ErrConference) {
		t.Fatalf("merging one call: %v, want ErrConference", err)
	}
}

// A recorded call's file holds both parties at the right times: both
// tones, then (A muted) B's alone; paused time is left out; the session
// says recording and recordingPaused as it goes.
func TestCallRecordingIntegration(t *testing.T) {
	for _, format := range []RecordingFormat{RecordingOggOpus, RecordingWAV} {
		t.Run(format.String(), func(t *testing.T) {
			a := newTestPhone(t, testPhoneOpts{toneHz: 440})
			b := newTestPhone(t, testPhoneOpts{toneHz: 660})
			id, _ := connect(t, a, b)
			a.waitTone(t, 660, 5*time.Second)
			dir := filepath.Join(t.TempDir(), "recordings")
			path, err := a.StartRecording(id, RecordingOptions{Dir: dir, Format: format})
			if err != nil {
				t.Fatalf("StartRecording: %v", err)
			}
			ev := a.rec.wait(t, EventRecordingStarted, id, 2*time.Second)
			if p, _ := ev.Payload.(RecordingPayload); !ev.Session.Recording || p.Path != path {
				t.Fatalf("onRecordingStarted: recording=%v payload=%v", ev.Session.Recording, ev.Payload)
			}
			if _, err := a.StartRecording(id, RecordingOptions{Dir: dir}); !errors.Is(err, ErrRecording) {
				t.Fatalf("second StartRecording: %v, want ErrRecording", err)
			}
			time.Sleep(1500 * time.Millisecond) // 1.5 s of both parties
			if err := a.PauseRecording(id); err != nil {
				t.Fatal(err)
			}
			if ev := a.rec.wait(t, EventRecordingPaused, id, 2*time.Second); !ev.Session.RecordingPaused {
				t.Fatal("onRecordingPaused without recordingPaused")
			}
			time.Sleep(time.Second) // left out of the file
			if err := a.Mute(id); err != nil {
				t.Fatal(err)
			}
			if err := a.ResumeRecording(id); err != nil {
				t.Fatal(err)
			}
			time.Sleep(1500 * time.Millisecond) // 1.5 s of B alone
			if err := a.StopRecording(id); err != nil {
				t.Fatalf("StopRecording: %v", err)
			}
			if ev := a.rec.wait(t, EventRecordingStopped, id, 2*time.Second); ev.Session.Recording {
				t.Fatal("onRecordingStopped with recording still true")
			}
			pcm := readRecording(t, path, format)
			secs := float64(len(pcm)) / audio.SampleRate
			t.Logf("%s: %.2f s of audio for 3.0 s recorded (1.0 s paused)", filepath.Base(path), secs)
			if secs < 2.6 || secs > 3.4 {
				t.Fatalf("%.2f s in the file, want ~3.0 (paused time left out)", secs)
			}
			both := pcm[int(0.3*audio.SampleRate):int(1.2*audio.SampleRate)]
			bOnly := pcm[len(pcm)-int(1.2*audio.SampleRate) : len(pcm)-int(0.3*audio.SampleRate)]
			for _, c := range []struct {
				what    string
				pcm     []int16
				hz      float64
				present bool
			}{
				{"before the pause: A", both, 440, true},
				{"before the pause: B", both, 660, true},
				{"A muted: A", bOnly, 440, false},
				{"A muted: B", bOnly, 660, true},
			} {
				lvl := audio.ToneLevel(c.pcm, audio.SampleRate, c.hz)
				if c.present != (lvl > 0.1) || (!c.present && lvl > 0.03) {
					t.Errorf("%s: %.0f Hz at %.3f, want present=%v", c.what, c.hz, lvl, c.present)
				}
			}
		})
	}
}

func readRecording(t *testing.T, path string, format RecordingFormat) []int16 {
	t.Helper()
	if format == RecordingWAV {
		pcm, rate, err := audio.ReadWAV(path)
		if err != nil || rate != audio.SampleRate {
			t.Fatalf("%s: %d Hz, %v", path, rate, err)
		}
		return pcm
	}
	pcm, err := audio.ReadOggOpus(path)
	if err != nil {
		t.Fatal(err)
	}
	return pcm
}

// sessionOf is the current session of one of tp's calls.
func (tp *testPhone) sessionOf(t *testing.T, id string) *CallSession {
	t.Helper()
	for _, s := range tp.Calls() {
		if s.SipCallID == id {
			return s
		}
	}
	t.Fatalf("no call %s", id)
	return nil
}

// onlyCallID is the ID of tp's one call.
func (tp *testPhone) onlyCallID(t *testing.T) string {
	t.Helper()
	calls := tp.Calls()
	if len(calls) != 1 {
		t.Fatalf("%d calls, want 1", len(calls))
	}
	return calls[0].SipCallID
}
