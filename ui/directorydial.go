package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	pwidget "github.com/parlo-voip/parlo/ui/internal/widget"
)

// TypedKey lets the arrow keys walk the search results under the dial
// field and Escape close them; Enter (OnSubmitted) calls the highlighted
// one. Every other key edits the field.
func (e *dialEntry) TypedKey(k *fyne.KeyEvent) {
	if d := e.w.dir; d != nil {
		switch k.Name {
		case fyne.KeyDown:
			if d.move(+1) {
				return
			}
		case fyne.KeyUp:
			if d.move(-1) {
				return
			}
		case fyne.KeyEscape:
			if d.box.Visible() {
				d.hide()
				return
			}
		}
	}
	e.Entry.TypedKey(k)
}

// addButton is the dial row's "Add to contacts": the number typed, or the
// call in view with its name.
func (p *directoryPanel) addButton() fyne.CanvasObject {
	b := pwidget.NewTipButton("", theme.AccountIcon(), "Add to contacts", func() {
		if e := p.w.active(); e != nil && p.w.dial.Text == "" {
			p.addContact(e.remoteName(), callerNumber(e))
			return
		}
		p.addContact("", p.w.dial.Text)
	})
	b.Importance = widget.LowImportance
	return b
}

// callerNumber is the number (or address) of the far end of a call.
func callerNumber(e *callEntry) string {
	if e.s.Number != "" {
		return e.s.Number
	}
	if e.s.CallerNumber != nil {
		return *e.s.CallerNumber
	}
	return ""
}

// addContactButton is the History window's "Add to contacts" for the
// selected call's party.
func (h *historyWindow) addContactButton() fyne.CanvasObject {
	return widget.NewButtonWithIcon("Add to contacts", theme.AccountIcon(), func() {
		if h.sel < 0 || h.sel >= len(h.records) {
			return
		}
		r := h.records[h.sel]
		h.w.dir.addContactIn(h.win, r.RemoteName, r.Remote)
	})
}
