package ui

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/parlo-voip/parlo/callengine"
	pwidget "github.com/parlo-voip/parlo/ui/internal/widget"
)

// Timeouts of engine actions started from the GUI. They bound how long a
// progress line can show; the user can cancel sooner.
const (
	callTimeout   = 60 * time.Second // INVITE until answer or give-up
	actionTimeout = 15 * time.Second // hold, resume, accept, hang up, share
	// systemDialogTimeout bounds a share whose screen the person picks in
	// the system's dialog (Wayland), which takes longer than a click.
	systemDialogTimeout = 2 * time.Minute
	// maxEndedCalls is how many ended calls stay in the list as history.
	maxEndedCalls = 10
)

type windowOptions struct {
	accountURI string
	secrets    SecretStore
	log        *slog.Logger
	// do runs f on the UI goroutine (fyne.Do); tests queue instead.
	do func(f func())
	// now is the clock for durations.
	now func() time.Time
	// desktop is the tray, sounds, history and first-run part.
	desktop desktopOptions
	// contactsPath is the local contacts file ("" for the default).
	contactsPath string
}

// mainWindow is the main window and the GUI's state: the calls as the
// engine's events describe them and which one is active.
type mainWindow struct {
	app    fyne.App
	win    fyne.Window
	eng    Engine
	sharer Sharer // nil: the engine cannot share screens
	// shareState, when the engine has it, is what the sharing indicators
	// follow (see ShareState).
	shareState ShareState
	ctl        callControl
	video      func(callID string) (FrameSource, bool)
	opts       windowOptions
	log        *slog.Logger

	calls    []*callEntry // oldest first
	activeID string
	// wantActive is a call placed from the GUI that becomes active when
	// its first event arrives.
	wantActive string
	// shareRequested remembers the monitor asked for per call, to name it
	// in the banner when the started event does not.
	shareRequested map[string]string
	regStatus      string
	picker         *sharePicker
	settingsOpen   bool
	// handled counts the engine events applied (tests wait on it).
	handled      int
	settingsForm *settingsForm
	fullscreen   bool

	statusIcon *widget.Icon
	status     *widget.Label
	dial       *dialEntry
	dir        *directoryPanel
	callBtn    *pwidget.TipButton
	dialpad    *fyne.Container
	list       *callList
	view       *callView
	incoming   *incomingPrompts
	// xferRequests are the far end's transfer requests awaiting consent.
	xferRequests *transferRequests
	action       *actionBar
	content      fyne.CanvasObject
	contacts     *contactsPanel // watched extensions' lamps (contacts.go)
	shortcuts    *shortcutTable

	// Call control (callcontrol.go): the keypad's send queue, attended
	// transfers under way (held call → consultation call), the open
	// transfer dialog.
	dtmfQueue   chan dtmfKey
	xfers       map[string]string
	transferDlg *transferDialog

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	sub    EventStream

	// Desktop integration (desktop.go): do-not-disturb as last set, the
	// tones, the tray, the History window.
	dnd        bool
	sounds     *soundPlayer
	tray       *trayState
	history    *historyWindow
	addAccount *widget.Button
}

func newMainWindow(a fyne.App, eng Engine, opts windowOptions) *mainWindow {
	if opts.log == nil {
		opts.log = slog.Default()
	}
	if opts.do == nil {
		opts.do = fyne.Do
	}
	if opts.now == nil {
		opts.now = time.Now
	}
	if opts.secrets == nil {
		opts.secrets = KeyringSecrets{}
	}
	w := &mainWindow{
		app: a, eng: eng, opts: opts,
		log:            opts.log.With("component", "ui"),
		shareRequested: map[string]string{},
		xfers:          map[string]string{},
	}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	if s, ok := eng.(Sharer); ok {
		w.sharer = s
	}
	if s, ok := eng.(ShareState); ok {
		w.shareState = s
	}
	w.video = remoteVideoFunc(eng)
	w.ctl = callControlOf(eng)
	w.win = a.NewWindow("Parlo")
	w.win.SetIcon(Icon())
	w.build()
	w.shortcuts = newShortcutTable(w)
	w.shortcuts.install(w.win.Canvas())
	w.win.SetMainMenu(w.shortcuts.menu())
	w.win.Resize(fyne.NewSize(980, 640))
	w.initDesktop()
	w.refresh()
	return w
}

