package ui

import (
	"context"
	"fmt"
	"image/color"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/parlo-voip/parlo/callengine"
	"github.com/parlo-voip/parlo/callengine/presence"
	pwidget "github.com/parlo-voip/parlo/ui/internal/widget"
)

// contactsPanel lists the watched extensions (Settings, "Watched
// extensions"), each with its busy lamp and presence: clicking the lamp
// calls the extension, Transfer hands the current call over to it, Pick up
// answers the call ringing there. It also keeps the voicemail lamp.
type contactsPanel struct {
	w     *mainWindow
	lamps Lamps // nil: the engine has no lamps

	exts       []string
	vmNumber   string
	pickupCode string
	rows       map[string]*contactRow
	list       *fyne.Container
	empty      *widget.Label
	obj        fyne.CanvasObject

	vm         *pwidget.TipButton
	vmWaiting  bool
	vmNew      int
	vmOld      int
	registered bool
}

// contactRow is one watched extension.
type contactRow struct {
	ext       string
	line      presence.LineState
	status    presence.Status
	note      string
	canPickup bool

	btn    *widget.Button // the lamp and the name: calls
	xfer   *pwidget.TipButton
	pickup *pwidget.TipButton
	obj    fyne.CanvasObject
}

func newContactsPanel(w *mainWindow) *contactsPanel {
	c := &contactsPanel{w: w, rows: map[string]*contactRow{}}
	c.lamps, _ = w.eng.(Lamps)
	c.list = container.NewVBox()
	c.empty = widget.NewLabel("Add extensions to watch in Settings, Contacts.")
	c.empty.Importance = widget.LowImportance
	c.empty.Wrapping = fyne.TextWrapWord
	header := widget.NewLabelWithStyle("Contacts", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	c.obj = container.NewBorder(header, nil, nil, nil, container.NewVScroll(container.NewVBox(c.empty, c.list)))
	c.vm = pwidget.NewTipButton("Voicemail", lampIcon(lampOff), "Voicemail: set its number in Settings, Contacts", c.callVoicemail)
	c.vm.Importance = widget.LowImportance
	s, _ := LoadSettings(w.app.Preferences(), nil)
	c.apply(s)
	return c
}

func (c *contactsPanel) object() fyne.CanvasObject { return c.obj }

// voicemailButton is the voicemail lamp for the top bar.
func (c *contactsPanel) voicemailButton() fyne.CanvasObject { return c.vm }

// apply takes saved settings: the extensions to watch (new ones are
// subscribed at once when registered, removed ones unsubscribed), the
// voicemail number and the pickup feature code.
func (c *contactsPanel) apply(s Settings) {
	c.vmNumber, c.pickupCode = s.VoicemailNumber, s.PickupCode
	keep := map[string]bool{}
	for _, e := range s.WatchedExtensions {
		keep[e] = true
	}
	for _, e := range c.exts {
		if !keep[e] {
			c.unwatch(e)
			delete(c.rows, e)
		}
	}
	c.exts = append([]string(nil), s.WatchedExtensions...)
	c.list.RemoveAll()
	for _, e := range c.exts {
		r := c.rows[e]
		if r == nil {
			r = c.newRow(e)
			c.rows[e] = r
			c.watch(e)
		}
		c.list.Add(r.obj)
	}
	if len(c.exts) == 0 {
		c.empty.Show()
	} else {
		c.empty.Hide()
	}
	c.refresh()
}

func (c *contactsPanel) newRow(ext string) *contactRow {
	r := &contactRow{ext: ext, line: presence.LineUnknown}
	r.btn = widget.NewButtonWithIcon(ext, lampIcon(lampOff), func() { c.call(ext) })
	r.btn.Alignment = widget.ButtonAlignLeading
	r.btn.Importance = widget.LowImportance
	r.xfer = pwidget.NewTipButton("", theme.MailForwardIcon(), "Transfer the current call to "+ext, func() { c.transfer(ext) })
	r.xfer.Importance = widget.LowImportance
	r.pickup = pwidget.NewTipButton("Pick up", theme.DownloadIcon(), "Answer the call ringing at "+ext, func() { c.pickupCall(ext) })
	r.pickup.Importance = widget.WarningImportance
	r.obj = container.NewBorder(nil, nil, nil, container.NewHBox(r.pickup, r.xfer), r.btn)
	return r
}

// watch subscribes to ext's lamp and presence, once registered.
func (c *contactsPanel) watch(ext string) {
	if c.lamps == nil || !c.registered {
		return
	}
	for _, pkg := range []callengine.EventPackage{callengine.PackageDialog, callengine.PackagePresence} {
		if err := c.lamps.Watch(c.w.ctx, ext, pkg); err != nil {
			c.w.log.Warn("watching an extension failed", "extension", ext, "package", string(pkg), "error", err)
		}
	}
}

func (c *contactsPanel) unwatch(ext string) {
	if c.lamps == nil || !c.registered {
		return
	}
	for _, pkg := range []callengine.EventPackage{callengine.PackageDialog, callengine.PackagePresence} {
		_ = c.lamps.Unwatch(context.Background(), ext, pkg)
	}
}

// handle follows the engine's events: registration starts the lamps,
// voicemail and our presence; lamp events light the rows.
func (c *contactsPanel) handle(ev callengine.Event) {
	switch ev.Name {
	case callengine.EventRegistered:
		if c.registered || c.lamps == nil {
			return
		}
		c.registered = true
		for _, e := range c.exts {
			c.watch(e)
		}
		if err := c.lamps.Watch(c.w.ctx, "", callengine.PackageMessageSummary); err != nil {
			c.w.log.Warn("voicemail subscription failed", "error", err)
		}
		if err := c.lamps.PublishPresence(presence.StatusAvailable, ""); err != nil {
			c.w.log.Warn("presence not published", "error", err)
		}
	case callengine.EventBLFStateChanged:
		p, _ := ev.Payload.(callengine.BLFPayload)
		if r := c.rows[p.Target]; r != nil {
			r.line, r.canPickup = p.State, p.Pickup
		}
	case callengine.EventPresenceChanged:
		p, _ := ev.Payload.(callengine.PresencePayload)
		if r := c.rows[p.Target]; r != nil {
			r.status, r.note = p.Status, p.Note
		}
	case callengine.EventVoicemailChanged:
		p, _ := ev.Payload.(callengine.VoicemailPayload)
		c.vmWaiting, c.vmNew, c.vmOld = p.Waiting, p.New, p.Old
	default:
		return
	}
	c.refresh()
}

// transferTarget is the answered call a Transfer would hand over.
func (c *contactsPanel) transferTarget() *callEntry {
	a := c.w.liveActive()
	if a == nil || c.w.ctl.xfer == nil {
		return nil
	}
	if st := stateOf(a.s); st != stateActive && st != stateHeld {
		return nil
	}
	return a
}

func (c *contactsPanel) refresh() {
	canXfer := c.transferTarget() != nil
	for _, r := range c.rows {
		text := r.ext + "  ·  " + lampText(r.line)
		if p := presenceText(r.status, r.note); p != "" {
			text += " (" + p + ")"
		}
		r.btn.SetText(text)
		r.btn.SetIcon(lampIcon(lampColor(r.line)))
		if r.line == presence.LineRinging && (r.canPickup || c.pickupCode != "") {
			r.pickup.Show()
		} else {
			r.pickup.Hide()
		}
		if canXfer {
			r.xfer.Enable()
		} else {
			r.xfer.Disable()
		}
	}
	switch {
	case c.vmWaiting:
		c.vm.SetText(fmt.Sprintf("Voicemail %d", c.vmNew))
		c.vm.SetIcon(lampIcon(lampBusy))
		c.vm.Importance = widget.HighImportance
	default:
		c.vm.SetText("Voicemail")
		c.vm.SetIcon(lampIcon(lampOff))
		c.vm.Importance = widget.LowImportance
	}
	c.vm.SetTip(c.voicemailTip())
	c.vm.Refresh()
}

// trayItems is the voicemail lamp in the tray menu: shown while messages
// wait; clicking it shows the window and calls the voicemail.
func (c *contactsPanel) trayItems() []*fyne.MenuItem {
	if !c.vmWaiting {
		return nil
	}
	return []*fyne.MenuItem{fyne.NewMenuItem(fmt.Sprintf("Voicemail: %d new", c.vmNew), func() {
		c.w.showWindow()
		c.callVoicemail()
	})}
}

func (c *contactsPanel) voicemailTip() string {
	counts := fmt.Sprintf("%d new, %d old", c.vmNew, c.vmOld)
	if c.vmNumber == "" {
		return "Voicemail (" + counts + "): set its number in Settings, Contacts"
	}
	return "Voicemail (" + counts + "): call " + c.vmNumber
}

func (c *contactsPanel) call(ext string) {
	c.w.dial.SetText(ext)
	c.w.placeCall()
}

func (c *contactsPanel) callVoicemail() {
	if c.vmNumber == "" {
		c.w.action.info("Set the voicemail number in Settings, Contacts")
		return
	}
	c.call(c.vmNumber)
}

func (c *contactsPanel) transfer(ext string) {
	a := c.transferTarget()
	if a == nil {
		c.w.action.info("Transfer needs an answered call")
		return
	}
	c.w.blindTransfer(a.id(), a.s.DisplayName, ext)
}

// pickupCall answers the call ringing at ext: with the server's feature
// code when one is set (e.g. *8 on many PBXs: dialled followed by the
// extension), else by directed pickup (INVITE with Replaces).
func (c *contactsPanel) pickupCall(ext string) {
	if c.pickupCode != "" {
		c.call(c.pickupCode + ext)
		return
	}
	if c.lamps == nil {
		return
	}
	c.w.run("Picking up "+ext, callTimeout, func(ctx context.Context) error {
		s, err := c.lamps.Pickup(ctx, ext)
		if err == nil && s != nil {
			c.w.opts.do(func() { c.w.wantActive = s.SipCallID })
		}
		return err
	})
}

// lampIcon is a round lamp of colour col as an icon resource (a button's
// icon keeps its own colours).
func lampIcon(col color.Color) fyne.Resource {
	n := color.NRGBAModel.Convert(col).(color.NRGBA)
	hex := fmt.Sprintf("#%02x%02x%02x", n.R, n.G, n.B)
	svg := `<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24" viewBox="0 0 24 24"><circle cx="12" cy="12" r="8" fill="` + hex + `" stroke="#000000" stroke-opacity="0.25" stroke-width="1"/></svg>`
	return fyne.NewStaticResource("lamp-"+strings.TrimPrefix(hex, "#")+".svg", []byte(svg))
}
