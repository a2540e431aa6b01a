package ui

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/parlo-voip/parlo/callengine"
	"github.com/parlo-voip/parlo/internal/history"
)

func menuLabels(m *fyne.Menu) []string {
	var out []string
	for _, it := range m.Items {
		l := it.Label
		if it.IsSeparator {
			l = "—"
		}
		if it.Checked {
			l = "✓ " + l
		}
		out = append(out, l)
	}
	return out
}

func menuItem(m *fyne.Menu, prefix string) *fyne.MenuItem {
	for _, it := range m.Items {
		if strings.HasPrefix(it.Label, prefix) {
			return it
		}
	}
	return nil
}

func TestTrayMenuFollowsState(t *testing.T) {
	h, f, id := activeFakeCall(t)
	m := h.app.trayMenu()
	if m == nil {
		t.Fatal("no tray menu set")
	}
	want := "Direct mode: sip:parlo@192.0.2.10:5060|—|Show Parlo|Do not disturb|—|Quit"
	if got := strings.Join(menuLabels(m), "|"); got != want {
		t.Fatalf("tray menu = %s\nwant        %s", got, want)
	}
	if !m.Items[0].Disabled || !m.Items[len(m.Items)-1].IsQuit {
		t.Error("status line must be disabled and Quit marked IsQuit")
	}
	if h.app.trayIcon() != Icon() && h.app.trayIcon().Name() != Icon().Name() {
		t.Errorf("tray icon %v, want the app icon", h.app.trayIcon())
	}

	// Do not disturb from the tray reaches the engine and checks the item.
	menuItem(m, "Do not disturb").Action()
	h.waitFor("DND on", func() bool { return f.dndOn() })
	m = h.app.trayMenu()
	if it := menuItem(m, "Do not disturb"); it == nil || !it.Checked {
		t.Fatalf("DND item not checked after toggling: %v", menuLabels(m))
	}
	if !h.app.Preferences().Bool(prefDND) {
		t.Error("DND not saved in preferences")
	}

	// Sharing (engine event only) adds Stop sharing and switches the icon.
	f.change(id, callengine.EventScreenShareStarted, func(s *callengine.CallSession) { s.Screensharing = true })
	h.waitFor("Stop sharing in the tray", func() bool { return menuItem(h.app.trayMenu(), "Stop sharing") != nil })
	if got := h.app.trayIcon().Name(); got != SharingIcon().Name() {
		t.Errorf("tray icon while sharing = %s, want %s", got, SharingIcon().Name())
	}
	menuItem(h.app.trayMenu(), "Stop sharing").Action()
	h.waitFor("StopScreenSharing", func() bool { return f.has("StopScreenSharing " + id) })
	f.change(id, callengine.EventScreenShareEnded, func(s *callengine.CallSession) { s.Screensharing = false })
	h.waitFor("tray back to normal", func() bool {
		return menuItem(h.app.trayMenu(), "Stop sharing") == nil && h.app.trayIcon().Name() == Icon().Name()
	})

	// Show Parlo shows the window hidden by closing it (close-to-tray).
	h.w.closeWindow()
	h.waitFor("close-to-tray notice", func() bool {
		n := h.app.sent()
		return len(n) > 0 && n[len(n)-1].Title == "Parlo is still running"
	})
	menuItem(h.app.trayMenu(), "Show Parlo").Action()
}

func TestTrayShowsRegistrationState(t *testing.T) {
	f := newFakeEngine()
	h := newHarness(t, f, harnessOpts{accountURI: "sip:alice@parlo.test"})
	f.emitGlobal(callengine.EventRegistered, nil)
	h.waitFor("registered in tray", func() bool {
		return h.app.trayMenu().Items[0].Label == "Registered as sip:alice@parlo.test"
	})
	f.emitGlobal(callengine.EventRegistrationFailed, callengine.RegistrationFailedPayload{Status: 403, Reason: "Forbidden"})
	h.waitFor("failure in tray", func() bool {
		return strings.Contains(h.app.trayMenu().Items[0].Label, "refused the username or password (403 Forbidden)")
	})
	if !h.w.addAccount.Visible() || h.w.addAccount.Text != "Fix account" {
		t.Error("a failed registration should offer Fix account")
	}
}

