package ui

import (
	"slices"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// promptCards is a column of cards at the top of the main window, one per
// call that asks the user something (a ringing call, a transfer request),
// in the order they came. C is the owner's card: what it updates later.
type promptCards[C any] struct {
	ids   []string
	cards map[string]C
	roots map[string]fyne.CanvasObject
	box   *fyne.Container
}

func newPromptCards[C any]() promptCards[C] {
	return promptCards[C]{cards: map[string]C{}, roots: map[string]fyne.CanvasObject{}, box: container.NewVBox()}
}

func (p *promptCards[C]) object() fyne.CanvasObject { return p.box }

func (p *promptCards[C]) has(id string) bool { return slices.Contains(p.ids, id) }

// put shows card c, drawn as root, for call id (at most one per call).
func (p *promptCards[C]) put(id string, c C, root fyne.CanvasObject) {
	if p.has(id) {
		return
	}
	p.ids = append(p.ids, id)
	p.cards[id] = c
	p.roots[id] = root
	p.box.Add(root)
}

func (p *promptCards[C]) remove(id string) {
	root, ok := p.roots[id]
	if !ok {
		return
	}
	delete(p.cards, id)
	delete(p.roots, id)
	p.ids = slices.DeleteFunc(p.ids, func(s string) bool { return s == id })
	p.box.Remove(root)
}

// showing reports the calls with a card shown (tests).
func (p *promptCards[C]) showing() []string { return slices.Clone(p.ids) }

// newPromptCard draws one card: a background tinted with accent and outlined
// in it, the icon on the left, text in the middle, the buttons on the right.
func newPromptCard(accent fyne.ThemeColorName, icon fyne.Resource, text fyne.CanvasObject, buttons ...fyne.CanvasObject) fyne.CanvasObject {
	bg := canvas.NewRectangle(withAlpha(theme.Color(accent), 0x33))
	bg.StrokeColor = theme.Color(accent)
	bg.StrokeWidth = 2
	bg.CornerRadius = theme.InputRadiusSize()
	row := container.NewHBox()
	for _, b := range buttons {
		row.Add(container.NewCenter(b))
	}
	return container.NewPadded(container.NewStack(bg,
		container.NewPadded(container.NewBorder(nil, nil, container.NewCenter(widget.NewIcon(icon)), row, text))))
}
