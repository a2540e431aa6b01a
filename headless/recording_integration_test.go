package headless_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine/audio"
)

// TestHeadlessRecordingsFolderIntegration: `parlo headless --recordings
// DIR` is the folder of a record command without path. A (440 Hz) calls
// B (660 Hz, auto-answer), records without naming a folder: the file is in
// DIR and, once stopped, holds both tones.
func TestHeadlessRecordingsFolderIntegration(t *testing.T) {
	bin := buildParlo(t)
	tr := &transcript{start: time.Now()}
	defer func() {
		if t.Failed() {
			t.Logf("transcript:\n%s", tr)
		}
	}()
	dir := filepath.Join(t.TempDir(), "calls", "recorded")
	a := startDriver(t, bin, "A", tr, "--listen", "udp:127.0.0.1:0", "--username", "alice", "--audio-in", "tone:440", "--recordings", dir)
	b := startDriver(t, bin, "B", tr, "--listen", "udp:127.0.0.1:0", "--username", "bob", "--audio-in", "tone:660", "--auto-answer")
	_, ready := b.waitFor("ready", 0, 10*time.Second, func(o map[string]any) bool { return o["event"] == "ready" })
	a.waitFor("ready", 0, 10*time.Second, func(o map[string]any) bool { return o["event"] == "ready" })

	res := a.do(map[string]any{"cmd": "call", "to": ready["contact"]})
	id, _ := dig(res, "session.sipCallId").(string)
	a.waitEvent("onMediaConnected", id, 10*time.Second)

	rec := a.do(map[string]any{"cmd": "record", "call": id})
	path, _ := rec["path"].(string)
	if filepath.Dir(path) != dir || !strings.HasSuffix(path, ".ogg") {
		t.Fatalf("record without path wrote %q, want an .ogg in --recordings %s", path, dir)
	}
	if dig(rec, "session.recording") != true {
		t.Fatalf("record reply without recording=true: %v", rec)
	}
	time.Sleep(2 * time.Second) // two seconds of call to record
	a.do(map[string]any{"cmd": "record-stop", "call": id})
	pcm, err := audio.ReadOggOpus(path)
	if err != nil {
		t.Fatalf("reading the recording: %v", err)
	}
	if len(pcm) < audio.SampleRate {
		t.Fatalf("recording holds %d samples, want at least a second", len(pcm))
	}
	last := pcm[len(pcm)-audio.SampleRate:]
	for _, hz := range []float64{440, 660} {
		if lvl := audio.ToneLevel(last, audio.SampleRate, hz); lvl < 0.05 {
			t.Errorf("the recording's last second has %.0f Hz at %.3f, want both parties", hz, lvl)
		}
	}
	for _, d := range []*driver{a, b} {
		d.do(map[string]any{"cmd": "quit"})
		if err := d.waitExit(10 * time.Second); err != nil {
			t.Fatalf("%s exit: %v", d.name, err)
		}
	}
}
