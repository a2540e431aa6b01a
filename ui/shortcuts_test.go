package ui

import (
	"os"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
)

func TestEveryShortcutTriggersItsAction(t *testing.T) {
	tests := []struct {
		act action
		// setup prepares the window; check reports whether the action ran.
		setup func(h *harness, f *fakeEngine) string
		check func(h *harness, f *fakeEngine, id string) bool
	}{
		{actFocusDial, nil, func(h *harness, _ *fakeEngine, _ string) bool { return h.w.win.Canvas().Focused() == h.w.dial }},
		{actCall, func(h *harness, _ *fakeEngine) string { h.w.dial.SetText("sip:carol@127.0.0.1"); return "" },
			func(_ *harness, f *fakeEngine, _ string) bool { return f.has("Call sip:carol@127.0.0.1") }},
		{actAnswer, ringing, func(_ *harness, f *fakeEngine, id string) bool { return f.has("Accept " + id) }},
		{actReject, ringing, func(_ *harness, f *fakeEngine, id string) bool { return f.has("Reject " + id + " 486") }},
		{actHangup, established, func(_ *harness, f *fakeEngine, id string) bool { return f.has("Hangup " + id) }},
		{actMute, established, func(_ *harness, f *fakeEngine, id string) bool { return f.has("Mute " + id) }},
		{actHold, established, func(_ *harness, f *fakeEngine, id string) bool { return f.has("Hold " + id) }},
		{actShare, established, func(h *harness, _ *fakeEngine, _ string) bool { return h.w.picker != nil }},
		{actSettings, nil, func(h *harness, _ *fakeEngine, _ string) bool { return h.w.settingsOpen }},
		{actNextCall, twoCalls, func(h *harness, f *fakeEngine, id string) bool { return h.w.activeID == id }},
		{actPrevCall, twoCalls, func(h *harness, f *fakeEngine, id string) bool { return h.w.activeID == id }},
		{actFullscreen, established, func(h *harness, _ *fakeEngine, _ string) bool {
			return h.w.fullscreen && h.w.win.FullScreen()
		}},
		{actFit, established, func(h *harness, _ *fakeEngine, _ string) bool { return h.w.view.video.Original() }},
		{actDialpad, nil, func(h *harness, _ *fakeEngine, _ string) bool { return h.w.dialpad.Visible() }},
		{actHistory, nil, func(h *harness, _ *fakeEngine, _ string) bool { return h.w.history != nil }},
		{actIgnore, ringing, func(h *harness, _ *fakeEngine, id string) bool { e := h.w.find(id); return e != nil && e.ignored }},
		{actDND, nil, func(h *harness, f *fakeEngine, _ string) bool { return h.w.dnd && f.dndOn() }},
		{actTransfer, established, func(h *harness, _ *fakeEngine, id string) bool {
			return h.w.transferDlg != nil && h.w.transferDlg.callID == id
		}},
		{actChat, established, func(h *harness, _ *fakeEngine, id string) bool {
			return h.w.view.chat.showing(id) && h.w.win.Canvas().Focused() == h.w.view.chat.entry
		}},
	}
	seen := map[action]bool{}
	for _, tt := range tests {
		seen[tt.act] = true
		d := defOf(tt.act)
		t.Run(d.label, func(t *testing.T) {
			f := newFakeEngine()
			h := newHarness(t, f, harnessOpts{})
			id := ""
			if tt.setup != nil {
				id = tt.setup(h, f)
			}
			h.shortcut(tt.act)
			h.waitFor(shortcutLabel(tt.act)+" → "+d.label, func() bool { return tt.check(h, f, id) })
		})
	}
	for _, d := range shortcutDefs {
		if !seen[d.act] {
			t.Errorf("shortcut %q (%s) has no test", d.label, shortcutLabel(d.act))
		}
	}
}

func ringing(h *harness, f *fakeEngine) string {
	id := f.incoming("Dave", "1004")
	h.waitFor("prompt", func() bool { return len(h.w.incoming.showing()) == 1 })
	return id
}

func established(h *harness, f *fakeEngine) string {
	id := f.incoming("Erin", "1005")
	f.establish(id)
	h.waitFor("active", func() bool { e := h.w.active(); return e != nil && stateOf(e.s) == stateActive })
	f.setVideo(id, &fakeFrames{}) // so fit/fullscreen have a view
	return id
}

// twoCalls makes two calls with the first active and returns the other:
// next and previous both wrap to it.
func twoCalls(h *harness, f *fakeEngine) string {
	a := f.incoming("Frank", "1006")
	f.establish(a)
	b := f.incoming("Grace", "1007")
	f.establish(b)
	h.waitFor("two calls", func() bool { return len(h.w.calls) == 2 && stateOf(h.w.calls[1].s) == stateActive })
	h.w.setActive(a)
	return b
}

func TestDialFieldForwardsShortcuts(t *testing.T) {
	f := newFakeEngine()
	h := newHarness(t, f, harnessOpts{})
	h.w.win.Canvas().Focus(h.w.dial)
	test.Type(h.w.dial, "1234")
	// The focused entry receives the shortcut, as the desktop driver does.
	h.w.dial.TypedShortcut(defOf(actCall).shortcut())
	h.waitFor("call from the focused dial field", func() bool { return f.has("Call 1234") })
	// Its own shortcuts still work.
	h.w.dial.TypedShortcut(&fyne.ShortcutSelectAll{})
	if h.w.dial.SelectedText() != "1234" {
		t.Errorf("select-all in the dial field selected %q", h.w.dial.SelectedText())
	}
}

func TestShortcutsUseDefaultModifierAndAreUnique(t *testing.T) {
	names := map[string]string{}
	for _, d := range shortcutDefs {
		s := d.shortcut()
		if s.Modifier&fyne.KeyModifierShortcutDefault == 0 {
			t.Errorf("%s lacks the platform default modifier", d.label)
		}
		if other, dup := names[s.ShortcutName()]; dup {
			t.Errorf("%s and %s share %s", d.label, other, s.ShortcutName())
		}
		names[s.ShortcutName()] = d.label
	}
	var _ fyne.Shortcut = &desktop.CustomShortcut{}
}

func TestTooltipsNameShortcuts(t *testing.T) {
	h := newHarness(t, newFakeEngine(), harnessOpts{})
	for _, c := range []struct {
		tip  string
		want action
	}{
		{h.w.callBtn.Tip(), actCall},
		{h.w.view.hangup.Tip(), actHangup},
		{h.w.view.mute.Tip(), actMute},
		{h.w.view.hold.Tip(), actHold},
		{h.w.view.share.Tip(), actShare},
		{h.w.view.transfer.Tip(), actTransfer},
		{h.w.view.chatBtn.Tip(), actChat},
	} {
		if !strings.Contains(c.tip, shortcutLabel(c.want)) {
			t.Errorf("tooltip %q does not name %s", c.tip, shortcutLabel(c.want))
		}
	}
}

// SHORTCUTS.md lists every shortcut.
func TestShortcutsDocumented(t *testing.T) {
	doc, err := os.ReadFile("SHORTCUTS.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range shortcutDefs {
		label := strings.Replace(shortcutLabel(d.act), "Cmd", "Ctrl", 1)
		if !strings.Contains(string(doc), label+" ") && !strings.Contains(string(doc), label+",") {
			t.Errorf("SHORTCUTS.md does not list %s (%s)", label, d.label)
		}
	}
}
