// Package widget holds Parlo's private Fyne widgets.
package widget

import (
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// tipDelay is how long the pointer rests on a button before its tooltip shows.
const tipDelay = 600 * time.Millisecond

// TipButton is a button with a tooltip (Fyne 2.7 has none built in). The
// tooltip names the action's keyboard shortcut, or why the button is
// disabled.
type TipButton struct {
	widget.Button

	mu    sync.Mutex
	tip   string
	timer *time.Timer
	popup *widget.PopUp
}

// NewTipButton makes a button with label, icon (may be nil), tooltip and action.
func NewTipButton(label string, icon fyne.Resource, tip string, tapped func()) *TipButton {
	b := &TipButton{tip: tip}
	b.Text, b.Icon, b.OnTapped = label, icon, tapped
	b.ExtendBaseWidget(b)
	return b
}

// Tip returns the tooltip text.
func (b *TipButton) Tip() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.tip
}

// SetTip changes the tooltip text.
func (b *TipButton) SetTip(tip string) {
	b.mu.Lock()
	b.tip = tip
	b.mu.Unlock()
}

// MouseIn starts the tooltip timer (and keeps the button's hover look).
func (b *TipButton) MouseIn(e *desktop.MouseEvent) {
	b.Button.MouseIn(e)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.timer != nil {
		b.timer.Stop()
	}
	b.timer = time.AfterFunc(tipDelay, func() { fyne.Do(b.ShowTip) })
}

// MouseOut hides the tooltip.
func (b *TipButton) MouseOut() {
	b.Button.MouseOut()
	b.mu.Lock()
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	b.mu.Unlock()
	b.HideTip()
}

// Tapped hides the tooltip and runs the action.
func (b *TipButton) Tapped(e *fyne.PointEvent) {
	b.HideTip()
	b.Button.Tapped(e)
}

// ShowTip shows the tooltip below the button now. Call on the UI goroutine.
func (b *TipButton) ShowTip() {
	tip := b.Tip()
	c := fyne.CurrentApp().Driver().CanvasForObject(b)
	if tip == "" || c == nil || !b.Visible() {
		return
	}
	b.HideTip()
	bg := canvas.NewRectangle(theme.Color(theme.ColorNameOverlayBackground))
	bg.StrokeColor = theme.Color(theme.ColorNameSeparator)
	bg.StrokeWidth = 1
	bg.CornerRadius = theme.InputRadiusSize()
	txt := canvas.NewText(tip, theme.Color(theme.ColorNameForeground))
	txt.TextSize = theme.CaptionTextSize()
	content := container.NewStack(bg, container.NewPadded(txt))
	p := widget.NewPopUp(content, c)
	p.Resize(content.MinSize())
	pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(b)
	pos.Y += b.Size().Height + 2
	// Keep the tip inside the window.
	if over := pos.X + content.MinSize().Width - c.Size().Width; over > 0 {
		pos.X -= over
	}
	if pos.Y+content.MinSize().Height > c.Size().Height {
		pos.Y -= b.Size().Height + content.MinSize().Height + 4
	}
	p.ShowAtPosition(pos)
	b.mu.Lock()
	b.popup = p
	b.mu.Unlock()
}

// HideTip hides the tooltip if it shows.
func (b *TipButton) HideTip() {
	b.mu.Lock()
	p := b.popup
	b.popup = nil
	b.mu.Unlock()
	if p != nil {
		p.Hide()
	}
}
