package ui

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// transferDialog asks where a call goes: "Transfer now" hands it over at
// once (blind), "Consult first" holds it and calls the target so the user
// can announce the caller (attended).
type transferDialog struct {
	dlg     dialog.Dialog
	callID  string
	entry   *widget.Entry
	now     *widget.Button
	consult *widget.Button
	cancel  *widget.Button
}

func (w *mainWindow) showTransferDialog(a *callEntry) {
	d := &transferDialog{callID: a.id()}
	id, name := a.id(), a.remoteName()
	d.entry = widget.NewEntry()
	d.entry.SetPlaceHolder("Number or SIP URI")
	target := func() string { return strings.TrimSpace(d.entry.Text) }
	d.now = widget.NewButtonWithIcon("Transfer now", theme.MailForwardIcon(), func() {
		if t := target(); t != "" {
			d.dlg.Hide()
			w.blindTransfer(id, name, t)
		}
	})
	d.now.Importance = widget.HighImportance
	d.consult = widget.NewButtonWithIcon("Consult first", theme.AccountIcon(), func() {
		if t := target(); t != "" {
			d.dlg.Hide()
			w.consultTransfer(id, t)
		}
	})
	d.cancel = widget.NewButton("Cancel", func() { d.dlg.Hide() })
	setOn := func(string) {
		if target() == "" {
			d.now.Disable()
			d.consult.Disable()
		} else {
			d.now.Enable()
			d.consult.Enable()
		}
	}
	d.entry.OnChanged = setOn
	d.entry.OnSubmitted = func(string) { d.now.OnTapped() }
	setOn("")
	hint := widget.NewLabel("\"Transfer now\" hands the call over at once. \"Consult first\" puts " + name +
		" on hold and calls the target, so you can announce the call, then complete or cancel.")
	hint.Wrapping = fyne.TextWrapWord
	content := container.NewVBox(
		widget.NewLabel("Transfer "+name+" to:"),
		d.entry,
		hint,
		container.NewHBox(layout.NewSpacer(), d.cancel, d.consult, d.now),
	)
	d.dlg = dialog.NewCustomWithoutButtons("Transfer call", content, w.win)
	d.dlg.SetOnClosed(func() {
		if w.transferDlg == d {
			w.transferDlg = nil
		}
	})
	w.transferDlg = d
	d.dlg.Resize(fyne.NewSize(460, d.dlg.MinSize().Height))
	d.dlg.Show()
	w.win.Canvas().Focus(d.entry)
}

// transferBanner is the bar of an attended transfer under way, on both the
// held call and the consultation call: Complete hands the held party over,
// Cancel hangs up the consultation and resumes.
type transferBanner struct {
	text     *widget.Label
	complete *widget.Button
	cancel   *widget.Button
	root     *fyne.Container
}

func newTransferBanner(w *mainWindow) *transferBanner {
	b := &transferBanner{}
	b.text = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	b.text.Truncation = fyne.TextTruncateEllipsis
	b.complete = widget.NewButtonWithIcon("Complete transfer", theme.ConfirmIcon(), w.completeTransfer)
	b.complete.Importance = widget.HighImportance
	b.cancel = widget.NewButtonWithIcon("Cancel transfer", theme.CancelIcon(), w.cancelTransfer)
	b.root = container.NewBorder(nil, nil, nil, container.NewHBox(b.cancel, b.complete), b.text)
	b.root.Hide()
	return b
}

func (b *transferBanner) object() fyne.CanvasObject { return b.root }

// update shows the transfer held→consult, or hides the bar when e takes
// part in none.
func (b *transferBanner) update(w *mainWindow, e *callEntry) {
	held, consult, ok := w.transferOf(e)
	if !ok {
		b.root.Hide()
		return
	}
	h, c := w.find(held), w.find(consult)
	hName, cName := "the held call", "the target"
	if h != nil {
		hName = h.remoteName()
	}
	if c != nil {
		cName = c.remoteName()
	}
	switch {
	case c == nil || stateOf(c.s) == stateCalling:
		b.text.SetText("Transfer: calling " + cName + " for " + hName + "…")
	default:
		b.text.SetText("Transfer " + hName + " to " + cName)
	}
	// REFER with Replaces names an established dialog (RFC 3891 §3).
	if c != nil && stateOf(c.s) == stateActive {
		b.complete.Enable()
	} else {
		b.complete.Disable()
	}
	b.root.Show()
}

func (b *transferBanner) visible() bool { return b.root.Visible() }
