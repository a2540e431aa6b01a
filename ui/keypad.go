package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// dtmfKeys is the telephone keypad, row by row.
var dtmfKeys = []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"}

// callKeys makes the call view a keyboard target: while it has focus (a
// click on it, or opening the keypad), typed digits, * and # are sent as
// DTMF to the active call. A thin focus-coloured frame shows when it has
// the keyboard.
type callKeys struct {
	widget.BaseWidget
	w       *mainWindow
	content fyne.CanvasObject
	frame   *canvas.Rectangle
	focused bool
}

func newCallKeys(w *mainWindow, content fyne.CanvasObject) *callKeys {
	k := &callKeys{w: w, content: content}
	k.frame = canvas.NewRectangle(color.Transparent)
	k.frame.StrokeWidth = 2
	k.frame.CornerRadius = theme.InputRadiusSize()
	k.frame.Hide()
	k.ExtendBaseWidget(k)
	return k
}

func (k *callKeys) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(container.NewStack(k.content, k.frame))
}

// Tapped takes the keyboard (a click on the view outside its buttons).
func (k *callKeys) Tapped(*fyne.PointEvent) {
	k.w.win.Canvas().Focus(k)
}

func (k *callKeys) FocusGained() {
	k.focused = true
	k.frame.StrokeColor = theme.Color(theme.ColorNameFocus)
	k.frame.Show()
	k.frame.Refresh()
}

func (k *callKeys) FocusLost() {
	k.focused = false
	k.frame.Hide()
}

// TypedRune sends keypad characters as tones; anything else is ignored.
func (k *callKeys) TypedRune(r rune) {
	if isDTMF(r) {
		k.w.sendDTMF(string(r))
	}
}

// TypedKey lets Escape give the keyboard back.
func (k *callKeys) TypedKey(e *fyne.KeyEvent) {
	if e.Name == fyne.KeyEscape {
		k.w.win.Canvas().Unfocus()
	}
}

// newKeypad is the in-call keypad: each key sends its tone to the active
// call.
func newKeypad(w *mainWindow) (*fyne.Container, []*widget.Button) {
	var objs []fyne.CanvasObject
	var buttons []*widget.Button
	for _, key := range dtmfKeys {
		b := widget.NewButton(key, func() { w.sendDTMF(key) })
		buttons = append(buttons, b)
		objs = append(objs, b)
	}
	return container.NewGridWithColumns(3, objs...), buttons
}