func (w *mainWindow) build() {
	w.contacts = newContactsPanel(w)
	w.statusIcon = widget.NewIcon(theme.InfoIcon())
	w.status = widget.NewLabel("")
	w.status.Truncation = fyne.TextTruncateEllipsis
	copyBtn := pwidget.NewTipButton("", theme.ContentCopyIcon(), "Copy my SIP address", func() {
		w.app.Clipboard().SetContent(w.eng.ContactURI())
		w.action.info("Copied " + w.eng.ContactURI())
	})
	copyBtn.Importance = widget.LowImportance
	settingsBtn := pwidget.NewTipButton("", theme.SettingsIcon(), "Settings ("+shortcutLabel(actSettings)+")", w.openSettings)
	settingsBtn.Importance = widget.LowImportance
	historyBtn := pwidget.NewTipButton("", theme.HistoryIcon(), "Call history ("+shortcutLabel(actHistory)+")", w.openHistory)
	historyBtn.Importance = widget.LowImportance
	w.addAccount = widget.NewButtonWithIcon("Add account", theme.ContentAddIcon(), w.openSettings)
	w.addAccount.Hide()
	top := container.NewBorder(nil, nil, w.statusIcon,
		container.NewHBox(w.addAccount, w.contacts.voicemailButton(), copyBtn, historyBtn, settingsBtn), w.status)

	w.dial = newDialEntry(w)
	w.dial.SetPlaceHolder("Name, number or SIP URI")
	w.dial.OnSubmitted = func(string) { w.placeCall() }
	w.dir = newDirectoryPanel(w)
	w.dial.OnChanged = w.dir.queryChanged
	w.callBtn = pwidget.NewTipButton("Call", theme.MailForwardIcon(), "Call ("+shortcutLabel(actCall)+")", w.placeCall)
	w.callBtn.Importance = widget.HighImportance
	padBtn := pwidget.NewTipButton("", theme.GridIcon(), "Dial pad ("+shortcutLabel(actDialpad)+")", w.toggleDialpad)
	padBtn.Importance = widget.LowImportance
	dialRow := container.NewBorder(nil, nil, nil, container.NewHBox(w.dir.addButton(), padBtn, w.callBtn), w.dial)
	w.dialpad = w.buildDialpad()
	w.dialpad.Hide()

	w.list = newCallList(w)
	callsHeader := widget.NewLabelWithStyle("Calls", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	calls := container.NewVSplit(w.list.widget(), w.contacts.object())
	calls.Offset = 0.55
	left := container.NewBorder(container.NewVBox(dialRow, w.dir.object(), w.dialpad, callsHeader), nil, nil, nil, calls)
	w.dir.parent = left

	w.view = newCallView(w)
	split := container.NewHSplit(left, w.view.object())
	split.Offset = 0.36

	w.incoming = newIncomingPrompts(w)
	w.xferRequests = newTransferRequests(w)
	w.action = newActionBar(w)
	w.content = container.NewBorder(
		container.NewVBox(top, widget.NewSeparator(), w.incoming.object(), w.xferRequests.object()),
		w.action.object(), nil, nil, split)
	w.win.SetContent(w.content)
}

func (w *mainWindow) buildDialpad() *fyne.Container {
	keys := []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"}
	var buttons []fyne.CanvasObject
	for _, k := range keys {
		buttons = append(buttons, widget.NewButton(k, func() {
			// During a call the pad is the call's keypad, as on a desk phone.
			if w.dtmfCall() != nil && w.ctl.dtmf != nil {
				w.sendDTMF(k)
				return
			}
			w.dial.SetText(w.dial.Text + k)
		}))
	}
	return container.NewGridWithColumns(3, buttons...)
}

func (w *mainWindow) toggleDialpad() {
	if w.dialpad.Visible() {
		w.dialpad.Hide()
	} else {
		w.dialpad.Show()
	}
}

// start subscribes to the engine, loads the calls it already has, starts
// the clock and registers the account if there is one.
func (w *mainWindow) start() {
	w.sub = w.eng.Subscribe()
	w.watchDevices()
	for _, s := range w.eng.Calls() {
		w.apply(callengine.Event{Name: "snapshot", Session: s})
	}
	if w.opts.accountURI != "" {
		w.regStatus = "Registering " + w.opts.accountURI + "…"
		w.run("Registering", actionTimeout, func(ctx context.Context) error {
			err := w.eng.Register(ctx)
			if err != nil {
				// The engine also sends onRegistrationFailed; this covers
				// errors before any request (bad account).
				msg := ExplainAccountError(err)
				w.opts.do(func() {
					w.regStatus = msg
					w.refresh()
				})
				return errors.New(msg)
			}
			return nil
		})
	}
	w.refresh()
	w.watchHistory()
	w.startDTMFSender()
	w.wg.Add(2)
	sub := w.sub
	go func() { // owner: mainWindow; ends when sub is closed in stop
		defer w.wg.Done()
		for ev := range sub.C() {
			w.opts.do(func() { w.handle(ev) })
		}
	}()
	go func() { // owner: mainWindow; ends with w.ctx
		defer w.wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		changed := w.shareChanged()
		for {
			select {
			case <-w.ctx.Done():
				return
			case <-t.C:
				w.opts.do(w.tick)
			case <-changed:
				w.opts.do(func() {
					if w.reconcileSharing() {
						w.refresh()
					}
				})
			}
		}
	}()
}

// stop ends the goroutines of the window; the phone stays open.
func (w *mainWindow) stop() {
	w.cancel()
	w.dir.close()
	if w.picker != nil {
		w.picker.close()
	}
	if w.sub != nil {
		w.sub.Close()
	}
	w.view.stopVideo()
	w.view.levels.stop()
	w.wg.Wait()
	if w.sounds != nil {
		w.sounds.close()
	}
}

// handle applies one engine event. It runs on the UI goroutine.
func (w *mainWindow) handle(ev callengine.Event) {
	w.handled++
	switch ev.Name {
	case callengine.EventRegistered:
		w.regStatus = "Registered as " + w.opts.accountURI
	case callengine.EventRegistrationFailed:
		p, _ := ev.Payload.(callengine.RegistrationFailedPayload)
		w.regStatus = explainRegistrationEvent(p)
	case callengine.EventUnregistered:
		w.regStatus = "Not registered"
		if p, _ := ev.Payload.(callengine.UnregisteredPayload); p.Reason != "" {
			w.regStatus += ": " + p.Reason
		}
	}
	w.contacts.handle(ev)
	if ev.Session != nil {
		w.apply(ev)
		e := w.find(ev.Session.SipCallID)
		w.notifyEvent(ev, e)
		w.soundEvent(ev, e)
	}
	w.reconcileSharing()
	w.refresh()
}

// apply updates the call the event is about.
func (w *mainWindow) apply(ev callengine.Event) {
	id := ev.Session.SipCallID
	e := w.find(id)
	if e == nil {
		e = &callEntry{}
		w.calls = append(w.calls, e)
	}
	e.s = ev.Session
	switch ev.Name {
	case callengine.EventCallIncoming:
		w.incoming.add(id)
		w.dir.lookupCaller(id, callerNumber(e))
		w.win.RequestFocus()
	case callengine.EventScreenShareStarted:
		e.sharing = true
		p, _ := ev.Payload.(callengine.ScreenSharePayload)
		e.shareMonitor = p.Monitor
		if e.shareMonitor == "" {
			e.shareMonitor = w.shareRequested[id]
		}
	case callengine.EventScreenShareEnded, callengine.EventScreenShareEnding:
		e.sharing = false
		delete(w.shareRequested, id)
	case callengine.EventVideoStream:
		e.remoteVideo = true
	case callengine.EventEarlyMedia:
		e.earlyMedia = true
	case callengine.EventCallRejected:
		if e.s.IsCaller {
			p, _ := ev.Payload.(callengine.CallStatusPayload)
			w.action.info(fmt.Sprintf("%s declined the call %s", e.remoteName(), rejection(p)))
		}
	case callengine.EventCallError:
		p, _ := ev.Payload.(callengine.CallStatusPayload)
		w.action.fail(fmt.Errorf("%s: %s", e.remoteName(), p.Error))
	}
	w.applyCallControl(ev, e)
	if stateOf(e.s) == stateEnded {
		e.sharing = false
		delete(w.shareRequested, id)
	}
	if stateOf(e.s) != stateRinging {
		w.incoming.remove(id)
	}
	// Which call is active: the one placed or answered from here, else the
	// first call; an ended active call gives way to a live one.
	switch {
	case id == w.wantActive:
		w.activeID, w.wantActive = id, ""
	case w.activeID == "" && stateOf(e.s) != stateRinging:
		w.activeID = id
	}
	if a := w.active(); a != nil && stateOf(a.s) == stateEnded {
		if live := w.firstLive(); live != nil {
			w.activeID = live.id()
		}
	}
	w.pruneEnded()
}

func (w *mainWindow) find(id string) *callEntry {
	for _, e := range w.calls {
		if e.id() == id {
			return e
		}
	}
	return nil
}

func (w *mainWindow) active() *callEntry {
	if w.activeID == "" {
		return nil
	}
	return w.find(w.activeID)
}

func (w *mainWindow) firstLive() *callEntry {
	for _, e := range w.calls {
		if st := stateOf(e.s); st != stateEnded && st != stateRinging {
			return e
		}
	}
	return nil
}

func (w *mainWindow) pruneEnded() {
	ended := 0
	for _, e := range w.calls {
		if stateOf(e.s) == stateEnded {
			ended++
		}
	}
	for i := 0; ended > maxEndedCalls && i < len(w.calls); {
		if e := w.calls[i]; stateOf(e.s) == stateEnded && e.id() != w.activeID {
			w.calls = append(w.calls[:i], w.calls[i+1:]...)
			ended--
			continue
		}
		i++
	}
}

// sharingCall is the call whose share is running, if any.
func (w *mainWindow) sharingCall() *callEntry {
	for _, e := range w.calls {
		if e.sharing {
			return e
		}
	}
	return nil
}

// refresh redraws everything from the state.
func (w *mainWindow) refresh() {
	w.refreshStatus()
	w.list.refresh()
	w.view.update(w.active())
	w.incoming.refresh()
	w.contacts.refresh()
	title := "Parlo"
	if a := w.active(); a != nil && stateOf(a.s) != stateEnded {
		title += " — " + a.remoteName()
	}
	w.win.SetTitle(sharingTitle(w.sharingCall(), title))
	w.refreshTray()
	// Prompts, banner and badges change size; re-lay the whole tree.
	if !w.fullscreen {
		w.content.Refresh()
	}
}

func (w *mainWindow) refreshStatus() {
	switch {
	case w.opts.accountURI == "":
		w.addAccount.SetText("Add account")
		w.addAccount.Show()
	case w.regFailed():
		w.addAccount.SetText("Fix account")
		w.addAccount.Show()
	default:
		w.addAccount.Hide()
	}
	switch {
	case w.opts.accountURI == "":
		w.statusIcon.SetResource(theme.ComputerIcon())
		msg := "Direct mode — others can call you at " + w.eng.ContactURI()
		if p := w.opts.desktop.accountProblem; p != "" {
			w.statusIcon.SetResource(theme.ErrorIcon())
			msg = p + " — direct mode at " + w.eng.ContactURI()
		}
		w.status.SetText(msg)
	case strings.HasPrefix(w.regStatus, "Registered"):
		w.statusIcon.SetResource(theme.ConfirmIcon())
		w.status.SetText(w.regStatus + " — " + w.eng.ContactURI())
	case w.regFailed():
		w.statusIcon.SetResource(theme.ErrorIcon())
		w.status.SetText(w.regStatus)
	default:
		w.statusIcon.SetResource(theme.ViewRefreshIcon())
		w.status.SetText(w.regStatus)
	}
}

// regFailed reports whether the registration status is a failure.
func (w *mainWindow) regFailed() bool {
	return w.regStatus != "" && !strings.HasPrefix(w.regStatus, "Registered") && !strings.HasPrefix(w.regStatus, "Registering")
}

// tick redraws durations once a second.
func (w *mainWindow) tick() {
	if w.reconcileSharing() {
		// The title and tray follow sharing too: a full refresh.
		w.refresh()
		return
	}
	w.list.refresh()
	w.view.update(w.active())
	w.incoming.refresh()
}

// run starts an engine action off the UI goroutine with a progress line
// and a Cancel button; its error is shown when it fails.
func (w *mainWindow) run(label string, timeout time.Duration, f func(ctx context.Context) error) {
	ctx, cancel := context.WithTimeout(w.ctx, timeout)
	id := w.action.begin(label, cancel)
	w.wg.Add(1)
	go func() { // owner: mainWindow; ends with ctx
		defer w.wg.Done()
		defer cancel()
		err := f(ctx)
		w.opts.do(func() {
			w.action.end(id)
			switch {
			case err == nil:
			case errors.Is(err, context.Canceled) && w.ctx.Err() == nil:
				w.action.info(label + ": cancelled")
			case w.ctx.Err() == nil:
				w.log.Warn("action failed", "action", label, "error", err)
				w.action.fail(fmt.Errorf("%s: %w", label, err))
			}
		})
	}()
}

// Actions: each works on the active call (or the ringing one for answer and
// reject) and is reachable by button, menu and shortcut.

func (w *mainWindow) focusDial() { w.win.Canvas().Focus(w.dial) }

func (w *mainWindow) placeCall() {
	if w.dir.selectedCall() {
		return
	}
	w.dir.hide()
	target := w.dir.rewrite(strings.TrimSpace(w.dial.Text))
	if target == "" {
		w.action.info("Type a number or SIP URI to call")
		w.focusDial()
		return
	}
	w.run("Calling "+target, callTimeout, func(ctx context.Context) error {
		s, err := w.eng.Call(ctx, target, callengine.CallOptions{})
		if err == nil && s != nil {
			w.opts.do(func() {
				if w.find(s.SipCallID) != nil {
					w.activeID = s.SipCallID
					w.refresh()
				} else {
					w.wantActive = s.SipCallID
				}
			})
		}
		return err
	})
}

// ringingCall is the call answer/reject act on: the newest ringing one.
func (w *mainWindow) ringingCall() *callEntry {
	for i := len(w.calls) - 1; i >= 0; i-- {
		if stateOf(w.calls[i].s) == stateRinging {
			return w.calls[i]
		}
	}
	return nil
}

func (w *mainWindow) answer(id string) {
	if id == "" {
		if e := w.ringingCall(); e != nil {
			id = e.id()
		}
	}
	if id == "" {
		return
	}
	w.wantActive = id
	w.run("Answering", actionTimeout, func(ctx context.Context) error { return w.eng.Accept(ctx, id) })
}

func (w *mainWindow) reject(id string) {
	if id == "" {
		if e := w.ringingCall(); e != nil {
			id = e.id()
		}
	}
	if id == "" {
		return
	}
	w.run("Rejecting", actionTimeout, func(ctx context.Context) error {
		return w.eng.Reject(ctx, id, 486) // Busy Here, RFC 3261 §21.4.24
	})
}

// liveActive is the active call when it is not over.
func (w *mainWindow) liveActive() *callEntry {
	a := w.active()
	if a == nil || stateOf(a.s) == stateEnded {
		return nil
	}
	return a
}

func (w *mainWindow) hangup() {
	a := w.liveActive()
	if a == nil {
		return
	}
	id := a.id()
	w.run("Hanging up", actionTimeout, func(ctx context.Context) error { return w.eng.Hangup(ctx, id) })
}

func (w *mainWindow) toggleMute() {
	a := w.liveActive()
	if a == nil {
		return
	}
	id, muted := a.id(), a.s.Muted
	w.run("Mute", actionTimeout, func(context.Context) error {
		if muted {
			return w.eng.Unmute(id)
		}
		return w.eng.Mute(id)
	})
}

func (w *mainWindow) toggleHold() {
	a := w.liveActive()
	if a == nil {
		return
	}
	id := a.id()
	if a.s.Paused {
		w.run("Resuming", actionTimeout, func(ctx context.Context) error { return w.eng.Resume(ctx, id) })
	} else {
		w.run("Holding", actionTimeout, func(ctx context.Context) error { return w.eng.Hold(ctx, id) })
	}
}

// toggleShare opens the picker, or stops the running share of the active
// call. Whether a share runs is what the engine's events said.
func (w *mainWindow) toggleShare() {
	a := w.liveActive()
	if a == nil || w.sharer == nil {
		return
	}
	if a.sharing {
		w.stopShare(a.id())
		return
	}
	if stateOf(a.s) != stateActive {
		w.action.info("Screen sharing needs an active call")
		return
	}
	w.openPicker(a.id())
}

func (w *mainWindow) startShare(callID string, mon monitorChoice) {
	w.shareRequested[callID] = mon.Name
	timeout := actionTimeout
	if mon.SystemDialog {
		timeout = systemDialogTimeout
	}
	w.run("Starting screen share of "+mon.Name, timeout, func(ctx context.Context) error {
		return w.sharer.StartScreenSharing(ctx, callID, mon.Index)
	})
}

func (w *mainWindow) stopShare(callID string) {
	if w.sharer == nil {
		return
	}
	w.run("Stopping screen share", actionTimeout, func(ctx context.Context) error {
		return w.sharer.StopScreenSharing(ctx, callID)
	})
}

// selectCall moves the active call by delta through the list.
func (w *mainWindow) selectCall(delta int) {
	if len(w.calls) == 0 {
		return
	}
	i := 0
	for j, e := range w.calls {
		if e.id() == w.activeID {
			i = j
		}
	}
	i = (i + delta + len(w.calls)) % len(w.calls)
	w.setActive(w.calls[i].id())
}

func (w *mainWindow) setActive(id string) {
	if w.activeID == id {
		return
	}
	w.activeID = id
	w.refresh()
}

func (w *mainWindow) toggleFullscreen() {
	w.fullscreen = !w.fullscreen
	if w.fullscreen {
		w.win.SetContent(w.view.fullscreenContent())
	} else {
		w.view.restoreVideo()
		w.win.SetContent(w.content)
	}
	w.win.SetFullScreen(w.fullscreen)
	w.shortcuts.install(w.win.Canvas())
}

func (w *mainWindow) toggleFit() { w.view.toggleFit() }

// rejection is what the user is told about a refused call: the SIP status
// when the peer answered with one, else its reason or the error.
func rejection(p callengine.CallStatusPayload) string {
	switch {
	case p.Status != 0:
		return strconv.Itoa(p.Status)
	case p.Reason != "":
		return p.Reason
	}
	return p.Error
}

// actionBar is the bottom line: progress of running engine actions with a
// Cancel button, or the last error or notice.
type actionBar struct {
	w        *mainWindow
	next     int
	running  map[int]actionRun
	label    *widget.Label
	progress *widget.ProgressBarInfinite
	cancel   *widget.Button
	dismiss  *widget.Button
	errIcon  *widget.Icon
	box      *fyne.Container
}

type actionRun struct {
	label  string
	cancel context.CancelFunc
}

func newActionBar(w *mainWindow) *actionBar {
	b := &actionBar{w: w, running: map[int]actionRun{}}
	b.label = widget.NewLabel("")
	b.label.Truncation = fyne.TextTruncateEllipsis
	b.progress = widget.NewProgressBarInfinite()
	b.progress.Stop()
	b.progress.Hide()
	b.errIcon = widget.NewIcon(theme.ErrorIcon())
	b.errIcon.Hide()
	b.cancel = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), b.cancelLatest)
	b.cancel.Hide()
	b.dismiss = widget.NewButtonWithIcon("", theme.WindowCloseIcon(), b.clear)
	b.dismiss.Importance = widget.LowImportance
	b.dismiss.Hide()
	left := container.NewHBox(b.errIcon)
	right := container.NewHBox(b.cancel, b.dismiss)
	prog := container.NewGridWrap(fyne.NewSize(120, b.progress.MinSize().Height), b.progress)
	b.box = container.NewBorder(nil, nil, container.NewHBox(left, prog), right, b.label)
	b.box.Hide()
	return b
}

