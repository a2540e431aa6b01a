package ui

import (
	"fmt"
	"net/url"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"github.com/parlo-voip/parlo/callengine"
	"github.com/parlo-voip/parlo/callengine/audio"
	"github.com/parlo-voip/parlo/internal/history"
)

// Availability is the do-not-disturb and auto-answer part of the engine
// (*callengine.Phone has it). Without it those settings are only stored.
type Availability interface {
	SetDoNotDisturb(on bool)
	SetAutoAnswer(always, honourHeader bool)
}

// desktopOptions are the desktop-integration inputs of a main window.
type desktopOptions struct {
	// history is the call history store; nil hides History's content.
	history *history.Store
	// soundOut opens the output the tones play on (default: the system's
	// default device); nil sounds disables tones entirely when noSounds.
	soundOut func() (audio.Sink, error)
	noSounds bool
	// historyChanged signals a call's end written (history.Recorder).
	historyChanged <-chan struct{}
	// logPath is shown in Settings.
	logPath string
	// version is "0.1.0 (build 1)" for About.
	version string
	// devices are the phone's sound devices for Settings (lists, meter,
	// live changes); nil shows only "System default".
	devices AudioDevices
	// accountProblem names why the configured account is not in use (bad
	// URI, unreadable CA file): the window starts in direct mode and says so.
	accountProblem string
}

// initDesktop sets up tray, close-to-tray, sounds and the settings the
// engine honours. Called once from newMainWindow.
func (w *mainWindow) initDesktop() {
	d := w.opts.desktop
	if !d.noSounds {
		w.sounds = newSoundPlayer(d.soundOut, w.log)
	}
	s, _ := LoadSettings(w.app.Preferences(), nil)
	w.dnd = s.DoNotDisturb
	w.applyAvailability(s)
	w.tray = &trayState{}
	w.win.SetCloseIntercept(w.closeWindow)
}

// applyAvailability hands DND and auto-answer to the engine.
func (w *mainWindow) applyAvailability(s Settings) {
	if a, ok := w.eng.(Availability); ok {
		a.SetDoNotDisturb(s.DoNotDisturb)
		a.SetAutoAnswer(s.AutoAnswer, s.HonourAnswerMode)
	}
}

// setDND turns do-not-disturb on or off: stored, given to the engine, and
// the ringtone stops at once.
func (w *mainWindow) setDND(on bool) {
	w.dnd = on
	w.app.Preferences().SetBool(prefDND, on)
	if a, ok := w.eng.(Availability); ok {
		a.SetDoNotDisturb(on)
	}
	if on {
		w.action.info("Do not disturb is on: incoming calls are answered busy")
	} else {
		w.action.info("Do not disturb is off")
	}
	if w.sounds != nil {
		w.sounds.set(wantedSound(w.calls, w.dnd))
	}
	w.refresh()
}

// ignore silences a ringing call (the newest when id is empty): no
// ringtone, no prompt; it rings on at the caller's end until they give up,
// and then counts as missed.
func (w *mainWindow) ignore(id string) {
	if id == "" {
		if e := w.ringingCall(); e != nil {
			id = e.id()
		}
	}
	e := w.find(id)
	if e == nil || stateOf(e.s) != stateRinging {
		return
	}
	e.ignored = true
	if w.sounds != nil {
		w.sounds.set(wantedSound(w.calls, w.dnd))
	}
	w.refresh()
}

// closeWindow hides the window to the tray when the setting asks for it
// and there is a tray; otherwise it quits.
func (w *mainWindow) closeWindow() {
	_, hasTray := w.app.(desktop.App)
	if hasTray && w.app.Preferences().BoolWithFallback(prefCloseToTray, true) {
		w.win.Hide()
		if !w.tray.hiddenOnce {
			w.tray.hiddenOnce = true
			w.app.SendNotification(fyne.NewNotification("Parlo is still running",
				"Calls still ring. Use the tray icon to show the window or quit."))
		}
		return
	}
	w.app.Quit()
}

// showWindow brings the window back from the tray.
func (w *mainWindow) showWindow() {
	w.win.Show()
	w.win.RequestFocus()
}

// trayState remembers what the tray shows, so it is only rebuilt when that
// changes.
type trayState struct {
	key        string
	menu       *fyne.Menu
	sharing    bool
	iconSet    bool
	hiddenOnce bool
}

// trayStatus is the registration line of the tray menu.
func (w *mainWindow) trayStatus() string {
	switch {
	case w.opts.accountURI == "":
		return "Direct mode: " + w.eng.ContactURI()
	case w.regStatus == "":
		return "Not registered"
	}
	return w.regStatus
}

