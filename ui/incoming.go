package ui

import (
	"slices"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	pwidget "github.com/parlo-voip/parlo/ui/internal/widget"
)

// incomingPrompts are the prominent cards at the top of the main window,
// one per ringing incoming call, each with Accept and Reject. They are not
// modal, so a call can ring while another is active (call waiting).
type incomingPrompts struct {
	w     *mainWindow
	ids   []string
	cards map[string]*incomingCard
	box   *fyne.Container
}

type incomingCard struct {
	name   *widget.Label
	detail *widget.Label
	accept *pwidget.TipButton
	reject *pwidget.TipButton
	ignore *pwidget.TipButton
	root   fyne.CanvasObject
}

func newIncomingPrompts(w *mainWindow) *incomingPrompts {
	return &incomingPrompts{w: w, cards: map[string]*incomingCard{}, box: container.NewVBox()}
}

func (p *incomingPrompts) object() fyne.CanvasObject { return p.box }

func (p *incomingPrompts) add(id string) {
	if slices.Contains(p.ids, id) {
		return
	}
	p.ids = append(p.ids, id)
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
	bg := canvas.NewRectangle(theme.Color(theme.ColorNamePrimary))
	bg.FillColor = withAlpha(theme.Color(theme.ColorNamePrimary), 0x33)
	bg.StrokeColor = theme.Color(theme.ColorNamePrimary)
	bg.StrokeWidth = 2
	bg.CornerRadius = theme.InputRadiusSize()
	icon := widget.NewIcon(theme.DownloadIcon())
	text := container.New(&tightVBox{}, c.name, c.detail)
	buttons := container.NewHBox(container.NewCenter(c.accept), container.NewCenter(c.reject), container.NewCenter(c.ignore))
	c.root = container.NewPadded(container.NewStack(bg,
		container.NewPadded(container.NewBorder(nil, nil, container.NewCenter(icon), buttons, text))))
	p.cards[id] = c
	p.box.Add(c.root)
	p.refresh()
}

func (p *incomingPrompts) remove(id string) {
	c, ok := p.cards[id]
	if !ok {
		return
	}
	delete(p.cards, id)
	p.ids = slices.DeleteFunc(p.ids, func(s string) bool { return s == id })
	p.w.dir.forget(id)
	p.box.Remove(c.root)
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

// showing reports the ringing calls prompted (tests).
func (p *incomingPrompts) showing() []string { return slices.Clone(p.ids) }