func (b *actionBar) object() fyne.CanvasObject {
	return container.NewVBox(widget.NewSeparator(), b.box)
}

func (b *actionBar) begin(label string, cancel context.CancelFunc) int {
	b.next++
	b.running[b.next] = actionRun{label: label, cancel: cancel}
	b.show()
	return b.next
}

func (b *actionBar) end(id int) {
	delete(b.running, id)
	b.show()
}

// latest is the most recently started action still running.
func (b *actionBar) latest() (actionRun, bool) {
	best := -1
	for id := range b.running {
		if id > best {
			best = id
		}
	}
	r, ok := b.running[best]
	return r, ok
}

func (b *actionBar) cancelLatest() {
	if r, ok := b.latest(); ok {
		r.cancel()
	}
}

func (b *actionBar) show() {
	if r, ok := b.latest(); ok {
		b.errIcon.Hide()
		b.dismiss.Hide()
		b.progress.Show()
		b.progress.Start()
		b.cancel.Show()
		b.label.SetText(r.label + "…")
		b.box.Show()
		return
	}
	b.progress.Stop()
	b.progress.Hide()
	b.cancel.Hide()
	if b.errIcon.Visible() || b.dismiss.Visible() {
		return // keep a message on screen
	}
	b.box.Hide()
}

func (b *actionBar) info(msg string) {
	if len(b.running) > 0 {
		return
	}
	b.errIcon.Hide()
	b.label.SetText(msg)
	b.dismiss.Show()
	b.box.Show()
}

func (b *actionBar) fail(err error) {
	b.errIcon.Show()
	b.label.SetText(err.Error())
	b.dismiss.Show()
	b.progress.Hide()
	b.cancel.Hide()
	b.box.Show()
}

func (b *actionBar) clear() {
	b.errIcon.Hide()
	b.dismiss.Hide()
	b.label.SetText("")
	b.show()
}

// text is what the bar says (tests).
func (b *actionBar) text() string { return b.label.Text }
