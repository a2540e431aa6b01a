package widget

import (
	"image"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
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

func TestVideoViewFitOriginalPlaceholder(t *testing.T) {
	test.NewTempApp(t)
	v := NewVideoView("No video")
	test.NewTempWindow(t, v).Resize(fyne.NewSize(400, 300))
	if v.HasFrame() || !v.placeholder.Visible() {
		t.Fatal("placeholder not shown without a frame")
	}
	img := testImage(1280, 720)
	v.SetFrame(img)
	if !v.fit.Visible() || v.placeholder.Visible() || v.fit.FillMode != canvas.ImageFillContain {
		t.Fatal("fit view not shown with aspect kept")
	}
	v.SetOriginal(true)
	if !v.scroll.Visible() || v.fit.Visible() {
		t.Fatal("1:1 view not shown")
	}
	if got := v.orig.MinSize(); got.Width != 1280 || got.Height != 720 {
		t.Errorf("1:1 size %v, want 1280x720 at scale 1", got)
	}
	double := 0
	v.OnDoubleTapped = func() { double++ }
	test.DoubleTap(v)
	if double != 1 {
		t.Error("double-tap not reported")
	}
	v.SetFrame(nil)
	if !v.placeholder.Visible() {
		t.Error("placeholder not back after nil frame")
	}
}

func testImage(w, h int) *image.RGBA { return image.NewRGBA(image.Rect(0, 0, w, h)) }
