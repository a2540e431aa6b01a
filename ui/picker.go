package ui

import (
	"fmt"
	"image"
	"image/color"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/parlo-voip/parlo/capture"
)

// Thumbnail size and refresh period of the share picker: small and about
// once a second, which capture.Thumbnail is built for.
const (
	thumbW, thumbH = 256, 144
	thumbPeriod    = time.Second
)

// monitorChoice is the monitor the user picked.
type monitorChoice struct {
	Index int
	Name  string
}

// sharePicker is the dialog with one card per monitor. Arrow keys move the
// selection, Enter shares, Escape cancels.
type sharePicker struct {
	w        *mainWindow
	callID   string
	dlg      *dialog.ConfirmDialog
	grid     *fyne.Container
	status   *widget.Label
	monitors []capture.Monitor
	cards    []*monitorCard
	selected int
	prevKey  func(*fyne.KeyEvent)
	closed   bool

	stop chan struct{} // ends the thumbnail refresher
}

func (w *mainWindow) openPicker(callID string) {
	if w.picker != nil {
		return
	}
	p := &sharePicker{w: w, callID: callID, selected: -1, stop: make(chan struct{})}
	w.picker = p
	p.status = widget.NewLabel("Looking for monitors…")
	p.grid = container.NewHBox()
	hint := widget.NewLabel("Everything on the chosen monitor will be visible to the other party. ←/→ choose, Enter shares, Esc cancels.")
	hint.Wrapping = fyne.TextWrapWord
	content := container.NewBorder(container.NewVBox(hint, p.status), nil, nil, nil, container.NewHScroll(container.NewCenter(p.grid)))
	p.dlg = dialog.NewCustomConfirm("Share a monitor", "Share", "Cancel", content, func(ok bool) {
		if ok && p.selected >= 0 {
			p.shareSelected()
			return
		}
		p.close()
	}, w.win)
	p.dlg.SetConfirmImportance(widget.DangerImportance)
	p.resize(2)
	p.prevKey = w.win.Canvas().OnTypedKey()
	w.win.Canvas().SetOnTypedKey(p.typedKey)
	p.dlg.Show()
	p.refreshButtons()

	w.wg.Add(1)
	go p.load() // owner: mainWindow (via the picker); ends on close or window stop
}

