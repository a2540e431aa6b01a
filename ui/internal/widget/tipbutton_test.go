package widget

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

func TestTipButtonShowsAndHidesTooltip(t *testing.T) {
	test.NewTempApp(t)
	tapped := 0
	b := NewTipButton("Mute", nil, "Mute microphone (Ctrl+Shift+M)", func() { tapped++ })
	w := test.NewTempWindow(t, container.NewVBox(b, widget.NewLabel("below")))
	w.Resize(fyne.NewSize(400, 300))

	b.ShowTip()
	top := w.Canvas().Overlays().Top()
	if top == nil {
		t.Fatal("no tooltip overlay")
	}
	pop, ok := top.(*widget.PopUp)
	if !ok || !pop.Visible() {
		t.Fatalf("overlay %T is not a visible popup", top)
	}
	if pop.Content.Position().Y < b.Size().Height {
		t.Errorf("tooltip at y=%v covers the button (height %v)", pop.Content.Position().Y, b.Size().Height)
	}
	test.Tap(b)
	if tapped != 1 {
		t.Errorf("tapped %d times", tapped)
	}
	if pop.Visible() {
		t.Error("tooltip still shown after the tap")
	}
	b.SetTip("other")
	if b.Tip() != "other" {
		t.Errorf("Tip = %q", b.Tip())
	}
}
