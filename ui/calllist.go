package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// Badge colours: red for "you are sharing" (a privacy warning), blue for
// "you are receiving a screen".
var (
	sharingRed   = color.NRGBA{R: 0xD3, G: 0x2F, B: 0x2F, A: 0xFF}
	receivingBlu = color.NRGBA{R: 0x25, G: 0x63, B: 0xEB, A: 0xFF}
)

// callList shows every call: remote name and number, direction, state,
// running duration and a sharing badge. Selecting a row makes the call
// active.
type callList struct {
	w     *mainWindow
	list  *widget.List
	empty *widget.Label
	box   *fyne.Container
}

// callRow is the template of one row.
type callRow struct {
	dir      *widget.Icon
	name     *widget.Label
	detail   *widget.Label
	state    *widget.Label
	duration *widget.Label
	badge    *badge
	root     *fyne.Container
}

func newCallRow() *callRow {
	r := &callRow{
		dir:      widget.NewIcon(theme.DownloadIcon()),
		name:     widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		detail:   widget.NewLabel(""),
		state:    widget.NewLabel(""),
		duration: widget.NewLabelWithStyle("", fyne.TextAlignTrailing, fyne.TextStyle{Monospace: true}),
		badge:    newBadge(),
	}
	r.name.Truncation = fyne.TextTruncateEllipsis
	r.detail.Truncation = fyne.TextTruncateEllipsis
	r.detail.SizeName = theme.SizeNameCaptionText
	r.state.SizeName = theme.SizeNameCaptionText
	r.state.Alignment = fyne.TextAlignTrailing
	text := container.New(&tightVBox{}, r.name, r.detail)
	right := container.New(&tightVBox{}, r.duration, r.state)
	r.root = container.NewBorder(nil, nil, r.dir,
		container.NewHBox(container.NewCenter(r.badge.object()), right), text)
	return r
}

func newCallList(w *mainWindow) *callList {
	l := &callList{w: w}
	rows := map[fyne.CanvasObject]*callRow{}
	l.list = widget.NewList(
		func() int { return len(w.calls) },
		func() fyne.CanvasObject {
			r := newCallRow()
			rows[r.root] = r
			return r.root
		},
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i >= len(w.calls) {
				return
			}
			l.fill(rows[o], w.calls[len(w.calls)-1-i]) // newest on top
		},
	)
	l.list.OnSelected = func(i widget.ListItemID) {
		if i < len(w.calls) {
			w.setActive(w.calls[len(w.calls)-1-i].id())
		}
	}
	l.empty = widget.NewLabel("No calls yet.\nDial a number or SIP URI above.")
	l.empty.Alignment = fyne.TextAlignCenter
	l.empty.Importance = widget.LowImportance
	l.box = container.NewStack(l.list, container.NewCenter(l.empty))
	return l
}

func (l *callList) widget() fyne.CanvasObject { return l.box }

func (l *callList) fill(r *callRow, e *callEntry) {
	if r == nil {
		return
	}
	if e.s.IsCaller {
		r.dir.SetResource(theme.UploadIcon())
	} else {
		r.dir.SetResource(theme.DownloadIcon())
	}
	r.name.SetText(e.remoteName())
	detail := e.direction()
	if n := e.remoteNumber(); n != "" {
		detail = n + " · " + detail
	}
	r.detail.SetText(detail)
	st := stateOf(e.s)
	r.state.SetText(st.String())
	switch st {
	case stateRinging, stateCalling:
		r.state.Importance = widget.WarningImportance
	case stateActive:
		r.state.Importance = widget.SuccessImportance
	case stateEnded:
		r.state.Importance = widget.LowImportance
	default:
		r.state.Importance = widget.MediumImportance
	}
	r.state.Refresh()
	r.duration.SetText(formatDuration(e.duration(l.w.opts.now())))
	switch {
	case e.sharing:
		r.badge.set("SHARING", sharingRed)
	case e.remoteVideo && st != stateEnded:
		r.badge.set("VIEWING", receivingBlu)
	default:
		r.badge.hide()
	}
	r.root.Refresh() // the badge changes the row's layout
}

func (l *callList) refresh() {
	if len(l.w.calls) == 0 {
		l.empty.Show()
	} else {
		l.empty.Hide()
	}
	l.list.Refresh()
	for i := range l.w.calls {
		if l.w.calls[len(l.w.calls)-1-i].id() == l.w.activeID {
			l.list.Select(i)
			return
		}
	}
	l.list.UnselectAll()
}

// rowTexts returns, per row top to bottom, the texts shown (tests).
func (l *callList) rowTexts() [][]string {
	var out [][]string
	for i := len(l.w.calls) - 1; i >= 0; i-- {
		r := newCallRow()
		l.fill(r, l.w.calls[i])
		row := []string{r.name.Text, r.detail.Text, r.state.Text, r.duration.Text}
		if r.badge.root.Visible() {
			row = append(row, r.badge.text.Text)
		}
		out = append(out, row)
	}
	return out
}

// badge is a small coloured pill with white capitals.
type badge struct {
	bg   *canvas.Rectangle
	text *canvas.Text
	root *fyne.Container
}

func newBadge() *badge {
	b := &badge{bg: canvas.NewRectangle(sharingRed), text: canvas.NewText("", color.White)}
	b.bg.CornerRadius = 4
	b.text.TextSize = theme.CaptionTextSize()
	b.text.TextStyle = fyne.TextStyle{Bold: true}
	b.root = container.NewStack(b.bg, container.New(&insetLayout{h: 6, v: 2}, b.text))
	b.root.Hide()
	return b
}

func (b *badge) object() fyne.CanvasObject { return b.root }

func (b *badge) set(text string, c color.Color) {
	b.text.Text = text
	b.bg.FillColor = c
	b.root.Show()
	b.root.Refresh()
}

func (b *badge) hide() { b.root.Hide() }

// tightVBox stacks objects vertically without padding between them, so a
// two-line row stays compact.
type tightVBox struct{}

func (tightVBox) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var s fyne.Size
	for _, o := range objs {
		if !o.Visible() {
			continue
		}
		m := o.MinSize()
		s.Width = max(s.Width, m.Width)
		s.Height += m.Height - 2*theme.Padding()
	}
	return s.AddWidthHeight(0, 2*theme.Padding())
}

func (tightVBox) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	y := float32(0)
	for i, o := range objs {
		if !o.Visible() {
			continue
		}
		h := o.MinSize().Height
		if i > 0 {
			y -= 2 * theme.Padding()
		}
		o.Move(fyne.NewPos(0, y))
		o.Resize(fyne.NewSize(size.Width, h))
		y += h
	}
}

// insetLayout pads its objects by fixed amounts.
type insetLayout struct{ h, v float32 }

func (l *insetLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var s fyne.Size
	for _, o := range objs {
		s = s.Max(o.MinSize())
	}
	return s.AddWidthHeight(2*l.h, 2*l.v)
}

func (l *insetLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		o.Move(fyne.NewPos(l.h, l.v))
		o.Resize(size.SubtractWidthHeight(2*l.h, 2*l.v))
	}
}