// load lists the monitors, then refreshes their thumbnails until closed.
func (p *sharePicker) load() {
	defer p.w.wg.Done()
	mons, err := p.w.sharer.Monitors()
	p.w.opts.do(func() { p.setMonitors(mons, err) })
	if err != nil {
		return
	}
	t := time.NewTicker(thumbPeriod)
	defer t.Stop()
	for {
		thumbs := make([]image.Image, len(mons))
		for i, m := range mons {
			select {
			case <-p.stop:
				return
			case <-p.w.ctx.Done():
				return
			default:
			}
			img, err := p.w.sharer.Thumbnail(m.Index, thumbW, thumbH)
			if err == nil {
				thumbs[i] = img
			}
		}
		p.w.opts.do(func() { p.setThumbnails(thumbs) })
		select {
		case <-p.stop:
			return
		case <-p.w.ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (p *sharePicker) setMonitors(mons []capture.Monitor, err error) {
	if p.closed {
		return
	}
	if err != nil {
		p.status.SetText("Cannot list monitors: " + err.Error())
		return
	}
	if len(mons) == 0 {
		p.status.SetText("No monitor found to share.")
		return
	}
	p.status.SetText(fmt.Sprintf("%d monitor(s). Thumbnails refresh every second.", len(mons)))
	p.monitors = mons
	p.resize(len(mons))
	for i, m := range mons {
		c := newMonitorCard(m, func() { p.choose(i) }, func() { p.choose(i); p.shareSelected() })
		p.cards = append(p.cards, c)
		p.grid.Add(c)
	}
	// Preselect the primary monitor: the likeliest choice.
	sel := 0
	for i, m := range mons {
		if m.Primary {
			sel = i
			break
		}
	}
	p.choose(sel)
}

// resize fits the dialog to n cards (at most three side by side; more
// scroll).
func (p *sharePicker) resize(n int) {
	n = min(max(n, 2), 3)
	p.dlg.Resize(fyne.NewSize(float32(n)*(thumbW+4*theme.Padding())+8*theme.Padding(), thumbH+300))
}

func (p *sharePicker) setThumbnails(thumbs []image.Image) {
	if p.closed {
		return
	}
	for i, img := range thumbs {
		if i < len(p.cards) && img != nil {
			p.cards[i].setThumbnail(img)
		}
	}
}

func (p *sharePicker) choose(i int) {
	if i < 0 || i >= len(p.cards) {
		return
	}
	p.selected = i
	for j, c := range p.cards {
		c.setSelected(j == i)
	}
	p.refreshButtons()
}

func (p *sharePicker) refreshButtons() {
	if p.selected >= 0 {
		p.dlg.SetConfirmText("Share " + p.monitors[p.selected].Name)
	} else {
		p.dlg.SetConfirmText("Share")
	}
}

func (p *sharePicker) typedKey(e *fyne.KeyEvent) {
	switch e.Name {
	case fyne.KeyLeft, fyne.KeyUp:
		p.choose(max(p.selected-1, 0))
	case fyne.KeyRight, fyne.KeyDown:
		p.choose(min(p.selected+1, len(p.cards)-1))
	case fyne.KeyReturn, fyne.KeyEnter:
		p.shareSelected()
	case fyne.KeyEscape:
		p.dlg.Hide()
		p.close()
	}
}

// shareSelected asks the engine to share the chosen monitor. The sharing
// indicator waits for the engine's onScreenShareStarted.
func (p *sharePicker) shareSelected() {
	if p.closed || p.selected < 0 {
		return
	}
	m := p.monitors[p.selected]
	p.dlg.Hide()
	p.close()
	p.w.startShare(p.callID, monitorChoice{Index: m.Index, Name: m.Name})
}

func (p *sharePicker) close() {
	if p.closed {
		return
	}
	p.closed = true
	close(p.stop)
	p.w.win.Canvas().SetOnTypedKey(p.prevKey)
	if p.w.picker == p {
		p.w.picker = nil
	}
}

// monitorCard is one monitor in the picker: thumbnail, name, resolution and
// a primary marker; tap selects, double-tap shares.
type monitorCard struct {
	widget.BaseWidget
	bg       *canvas.Rectangle
	thumb    *canvas.Image
	name     *widget.Label
	info     *widget.Label
	onTap    func()
	onDouble func()
	selected bool
}

func newMonitorCard(m capture.Monitor, onTap, onDouble func()) *monitorCard {
	c := &monitorCard{onTap: onTap, onDouble: onDouble}
	c.bg = canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground))
	c.bg.CornerRadius = theme.InputRadiusSize()
	c.bg.StrokeWidth = 3
	c.thumb = canvas.NewImageFromImage(nil)
	c.thumb.FillMode = canvas.ImageFillContain
	c.thumb.SetMinSize(fyne.NewSize(thumbW, thumbH))
	c.name = widget.NewLabelWithStyle(m.Name, fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	c.name.Truncation = fyne.TextTruncateEllipsis
	info := fmt.Sprintf("%d × %d", m.Width, m.Height)
	if m.Primary {
		info += " · ★ primary"
	}
	c.info = widget.NewLabelWithStyle(info, fyne.TextAlignCenter, fyne.TextStyle{})
	c.info.SizeName = theme.SizeNameCaptionText
	c.ExtendBaseWidget(c)
	return c
}

func (c *monitorCard) CreateRenderer() fyne.WidgetRenderer {
	thumbBG := canvas.NewRectangle(color.NRGBA{R: 0x11, G: 0x14, B: 0x18, A: 0xFF}) // letterbox, as the video area
	return widget.NewSimpleRenderer(container.NewStack(c.bg,
		container.NewPadded(container.NewBorder(
			container.NewStack(thumbBG, c.thumb), nil, nil, nil,
			container.New(&tightVBox{}, c.name, c.info)))))
}

func (c *monitorCard) setThumbnail(img image.Image) {
	c.thumb.Image = img
	c.thumb.Refresh()
}

func (c *monitorCard) setSelected(on bool) {
	c.selected = on
	if on {
		c.bg.StrokeColor = theme.Color(theme.ColorNamePrimary)
		c.bg.FillColor = withAlpha(theme.Color(theme.ColorNamePrimary), 0x30)
	} else {
		c.bg.StrokeColor = theme.Color(theme.ColorNameSeparator)
		c.bg.FillColor = theme.Color(theme.ColorNameInputBackground)
	}
	c.bg.Refresh()
}

// Tapped selects the card.
func (c *monitorCard) Tapped(*fyne.PointEvent) { c.onTap() }

// DoubleTapped shares the card's monitor.
func (c *monitorCard) DoubleTapped(*fyne.PointEvent) { c.onDouble() }