// trayMenu builds the tray menu from the state.
func (w *mainWindow) trayMenu() *fyne.Menu {
	status := fyne.NewMenuItem(w.trayStatus(), nil)
	status.Disabled = true
	items := []*fyne.MenuItem{status, fyne.NewMenuItemSeparator(),
		fyne.NewMenuItem("Show Parlo", w.showWindow)}
	dnd := fyne.NewMenuItem("Do not disturb", func() { w.setDND(!w.dnd) })
	dnd.Checked = w.dnd
	items = append(items, dnd)
	items = append(items, w.contacts.trayItems()...)
	if sc := w.sharingCall(); sc != nil {
		id := sc.id()
		items = append(items, fyne.NewMenuItem("Stop sharing "+sc.shareMonitor, func() { w.stopShare(id) }))
	}
	quit := fyne.NewMenuItem("Quit", w.app.Quit)
	quit.IsQuit = true
	items = append(items, fyne.NewMenuItemSeparator(), quit)
	return fyne.NewMenu("Parlo", items...)
}

// refreshTray updates the tray menu and icon (a red-dot icon while sharing,
// so it shows even with the window hidden).
func (w *mainWindow) refreshTray() {
	if w.tray == nil {
		return
	}
	m := w.trayMenu()
	var labels []string
	for _, it := range m.Items {
		labels = append(labels, fmt.Sprintf("%s|%v|%v", it.Label, it.Checked, it.Disabled))
	}
	sharing := w.sharingCall() != nil
	key := strings.Join(labels, "\n")
	desk, ok := w.app.(desktop.App)
	if key != w.tray.key {
		w.tray.key, w.tray.menu = key, m
		if ok {
			desk.SetSystemTrayMenu(m)
		}
	}
	if !w.tray.iconSet || sharing != w.tray.sharing {
		w.tray.iconSet, w.tray.sharing = true, sharing
		if ok {
			if sharing {
				desk.SetSystemTrayIcon(SharingIcon())
			} else {
				desk.SetSystemTrayIcon(Icon())
			}
		}
	}
}

// notifyEvent sends desktop notifications: an incoming call, and a missed
// one (ended without answer, not rejected by us). Do-not-disturb calls are
// refused by the engine and never ring, so they only go to the history.
func (w *mainWindow) notifyEvent(ev callengine.Event, e *callEntry) {
	if e == nil || e.s.IsCaller {
		return
	}
	switch ev.Name {
	case callengine.EventCallIncoming:
		if !e.notified && !w.dnd {
			e.notified = true
			body := e.remoteNumber()
			if body == "" {
				body = "is calling you"
			}
			w.app.SendNotification(fyne.NewNotification("Incoming call: "+e.remoteName(), body))
		}
	case callengine.EventCallCanceled:
		if e.s.AnswerTime == nil && !e.s.Answered {
			w.app.SendNotification(fyne.NewNotification("Missed call: "+e.remoteName(),
				"at "+w.opts.now().Format("15:04")))
		}
	}
}

// showAbout shows the version and where things are.
func (w *mainWindow) showAbout() {
	v := w.opts.desktop.version
	if v == "" {
		if m := w.app.Metadata(); m.Version != "" {
			v = fmt.Sprintf("%s (build %d)", m.Version, m.Build)
		} else {
			v = "development build"
		}
	}
	title := widget.NewLabelWithStyle("Parlo "+v, fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	body := widget.NewLabel("A SIP softphone with screen sharing.")
	body.Alignment = fyne.TextAlignCenter
	site, _ := url.Parse("https://github.com/parlo-voip/parlo")
	logLine := widget.NewLabel("")
	if p := w.opts.desktop.logPath; p != "" {
		logLine.SetText("Log: " + p)
	}
	logLine.Wrapping = fyne.TextWrapBreak
	logo := canvas.NewImageFromResource(Icon())
	logo.FillMode = canvas.ImageFillContain
	logo.SetMinSize(fyne.NewSquareSize(96))
	content := container.NewVBox(container.NewCenter(logo), title, body,
		container.NewCenter(widget.NewHyperlink("github.com/parlo-voip/parlo", site)), logLine)
	d := dialog.NewCustom("About Parlo", "Close", content, w.win)
	d.Resize(fyne.NewSize(420, 0).Max(d.MinSize()))
	d.Show()
}

// watchHistory reloads an open History window when the recorder wrote a
// call's end. Owner: mainWindow; ends with w.ctx.
func (w *mainWindow) watchHistory() {
	ch := w.opts.desktop.historyChanged
	if ch == nil {
		return
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		for {
			select {
			case <-w.ctx.Done():
				return
			case <-ch:
				w.opts.do(func() {
					if w.history != nil {
						w.history.reload()
					}
				})
			}
		}
	}()
}
