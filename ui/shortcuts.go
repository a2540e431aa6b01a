package ui

import (
	"runtime"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"
)

// action is one user action reachable by keyboard.
type action int

const (
	actFocusDial action = iota
	actCall
	actAnswer
	actReject
	actHangup
	actMute
	actHold
	actShare
	actSettings
	actNextCall
	actPrevCall
	actFullscreen
	actFit
	actDialpad
	actHistory
	actIgnore
	actDND
	actTransfer
	actChat
)

// shortcutDef binds an action to a key with the platform's default modifier
// (Ctrl, or Cmd on macOS), plus Shift for the in-call actions so none
// collides with text editing in the dial field.
type shortcutDef struct {
	act   action
	key   fyne.KeyName
	shift bool
	label string // menu label
}

var shortcutDefs = []shortcutDef{
	{actFocusDial, fyne.KeyL, false, "Focus dial field"},
	{actCall, fyne.KeyReturn, false, "Call"},
	{actAnswer, fyne.KeyA, true, "Answer"},
	{actReject, fyne.KeyD, true, "Reject"},
	{actHangup, fyne.KeyE, true, "Hang up"},
	{actMute, fyne.KeyM, true, "Mute / unmute"},
	{actHold, fyne.KeyH, true, "Hold / resume"},
	{actShare, fyne.KeyS, true, "Share screen / stop sharing"},
	{actSettings, fyne.KeyComma, false, "Settings…"},
	{actNextCall, fyne.KeyDown, false, "Next call"},
	{actPrevCall, fyne.KeyUp, false, "Previous call"},
	{actFullscreen, fyne.KeyF, true, "Fullscreen video"},
	{actFit, fyne.Key0, false, "Video 1:1 / fit"},
	{actDialpad, fyne.KeyP, true, "Dial pad"},
	{actHistory, fyne.KeyR, false, "Call history…"},
	{actIgnore, fyne.KeyI, true, "Ignore (silence the ringtone)"},
	{actDND, fyne.KeyB, true, "Do not disturb"},
	{actTransfer, fyne.KeyT, true, "Transfer…"},
	{actChat, fyne.KeyC, true, "Chat"},
}

func (d shortcutDef) shortcut() *desktop.CustomShortcut {
	mod := fyne.KeyModifierShortcutDefault
	if d.shift {
		mod |= fyne.KeyModifierShift
	}
	return &desktop.CustomShortcut{KeyName: d.key, Modifier: mod}
}

func defOf(a action) shortcutDef {
	for _, d := range shortcutDefs {
		if d.act == a {
			return d
		}
	}
	return shortcutDef{}
}

// shortcutLabel is the shortcut as users read it, e.g. "Ctrl+Shift+M".
func shortcutLabel(a action) string {
	d := defOf(a)
	parts := []string{"Ctrl"}
	if runtime.GOOS == "darwin" {
		parts = []string{"Cmd"}
	}
	if d.shift {
		parts = append(parts, "Shift")
	}
	key := string(d.key)
	switch d.key {
	case fyne.KeyReturn:
		key = "Enter"
	case fyne.KeyComma:
		key = ","
	}
	return strings.Join(append(parts, key), "+")
}

// shortcutTable runs the actions of a main window.
type shortcutTable struct {
	w   *mainWindow
	run map[action]func()
}

func newShortcutTable(w *mainWindow) *shortcutTable {
	return &shortcutTable{w: w, run: map[action]func(){
		actFocusDial:  w.focusDial,
		actCall:       w.placeCall,
		actAnswer:     func() { w.answer("") },
		actReject:     func() { w.reject("") },
		actHangup:     w.hangup,
		actMute:       w.toggleMute,
		actHold:       w.toggleHold,
		actShare:      w.toggleShare,
		actSettings:   w.openSettings,
		actNextCall:   func() { w.selectCall(1) },
		actPrevCall:   func() { w.selectCall(-1) },
		actFullscreen: w.toggleFullscreen,
		actFit:        w.toggleFit,
		actDialpad:    w.toggleDialpad,
		actHistory:    w.openHistory,
		actIgnore:     func() { w.ignore("") },
		actDND:        func() { w.setDND(!w.dnd) },
		actTransfer:   w.openTransfer,
		actChat:       w.toggleChat,
	}}
}

// install adds every shortcut to the canvas, plus F11 for fullscreen and
// Escape to leave it.
func (t *shortcutTable) install(c fyne.Canvas) {
	for _, d := range shortcutDefs {
		f := t.run[d.act]
		c.AddShortcut(d.shortcut(), func(fyne.Shortcut) { f() })
	}
	// With nothing else focused, keypad characters go to the active call
	// as tones, as on a desk phone (the call view itself takes them when
	// focused: callKeys).
	c.SetOnTypedRune(func(r rune) {
		if isDTMF(r) && t.w.dtmfCall() != nil {
			t.w.sendDTMF(string(r))
		}
	})
	c.SetOnTypedKey(func(e *fyne.KeyEvent) {
		switch e.Name {
		case fyne.KeyF11:
			t.w.toggleFullscreen()
		case fyne.KeyEscape:
			if t.w.fullscreen {
				t.w.toggleFullscreen()
			}
		}
	})
}

// trigger runs the action bound to s, if any; the dial field forwards its
// shortcuts here because a focused entry swallows canvas shortcuts.
func (t *shortcutTable) trigger(s fyne.Shortcut) bool {
	cs, ok := s.(*desktop.CustomShortcut)
	if !ok {
		return false
	}
	for _, d := range shortcutDefs {
		if d.shortcut().ShortcutName() == cs.ShortcutName() {
			t.run[d.act]()
			return true
		}
	}
	return false
}

// menu is the main menu; every item shows its shortcut.
func (t *shortcutTable) menu() *fyne.MainMenu {
	item := func(a action) *fyne.MenuItem {
		d := defOf(a)
		it := fyne.NewMenuItem(d.label, t.run[a])
		it.Shortcut = d.shortcut()
		return it
	}
	return fyne.NewMainMenu(
		fyne.NewMenu("Parlo", item(actSettings), item(actDND), fyne.NewMenuItemSeparator(),
			fyne.NewMenuItem("About Parlo", t.w.showAbout)),
		fyne.NewMenu("Call", item(actFocusDial), item(actCall), fyne.NewMenuItemSeparator(),
			item(actAnswer), item(actReject), item(actIgnore), item(actHangup), fyne.NewMenuItemSeparator(),
			item(actMute), item(actHold), item(actShare), item(actTransfer), item(actChat), fyne.NewMenuItemSeparator(),
			item(actNextCall), item(actPrevCall)),
		fyne.NewMenu("View", item(actHistory), item(actDialpad), item(actFullscreen), item(actFit)),
	)
}

// dialEntry is the dial field. A focused Entry receives every shortcut
// itself, so it hands Parlo's own shortcuts on to the window.
type dialEntry struct {
	widget.Entry
	w *mainWindow
}

func newDialEntry(w *mainWindow) *dialEntry {
	e := &dialEntry{w: w}
	e.ExtendBaseWidget(e)
	return e
}

func (e *dialEntry) TypedShortcut(s fyne.Shortcut) {
	if e.w.shortcuts != nil && e.w.shortcuts.trigger(s) {
		return
	}
	e.Entry.TypedShortcut(s)
}
