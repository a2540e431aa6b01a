package ui

import (
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/parlo-voip/parlo/callengine"
)

// dtmfSent is what the fake was asked to send, in order, as "call tone".
func dtmfSent(f *fakeEngine) []string {
	var out []string
	for _, l := range f.logged() {
		if s, ok := strings.CutPrefix(l, "SendDTMF "); ok {
			out = append(out, s)
		}
	}
	return out
}

func keypadKey(h *harness, key string) *widget.Button {
	return h.w.view.keypadKeys[slices.Index(dtmfKeys, key)]
}

func TestKeypadSendsDTMFToTheActiveCall(t *testing.T) {
	f := newFakeEngine()
	h := newHarness(t, f, harnessOpts{})
	b := twoCalls(h, f) // the first call is active
	a := h.w.activeID
	if h.w.view.keypadBox.Visible() {
		t.Fatal("keypad shown before asked for")
	}
	test.Tap(h.w.view.keypadBtn)
	if !h.w.view.keypadBox.Visible() || h.w.win.Canvas().Focused() != h.w.view.keys {
		t.Fatal("the Keypad button should show the keypad and give the call view the keyboard")
	}
	for _, k := range []string{"1", "#", "0"} {
		test.Tap(keypadKey(h, k))
	}
	h.waitFor("three tones", func() bool { return len(dtmfSent(f)) == 3 })
	if got, want := dtmfSent(f), []string{a + " 1", a + " #", a + " 0"}; !slices.Equal(got, want) {
		t.Fatalf("tones sent %q, want %q", got, want)
	}
	if got := h.w.view.dtmfLine.Text; got != "Sent 1#0" {
		t.Errorf("keypad line %q, want %q", got, "Sent 1#0")
	}
	h.w.setActive(b)
	test.Tap(keypadKey(h, "5"))
	h.waitFor("tone to the other call", func() bool { return len(dtmfSent(f)) == 4 })
	if got := dtmfSent(f)[3]; got != b+" 5" {
		t.Fatalf("after switching calls the tone went as %q, want %q", got, b+" 5")
	}
	// On hold no tone can go: the keys are disabled.
	f.change(b, callengine.EventCallHeld, func(s *callengine.CallSession) { s.Paused = true })
	h.waitFor("held", func() bool { return keypadKey(h, "5").Disabled() })
	test.Tap(keypadKey(h, "5"))
	h.settle()
	if n := len(dtmfSent(f)); n != 4 {
		t.Fatalf("a tone went to a held call: %q", dtmfSent(f))
	}
	// The peer's tones show too.
	f.emit(callengine.EventDTMF, b, callengine.DTMFPayload{Tone: "7", Method: "rfc4733"})
	h.waitFor("received tone", func() bool { return strings.Contains(h.w.view.dtmfLine.Text, "Received 7") })
}