func TestNotificationsIncomingAndMissed(t *testing.T) {
	f := newFakeEngine()
	h := newHarness(t, f, harnessOpts{})
	id := f.incoming("Dave", "1004")
	h.waitFor("incoming notification", func() bool { return len(h.app.sent()) == 1 })
	if n := h.app.sent()[0]; n.Title != "Incoming call: Dave" || n.Content != "1004" {
		t.Fatalf("incoming notification = %+v", n)
	}
	// The caller gives up: missed.
	f.change(id, callengine.EventCallCanceled, func(s *callengine.CallSession) {
		s.SipStatus, s.Ringing = callengine.SipStatusTerminated, false
	})
	h.waitFor("missed notification", func() bool { return len(h.app.sent()) == 2 })
	if n := h.app.sent()[1]; n.Title != "Missed call: Dave" {
		t.Fatalf("missed notification = %+v", n)
	}

	// Answered, then ended: no missed-call notification.
	id2 := f.incoming("Erin", "1005")
	f.establish(id2)
	f.end(id2)
	h.settle()
	for _, n := range h.app.sent()[2:] {
		if strings.HasPrefix(n.Title, "Missed") {
			t.Errorf("answered call notified as missed: %+v", n)
		}
	}

	// With do-not-disturb on, no incoming-call notification.
	h.w.setDND(true)
	before := len(h.app.sent())
	f.incoming("Frank", "1006")
	h.settle()
	for _, n := range h.app.sent()[before:] {
		if strings.HasPrefix(n.Title, "Incoming") {
			t.Errorf("DND still notified: %+v", n)
		}
	}
}

// waitSound waits until the player plays k, with loud frames written.
func waitSound(h *harness, k soundKind) {
	h.t.Helper()
	h.waitFor("sound "+k.String(), func() bool { return h.w.sounds.playing() == k })
}

func TestSoundsFollowCalls(t *testing.T) {
	f := newFakeEngine()
	h := newHarness(t, f, harnessOpts{})

	id := f.incoming("Dave", "1004")
	waitSound(h, soundRingtone)
	h.waitFor("ringtone frames on the output", func() bool {
		_, _, loud, _ := h.sink.counts()
		return h.w.sounds.framesPlayed(soundRingtone) >= 5 && loud >= 3
	})
	// Ignore silences it; the call keeps ringing.
	h.w.ignore(id)
	waitSound(h, soundNone)
	if e := h.w.find(id); e == nil || stateOf(e.s) != stateRinging {
		t.Fatal("ignore ended the call; it must only silence it")
	}
	n := h.w.sounds.framesPlayed(soundRingtone)
	h.settle()
	if got := h.w.sounds.framesPlayed(soundRingtone); got > n+1 {
		t.Fatalf("ringtone still playing after ignore: %d → %d frames", n, got)
	}

	// A second ringing call rings again; DND silences it.
	id2 := f.incoming("Erin", "1005")
	waitSound(h, soundRingtone)
	h.w.setDND(true)
	waitSound(h, soundNone)
	h.w.setDND(false)
	waitSound(h, soundRingtone)

	// Answering stops the ringtone (the ignored call still rings silently).
	f.establish(id2)
	waitSound(h, soundNone)
	// Hanging up an answered call plays the hangup tone once.
	f.end(id2)
	waitSound(h, soundHangup)
	h.waitFor("hangup tone done", func() bool { return h.w.sounds.playing() == soundNone })
	if h.w.sounds.framesPlayed(soundHangup) < 20 {
		t.Errorf("hangup tone wrote %d frames, want its whole 0.5 s (25)", h.w.sounds.framesPlayed(soundHangup))
	}

	// An outgoing call ringing at the far end plays ringback until early
	// media arrives.
	h.w.dial.SetText("sip:carol@127.0.0.1")
	h.w.placeCall()
	var out string
	h.waitFor("outgoing call", func() bool {
		for _, e := range h.w.calls {
			if e.s.IsCaller {
				out = e.id()
				return true
			}
		}
		return false
	})
	f.change(out, callengine.EventProgress, func(s *callengine.CallSession) { s.Ringing = true })
	waitSound(h, soundRingback)
	f.change(out, callengine.EventEarlyMedia, nil)
	waitSound(h, soundNone)
}

