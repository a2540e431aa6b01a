package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
)

// Merge joins the two answered calls; the view says so and offers Split,
// which takes the active call out and holds it.
func TestMergeAndSplitButtons(t *testing.T) {
	f := newFakeEngine()
	h := newHarness(t, f, harnessOpts{})
	first := established(h, f)
	if !h.w.view.conf.merge.Disabled() {
		t.Fatal("Merge enabled with a single call")
	}
	second := f.incoming("Grace", "1007")
	f.establish(second)
	h.waitFor("two calls", func() bool { return len(h.w.mergeable()) == 2 })
	h.w.setActive(first)
	h.waitFor("Merge enabled", func() bool { return !h.w.view.conf.merge.Disabled() })
	test.Tap(h.w.view.conf.merge)
	h.waitFor("merged", func() bool {
		a := h.w.active()
		return a != nil && a.s.Conference && strings.Contains(h.w.view.detail.Text, "in conference")
	})
	if got := h.w.view.conf.merge.Text; got != "Split" {
		t.Fatalf("button says %q in a conference, want Split", got)
	}
	for _, e := range h.w.calls {
		if st := stateOf(e.s); (st == stateActive || st == stateHeld) && !f.has("Merge "+strings.Join(h.w.mergeable(), " ")) {
			t.Fatalf("engine merges %v, want every answered call", f.logged())
		}
	}
	id := h.w.active().id()
	test.Tap(h.w.view.conf.merge)
	h.waitFor("split", func() bool { return f.has("Unmerge " + id + " true") })
}

// Record shows the REC mark while recording, "REC paused" while paused,
// and where the file went once stopped.
func TestRecordButtonAndMark(t *testing.T) {
	f := newFakeEngine()
	h := newHarness(t, f, harnessOpts{})
	id := established(h, f)
	c := h.w.view.conf
	if c.mark.Text != "" || c.pause.Visible() {
		t.Fatal("recording mark or Pause shown before recording")
	}
	test.Tap(c.record)
	h.waitFor("REC", func() bool { return c.mark.Text == "● REC" && c.pause.Visible() && c.record.Text == "Stop recording" })
	test.Tap(c.pause)
	h.waitFor("REC paused", func() bool { return c.mark.Text == "REC paused" && f.has("PauseRecording "+id) })
	test.Tap(c.pause)
	h.waitFor("REC again", func() bool { return c.mark.Text == "● REC" && f.has("ResumeRecording "+id) })
	test.Tap(c.record)
	h.waitFor("stopped", func() bool {
		return c.mark.Text == "" && !c.pause.Visible() && strings.Contains(h.w.action.text(), "Recording saved to /tmp/rec.ogg")
	})
}