func TestDialPadSendsDTMFDuringACallAndDialsOtherwise(t *testing.T) {
	f := newFakeEngine()
	h := newHarness(t, f, harnessOpts{})
	pad := func(key string) *widget.Button {
		return h.w.dialpad.Objects[slices.Index([]string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"}, key)].(*widget.Button)
	}
	test.Tap(pad("4"))
	test.Tap(pad("2"))
	if h.w.dial.Text != "42" || len(dtmfSent(f)) != 0 {
		t.Fatalf("without a call the pad should dial: field %q, tones %q", h.w.dial.Text, dtmfSent(f))
	}
	h.w.dial.SetText("")
	id := established(h, f)
	test.Tap(pad("9"))
	test.Tap(pad("*"))
	h.waitFor("tones", func() bool { return len(dtmfSent(f)) == 2 })
	if got, want := dtmfSent(f), []string{id + " 9", id + " *"}; !slices.Equal(got, want) || h.w.dial.Text != "" {
		t.Fatalf("during a call the pad sent %q (want %q) and typed %q in the dial field", got, want, h.w.dial.Text)
	}
}

func TestTypedDigitsGoAsDTMFWhileTheCallViewHasFocus(t *testing.T) {
	f := newFakeEngine()
	h := newHarness(t, f, harnessOpts{})
	id := established(h, f)

	// Typing in the dial field is dialling, not tones.
	h.w.win.Canvas().Focus(h.w.dial)
	test.Type(h.w.dial, "55")
	h.settle()
	if len(dtmfSent(f)) != 0 || h.w.dial.Text != "55" {
		t.Fatalf("typing in the dial field sent tones %q", dtmfSent(f))
	}

	// A click on the call view gives it the keyboard; digits, * and # go
	// as tones, other characters nowhere.
	test.Tap(h.w.view.keys)
	if h.w.win.Canvas().Focused() != h.w.view.keys || !h.w.view.keys.frame.Visible() {
		t.Fatal("a click on the call view should focus it and show the focus frame")
	}
	test.Type(h.w.view.keys, "3x*b")
	h.waitFor("typed tones", func() bool { return len(dtmfSent(f)) == 3 })
	if got, want := dtmfSent(f), []string{id + " 3", id + " *", id + " B"}; !slices.Equal(got, want) {
		t.Fatalf("typed tones %q, want %q", got, want)
	}
	// Escape gives the keyboard back.
	h.w.view.keys.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if h.w.win.Canvas().Focused() != nil || h.w.view.keys.frame.Visible() {
		t.Fatal("Escape should unfocus the call view")
	}
	// With nothing focused the window still sends tones to the call.
	h.w.win.Canvas().OnTypedRune()('8')
	h.waitFor("unfocused tone", func() bool { return len(dtmfSent(f)) == 4 })
	if got := dtmfSent(f)[3]; got != id+" 8" {
		t.Fatalf("unfocused tone %q", got)
	}
}

// The Transfer dialog: "Transfer now" is a blind transfer of the call.
func TestTransferDialogBlind(t *testing.T) {
	f := newFakeEngine()
	h := newHarness(t, f, harnessOpts{})
	id := established(h, f)
	test.Tap(h.w.view.transfer)
	d := h.w.transferDlg
	if d == nil || d.callID != id {
		t.Fatal("the Transfer button did not open the dialog for the active call")
	}
	if !d.now.Disabled() || !d.consult.Disabled() {
		t.Error("transfer buttons enabled without a target")
	}
	test.Type(d.entry, "sip:carol@127.0.0.1")
	if d.now.Disabled() || d.consult.Disabled() {
		t.Fatal("transfer buttons still disabled with a target")
	}
	test.Tap(d.now)
	h.waitFor("Transfer", func() bool { return f.has("Transfer " + id + " sip:carol@127.0.0.1") })
	h.waitFor("dialog closed and call ended", func() bool {
		return h.w.transferDlg == nil && stateOf(h.w.find(id).s) == stateEnded
	})
	if f.has("StartAttendedTransfer " + id + " sip:carol@127.0.0.1") {
		t.Error("a blind transfer also started an attended one")
	}
}

// "Consult first" holds the call and calls the target; then Complete or
// Cancel, from the held call's view.
func TestTransferDialogAttended(t *testing.T) {
	for _, finish := range []string{"complete", "cancel"} {
		t.Run(finish, func(t *testing.T) {
			f := newFakeEngine()
			h := newHarness(t, f, harnessOpts{})
			held := established(h, f)
			h.shortcut(actTransfer)
			d := h.w.transferDlg
			if d == nil {
				t.Fatal("no transfer dialog")
			}
			test.Type(d.entry, "1009")
			test.Tap(d.consult)
			h.waitFor("consultation call active", func() bool {
				a := h.w.active()
				return f.has("StartAttendedTransfer "+held+" 1009") && a != nil && a.id() != held && h.w.xfers[held] == a.id()
			})
			consult := h.w.activeID
			if stateOf(h.w.find(held).s) != stateHeld {
				t.Fatal("the transferred call is not on hold")
			}
			if !h.w.view.xfer.visible() || !h.w.view.xfer.complete.Disabled() {
				t.Fatal("while the target rings, the transfer bar should show with Complete disabled")
			}
			f.establish(consult)
			h.waitFor("Complete enabled", func() bool { return !h.w.view.xfer.complete.Disabled() })

			// The held call's view shows the same bar.
			h.w.setActive(held)
			if !h.w.view.xfer.visible() || h.w.view.xfer.complete.Text != "Complete transfer" || h.w.view.xfer.cancel.Text != "Cancel transfer" {
				t.Fatal("the held call's view lacks Complete transfer / Cancel transfer")
			}
			if !h.w.view.transfer.Disabled() {
				t.Error("a second transfer can start while one is under way")
			}
			switch finish {
			case "complete":
				test.Tap(h.w.view.xfer.complete)
				h.waitFor("CompleteAttendedTransfer", func() bool { return f.has("CompleteAttendedTransfer " + held + " " + consult) })
				h.waitFor("held call ended, bar gone", func() bool {
					return stateOf(h.w.find(held).s) == stateEnded && len(h.w.xfers) == 0
				})
			case "cancel":
				test.Tap(h.w.view.xfer.cancel)
				h.waitFor("CancelAttendedTransfer", func() bool { return f.has("CancelAttendedTransfer " + held + " " + consult) })
				h.waitFor("held call resumed and active", func() bool {
					a := h.w.active()
					return a != nil && a.id() == held && stateOf(a.s) == stateActive && !h.w.view.xfer.visible()
				})
				if stateOf(h.w.find(consult).s) != stateEnded {
					t.Error("the consultation call survived the cancel")
				}
			}
		})
	}
}

func TestChatShowsReceivedAndSends(t *testing.T) {
	f := newFakeEngine()
	h := newHarness(t, f, harnessOpts{})
	id := established(h, f) // Erin
	f.emit(callengine.EventMessage, id, callengine.MessagePayload{From: "sip:erin@h", ContentType: "application/json", Body: `{"type":"message/TYPE_CHAT","content":"hi there"}`})
	f.emit(callengine.EventChat, id, callengine.ChatPayload{From: "sip:erin@h", Content: "hi there"})
	h.waitFor("unread count", func() bool { return h.w.view.chatBtn.Text == "Chat (1)" })
	if !strings.Contains(h.w.action.text(), "Erin: hi there") {
		t.Errorf("a message with the panel closed should show in the action bar, got %q", h.w.action.text())
	}
	test.Tap(h.w.view.chatBtn)
	if got := h.w.view.chat.texts(); !slices.Equal(got, []string{"Erin: hi there"}) {
		t.Fatalf("chat panel shows %q", got)
	}
	if h.w.view.chatBtn.Text != "Hide chat" || h.w.find(id).unread != 0 {
		t.Errorf("opening the chat should clear the unread count: button %q", h.w.view.chatBtn.Text)
	}
	if h.w.win.Canvas().Focused() != h.w.view.chat.entry {
		t.Error("opening the chat should focus its field")
	}
	test.Type(h.w.view.chat.entry, "hello Erin")
	test.Tap(h.w.view.chat.send)
	h.waitFor("SendChat", func() bool { return f.has("SendChat " + id + " hello Erin") })
	h.waitFor("own line", func() bool { return len(h.w.view.chat.texts()) == 2 })
	if got := h.w.view.chat.texts()[1]; got != "You: hello Erin" || h.w.view.chat.entry.Text != "" {
		t.Fatalf("own message shown as %q, field %q", got, h.w.view.chat.entry.Text)
	}
	// A plain-text MESSAGE (a non-Wazo peer) is chat too; with the panel
	// open it is read at once.
	f.emit(callengine.EventMessage, id, callengine.MessagePayload{From: "sip:erin@h", ContentType: "text/plain", Body: "plain one"})
	h.waitFor("plain message", func() bool { return len(h.w.view.chat.texts()) == 3 })
	if got := h.w.view.chat.texts()[2]; got != "Erin: plain one" || h.w.find(id).unread != 0 {
		t.Fatalf("plain MESSAGE shown as %q (unread %d)", got, h.w.find(id).unread)
	}
	// Enter in the field sends as well.
	test.Type(h.w.view.chat.entry, "bye")
	h.w.view.chat.entry.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	h.waitFor("SendChat by Enter", func() bool { return f.has("SendChat " + id + " bye") })
}

// Each call keeps its own chat.
func TestChatIsPerCall(t *testing.T) {
	f := newFakeEngine()
	h := newHarness(t, f, harnessOpts{})
	b := twoCalls(h, f)
	a := h.w.activeID
	h.w.toggleChat()
	f.emit(callengine.EventChat, b, callengine.ChatPayload{Content: "for b"})
	h.waitFor("b's unread", func() bool { return h.w.find(b).unread == 1 })
	if len(h.w.view.chat.texts()) != 0 {
		t.Fatalf("a's chat shows b's message: %q", h.w.view.chat.texts())
	}
	h.w.setActive(b)
	if got := h.w.view.chat.texts(); !slices.Equal(got, []string{"Grace: for b"}) || h.w.find(b).unread != 0 {
		t.Fatalf("b's chat shows %q", got)
	}
	_ = a
}

func TestQualityIndicatorFollowsNetworkStats(t *testing.T) {
	f := newFakeEngine()
	h := newHarness(t, f, harnessOpts{})
	id := established(h, f)
	h.waitFor("monitoring", func() bool { return f.has("StartNetworkMonitoring " + id + " 2s") })
	q := h.w.view.quality
	if q.b.Visible() {
		t.Fatal("quality shown before any sample")
	}
	for _, tt := range []struct {
		st        callengine.NetworkStats
		text      string
		tipPieces []string
	}{
		{callengine.NetworkStats{Quality: "good", RTTMs: 38.2, LossPercent: 0, JitterMs: 4}, "Good", []string{"round trip 38 ms", "packet loss 0.0 %", "jitter 4 ms"}},
		{callengine.NetworkStats{Quality: "poor", RTTMs: 420, LossPercent: 12.5, JitterMs: 80}, "Poor", []string{"round trip 420 ms", "packet loss 12.5 %"}},
		{callengine.NetworkStats{Quality: "fair", RTTMs: 180, LossPercent: 2.25, JitterMs: 30}, "Fair", []string{"round trip 180 ms", "packet loss 2.2 %"}},
	} {
		f.emit(callengine.EventNetworkStats, id, callengine.NetworkStatsPayload{Stats: tt.st})
		h.waitFor("indicator "+tt.text, func() bool { return q.b.Visible() && q.b.Text == tt.text })
		for _, p := range tt.tipPieces {
			if !strings.Contains(q.b.Tip(), p) {
				t.Errorf("%s: tooltip %q lacks %q", tt.text, q.b.Tip(), p)
			}
		}
	}
	// More events of the call do not ask for monitoring again.
	f.change(id, callengine.EventCallMuted, func(s *callengine.CallSession) { s.Muted = true })
	h.settle()
	n := 0
	for _, l := range f.logged() {
		if strings.HasPrefix(l, "StartNetworkMonitoring ") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("StartNetworkMonitoring called %d times, want once", n)
	}
	f.end(id)
	h.waitFor("indicator hidden after the call", func() bool { return !q.b.Visible() })
}

// bareEngine has only the Engine methods: no call control.
type bareEngine struct{ Engine }

func TestCallControlDisabledWithoutEngineSupport(t *testing.T) {
	f := newFakeEngine()
	h := newHarness(t, bareEngine{f}, harnessOpts{})
	id := f.incoming("Erin", "1005")
	f.establish(id)
	h.waitFor("active", func() bool { e := h.w.active(); return e != nil && stateOf(e.s) == stateActive })
	v := h.w.view
	for _, c := range []struct {
		name string
		b    interface {
			Disabled() bool
			Tip() string
		}
		tip string
	}{{"keypad", v.keypadBtn, dtmfUnavailable}, {"transfer", v.transfer, transferUnavailable}, {"chat", v.chatBtn, chatUnavailable}} {
		if !c.b.Disabled() || c.b.Tip() != c.tip {
			t.Errorf("%s: disabled %v, tip %q; want disabled with %q", c.name, c.b.Disabled(), c.b.Tip(), c.tip)
		}
	}
	h.shortcut(actTransfer)
	h.shortcut(actChat)
	h.settle()
	if h.w.transferDlg != nil || v.chat.open {
		t.Error("shortcuts opened call control the engine cannot do")
	}
	// The dial pad dials.
	test.Tap(h.w.dialpad.Objects[0].(*widget.Button))
	if h.w.dial.Text != "1" {
		t.Errorf("dial pad typed %q", h.w.dial.Text)
	}
	if f.has("StartNetworkMonitoring " + id + " 2s") {
		t.Error("monitoring asked of an engine without it")
	}
}