func TestSoundsWithoutSoundDevice(t *testing.T) {
	f := newFakeEngine()
	h := newHarness(t, f, harnessOpts{noSoundDevice: true})
	id := f.incoming("Dave", "1004")
	h.waitFor("device open attempted", func() bool { return h.w.sounds.deviceErrors() >= 1 })
	if got := h.w.sounds.playing(); got != soundNone {
		t.Fatalf("without a device the player reports %v playing", got)
	}
	// The phone works on: the prompt is there and answering works.
	if len(h.w.incoming.showing()) != 1 {
		t.Fatal("no incoming prompt without a sound device")
	}
	h.w.answer(id)
	h.waitFor("accept", func() bool { return f.has("Accept " + id) })
}

func TestSoundOutputWithoutDeviceOnThisMachine(t *testing.T) {
	// The real default output: on a machine without a sound card (CI) the
	// open fails and the player stays silent without blocking; with one,
	// the ringtone plays. Either way set returns at once.
	p := newSoundPlayer(nil, testLogger(t))
	defer p.close()
	start := time.Now()
	p.set(soundRingtone)
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Fatalf("set blocked for %v", d)
	}
	deadline := time.Now().Add(10 * time.Second)
	for p.deviceErrors() == 0 && p.framesPlayed(soundRingtone) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the player neither played nor reported a missing device")
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.set(soundNone)
}

