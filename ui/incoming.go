package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	pwidget "github.com/parlo-voip/parlo/ui/internal/widget"
)

// incomingPrompts are the prominent cards at the top of the main window,
// one per ringing incoming call, each with Accept and Reject. They are not
// modal, so a call can ring while another is active (call waiting).
type incomingPrompts struct {
	promptCards[*incomingCard]
	w *mainWindow
}

type incomingCard struct {
	name   *widget.Label
	detail *widget.Label
	accept *pwidget.TipButton
	reject *pwidget.TipButton
	ignore *pwidget.TipButton
}

func newIncomingPrompts(w *mainWindow) *incomingPrompts {
	return &incomingPrompts{promptCards: newPromptCards[*incomingCard](), w: w}
}

func (p *incomingPrompts) add(id string) {
	if p.has(id) {
		return
	}
	c := &incomingCard{}
	c.name = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	c.name.SizeName = theme.SizeNameSubHeadingText
	c.name.Truncation = fyne.TextTruncateEllipsis
	c.detail = widget.NewLabel("")
	c.detail.Truncation = fyne.TextTruncateEllipsis
	c.accept = pwidget.NewTipButton("Accept", theme.ConfirmIcon(), "Answer ("+shortcutLabel(actAnswer)+")", func() { p.w.answer(id) })
	c.accept.Importance = widget.SuccessImportance
	c.reject = pwidget.NewTipButton("Reject", theme.CancelIcon(), "Reject ("+shortcutLabel(actReject)+")", func() { p.w.reject(id) })
	c.reject.Importance = widget.DangerImportance
	c.ignore = pwidget.NewTipButton("Ignore", theme.VolumeMuteIcon(), "Silence the ringtone ("+shortcutLabel(actIgnore)+")", func() { p.w.ignore(id) })
	c.ignore.Importance = widget.LowImportance
	text := container.New(&tightVBox{}, c.name, c.detail)
	p.put(id, c, newPromptCard(theme.ColorNamePrimary, theme.DownloadIcon(), text, c.accept, c.reject, c.ignore))
	p.refresh()
}

// remove drops call id's card and what the directory looked up for it.
func (p *incomingPrompts) remove(id string) {
	p.promptCards.remove(id)
	p.w.dir.forget(id)
}

func (p *incomingPrompts) refresh() {
	for _, id := range p.ids {
		e := p.w.find(id)
		c := p.cards[id]
		if e == nil || c == nil {
			continue
		}
		c.name.SetText("Incoming call: " + e.remoteName())
		if e.ignored {
			c.ignore.Disable()
		}
		detail := e.remoteNumber()
		if ct, ok := p.w.dir.callerName(id); ok {
			c.name.SetText("Incoming call: " + ct.Name)
			detail = callerNumber(e) + " · " + ct.Source
		}
		if detail == "" {
			detail = "Calling you"
		}
		detail += " · ringing " + formatDuration(e.duration(p.w.opts.now()))
		if e.ignored {
			detail += " · silenced"
		}
		if a := p.w.liveActive(); a != nil && a.id() != id {
			detail += " · answering holds " + a.remoteName()
		}
		c.detail.SetText(detail)
	}
}