func TestHistoryWindowSearchAndCallBack(t *testing.T) {
	st, err := history.Open(filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	base := time.Now().Add(-time.Hour)
	for i, r := range []history.Record{
		{CallID: "h1", Direction: history.Outgoing, Remote: "sip:alice@127.0.0.1", RemoteName: "Alice", Outcome: history.OutcomeAnswered, Duration: 75 * time.Second, Shared: true},
		{CallID: "h2", Direction: history.Incoming, Remote: "sip:bob@127.0.0.1", RemoteName: "Bob", Outcome: history.OutcomeMissed},
		{CallID: "h3", Direction: history.Incoming, Remote: "1003", Outcome: history.OutcomeRejected, Reason: "486 do not disturb"},
	} {
		r.Start = base.Add(time.Duration(i) * time.Minute)
		if err := st.Begin(r); err != nil {
			t.Fatal(err)
		}
	}
	f := newFakeEngine()
	h := newHarness(t, f, harnessOpts{desktop: desktopOptions{history: st}})
	h.shortcut(actHistory)
	hw := h.w.history
	if hw == nil {
		t.Fatal("Ctrl+R did not open the history")
	}
	if len(hw.records) != 3 || hw.records[0].CallID != "h3" {
		t.Fatalf("history lists %d records, first %+v; want 3, newest first", len(hw.records), hw.records)
	}
	if got := historyDetail(hw.records[2]); got != "outgoing · answered · 1:15 · shared screen · sip:alice@127.0.0.1" {
		t.Errorf("detail line = %q", got)
	}
	test.Type(hw.search, "bob")
	if len(hw.records) != 1 || hw.records[0].CallID != "h2" {
		t.Fatalf("search bob: %+v", hw.records)
	}
	// Enter in the search field calls the selected (first) result back.
	hw.search.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	h.waitFor("call back Bob", func() bool { return f.has("Call sip:bob@127.0.0.1") })

	// Arrow keys move the selection; double-click calls back too.
	hw.search.SetText("")
	hw.search.TypedKey(&fyne.KeyEvent{Name: fyne.KeyDown})
	if hw.sel != 1 {
		t.Fatalf("Down: selection %d, want 1", hw.sel)
	}
	row := newHistoryRow(hw)
	row.set(2, hw.records[2])
	row.DoubleTapped(nil)
	h.waitFor("call back Alice", func() bool { return f.has("Call sip:alice@127.0.0.1") })
}

func TestFirstRunDirectModeOffersAddAccount(t *testing.T) {
	f := newFakeEngine()
	h := newHarness(t, f, harnessOpts{})
	if !strings.Contains(h.w.status.Text, "others can call you at sip:parlo@192.0.2.10:5060") {
		t.Errorf("status = %q, want the SIP address", h.w.status.Text)
	}
	if !h.w.addAccount.Visible() || h.w.addAccount.Text != "Add account" {
		t.Fatal("no Add account button in direct mode")
	}
	test.Tap(h.w.addAccount)
	if !h.w.settingsOpen {
		t.Fatal("Add account did not open Settings")
	}

	// A saved account that the engine refused is named, in direct mode.
	h2 := newHarness(t, newFakeEngine(), harnessOpts{desktop: desktopOptions{
		accountProblem: ExplainAccountError(fmt.Errorf("%w: field URI %q needs user@host", callengine.ErrBadAccount, "sip:pbx")),
	}})
	want := `Account settings: the SIP URI "sip:pbx" needs user@host — fix it in Settings — direct mode at sip:parlo@192.0.2.10:5060`
	if h2.w.status.Text != want {
		t.Errorf("status = %q\nwant     %q", h2.w.status.Text, want)
	}
}

func TestExplainAccountError(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&callengine.RegistrationError{StatusCode: 403, Reason: "Forbidden"}, "The registrar refused the username or password (403 Forbidden) — check them in Settings"},
		{fmt.Errorf("wrapped: %w", &callengine.RegistrationError{StatusCode: 404, Reason: "Not Found"}), "The registrar does not know this account (404 Not Found) — check the SIP URI"},
		{fmt.Errorf("%w: field Password is empty", callengine.ErrBadAccount), "Account settings: the password is empty — fix it in Settings"},
		{fmt.Errorf("%w: REGISTER to 10.9.9.9:5060: transaction timed out", callengine.ErrRegistration), "The registrar did not answer — check its address and your network (10.9.9.9:5060)"},
		{fmt.Errorf("%w: REGISTER to 127.0.0.1:9: dial tcp 127.0.0.1:9: connect: connection refused", callengine.ErrRegistration), "The registrar refused the connection — check its address, port and transport (127.0.0.1:9)"},
		{errors.New("odd"), "Registration failed: odd"},
	} {
		if got := ExplainAccountError(tc.err); got != tc.want {
			t.Errorf("ExplainAccountError(%v)\n got %q\nwant %q", tc.err, got, tc.want)
		}
	}
}

func TestSettingsApplyDNDAndAutoAnswer(t *testing.T) {
	f := newFakeEngine()
	h := newHarness(t, f, harnessOpts{prefs: func(p fyne.Preferences) { p.SetBool(prefAnswerMode, true) }})
	f.mu.Lock()
	mode := f.answerMode
	f.mu.Unlock()
	if !mode {
		t.Fatal("saved Answer-Mode setting not given to the engine at start")
	}
	h.w.openSettings()
	form := h.w.settingsForm
	form.dnd.SetChecked(true)
	form.autoAnswer.SetChecked(true)
	form.answerMode.SetChecked(false)
	h.w.saveSettings(form.settings())
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.dnd || !f.autoAnswer || f.answerMode {
		t.Fatalf("engine got dnd=%v autoAnswer=%v answerMode=%v, want true true false", f.dnd, f.autoAnswer, f.answerMode)
	}
	if !h.w.dnd {
		t.Error("window does not know DND is on")
	}
}

func TestAboutShowsVersion(t *testing.T) {
	h := newHarness(t, newFakeEngine(), harnessOpts{desktop: desktopOptions{version: "0.1.0 (build 1)", logPath: "/tmp/x/parlo.log"}})
	h.w.showAbout()
	found := false
	for _, o := range test.LaidOutObjects(h.w.win.Canvas().Overlays().Top()) {
		if l, ok := o.(*widget.Label); ok && l.Text == "Parlo 0.1.0 (build 1)" {
			found = true
		}
	}
	if !found {
		t.Fatal("About does not show the version")
	}
}
