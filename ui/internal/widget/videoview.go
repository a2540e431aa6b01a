package widget

import (
	"image"
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// VideoView draws decoded remote video: scaled to fit with the aspect kept,
// or at 1:1 in a scroll area, with a placeholder when there is no frame.
// Double-click calls OnDoubleTapped (fullscreen).
type VideoView struct {
	widget.BaseWidget

	OnDoubleTapped func()

	bg          *canvas.Rectangle
	bars        *fyne.Container // the letterbox around a fitted frame
	fit         *canvas.Image
	orig        *canvas.Image
	scroll      *container.Scroll
	placeholder *fyne.Container
	message     *widget.Label
	original    bool
	hasFrame    bool
	frameSize   image.Point // of the shown frame, for the letterbox
}

// NewVideoView makes an empty view showing the placeholder message.
func NewVideoView(message string) *VideoView {
	v := &VideoView{
		bg: canvas.NewRectangle(videoBackground),
		// Fastest lets OpenGL scale the frame (linear filtering); Smooth
		// makes Fyne rescale every frame on the CPU (CatmullRom) before
		// the upload, hundreds of ms for a 1080p frame. SetFrame picks
		// Pixels for a frame that needs no scaling (fitScaleMode).
		fit:     &canvas.Image{FillMode: canvas.ImageFillContain, ScaleMode: canvas.ImageScaleFastest},
		orig:    &canvas.Image{FillMode: canvas.ImageFillOriginal, ScaleMode: canvas.ImageScaleFastest},
		message: widget.NewLabelWithStyle(message, fyne.TextAlignCenter, fyne.TextStyle{}),
	}
	v.bg.CornerRadius = theme.InputRadiusSize()
	v.bg.StrokeColor = color.NRGBA{R: 0x80, G: 0x80, B: 0x80, A: 0x40}
	v.bg.StrokeWidth = 1
	v.message.Wrapping = fyne.TextWrapWord
	icon := canvas.NewImageFromResource(theme.ComputerIcon())
	icon.FillMode = canvas.ImageFillContain
	icon.SetMinSize(fyne.NewSquareSize(64))
	// A fixed-width box so the message wraps into lines, not words.
	v.placeholder = container.NewCenter(container.NewGridWrap(fyne.NewSize(380, 150),
		container.NewVBox(container.NewCenter(icon), v.message)))
	bar := func() fyne.CanvasObject { return canvas.NewRectangle(videoBackground) }
	v.bars = container.New(letterbox{v}, bar(), bar())
	v.bars.Hide()
	v.scroll = container.NewScroll(container.NewCenter(v.orig))
	v.fit.Hide()
	v.scroll.Hide()
	v.ExtendBaseWidget(v)
	return v
}

// CreateRenderer implements fyne.Widget.
func (v *VideoView) CreateRenderer() fyne.WidgetRenderer {
	// The video area is always dark (like any player), whatever the app
	// theme, so its text and icons use the dark variant.
	return widget.NewSimpleRenderer(container.NewThemeOverride(
		container.NewStack(v.bg, v.bars, v.fit, v.scroll, v.placeholder), darkTheme{theme.DefaultTheme()}))
}

// MinSize keeps room for the placeholder and a usable picture.
func (v *VideoView) MinSize() fyne.Size {
	return fyne.NewSize(240, 160)
}

// SetFrame shows img (nil returns to the placeholder).
func (v *VideoView) SetFrame(img image.Image) {
	v.hasFrame = img != nil
	v.fit.Image, v.orig.Image = img, img
	if img != nil {
		b := img.Bounds()
		if b.Size() != v.frameSize {
			v.frameSize = b.Size()
			v.bars.Refresh() // the letterbox follows the frame's aspect
		}
		// 1:1 means one frame pixel per device pixel.
		scale := v.canvasScale()
		v.orig.SetMinSize(fyne.NewSize(float32(b.Dx())/scale, float32(b.Dy())/scale))
		v.fit.ScaleMode = fitScaleMode(b.Size(), v.Size(), scale)
	}
	v.show()
}

// fitScaleMode is how OpenGL should sample a frame of size frame (pixels)
// fitted into a view of size view (Fyne units at scale pixels a unit). A
// frame already scaled to the picture's size on screen (the engine's
// LatestFit) maps texel to pixel: nearest sampling shows it exactly and
// costs Mesa's software renderer ~10 % less per paint than linear (2-3 ms
// of CPU at 1200x674). Any other frame is scaled by the GPU, linearly: with
// nearest, text in a shrunk or enlarged frame would break up.
func fitScaleMode(frame image.Point, view fyne.Size, scale float32) canvas.ImageScale {
	pic, ok := containSize(frame, fyne.NewSize(view.Width*scale, view.Height*scale))
	if !ok {
		return canvas.ImageScaleFastest
	}
	near := func(a int, b float32) bool { d := float32(a) - b; return d > -1.5 && d < 1.5 }
	if near(frame.X, pic.Width) && near(frame.Y, pic.Height) {
		return canvas.ImageScalePixels
	}
	return canvas.ImageScaleFastest
}

// containSize is the size a frame of size frame takes in view with its
// aspect kept (ImageFillContain): the view's width, or its height when the
// frame is the taller of the two. ok is false when either is empty.
func containSize(frame image.Point, view fyne.Size) (pic fyne.Size, ok bool) {
	if frame.X <= 0 || frame.Y <= 0 || view.Width <= 0 || view.Height <= 0 {
		return fyne.Size{}, false
	}
	if h := view.Width * float32(frame.Y) / float32(frame.X); h <= view.Height {
		return fyne.NewSize(view.Width, h), true
	}
	return fyne.NewSize(view.Height*float32(frame.X)/float32(frame.Y), view.Height), true
}

// FitPixels is the size in device pixels a frame is shown at in fit view
// (the view's size); 0, 0 at 1:1 or before the view is laid out.
func (v *VideoView) FitPixels() (w, h int) {
	if v.original {
		return 0, 0
	}
	sz, scale := v.Size(), v.canvasScale()
	return int(sz.Width * scale), int(sz.Height * scale)
}

// canvasScale is device pixels per Fyne unit of the view's window (1 before
// it is on one).
func (v *VideoView) canvasScale() float32 {
	if c := fyne.CurrentApp().Driver().CanvasForObject(v); c != nil {
		return c.Scale()
	}
	return 1
}

// SetMessage changes the placeholder text.
func (v *VideoView) SetMessage(msg string) { v.message.SetText(msg) }

// SetOriginal switches between 1:1 (true) and fit (false).
func (v *VideoView) SetOriginal(on bool) {
	v.original = on
	v.show()
}

// Original reports whether the view is at 1:1.
func (v *VideoView) Original() bool { return v.original }

// HasFrame reports whether a frame is shown.
func (v *VideoView) HasFrame() bool { return v.hasFrame }

func (v *VideoView) show() {
	switch {
	case !v.hasFrame:
		v.fit.Hide()
		v.scroll.Hide()
		v.bars.Hide()
		v.bg.Show()
		v.placeholder.Show()
	case v.original:
		v.placeholder.Hide()
		v.fit.Hide()
		v.bars.Hide()
		v.bg.Show()
		v.scroll.Show()
		v.orig.Refresh()
		v.scroll.Refresh()
	default:
		// The rounded background under a fitted frame costs more than
		// the frame itself on a software renderer (Mesa's llvmpipe runs
		// its corner shader for every pixel of the view on every frame:
		// about 20 ms of CPU per paint at 1200x770), and the frame hides
		// it anyway; plain bars fill only the letterbox.
		v.placeholder.Hide()
		v.scroll.Hide()
		v.bg.Hide()
		v.bars.Show()
		v.fit.Show()
		v.fit.Refresh()
	}
}

// videoBackground is the video area's colour: dark, as in any player.
var videoBackground = color.NRGBA{R: 0x11, G: 0x14, B: 0x18, A: 0xFF}

// letterbox lays out the two bars beside a frame fitted into the view with
// its aspect kept (ImageFillContain): above and below it, or left and right.
type letterbox struct{ v *VideoView }

// Layout implements fyne.Layout.
func (l letterbox) Layout(bars []fyne.CanvasObject, size fyne.Size) {
	if len(bars) != 2 {
		return
	}
	pic, ok := containSize(l.v.frameSize, size)
	if !ok {
		bars[0].Resize(size)
		bars[0].Move(fyne.NewPos(0, 0))
		bars[1].Resize(fyne.NewSize(0, 0))
		return
	}
	// Each bar reaches one unit under the frame, so that rounding in the
	// painter leaves no seam of the window's own background.
	const overlap = 1
	if pic.Width < size.Width { // pillarbox: bars left and right
		w := (size.Width - pic.Width) / 2
		bars[0].Move(fyne.NewPos(0, 0))
		bars[0].Resize(fyne.NewSize(w+overlap, size.Height))
		bars[1].Move(fyne.NewPos(size.Width-w-overlap, 0))
		bars[1].Resize(fyne.NewSize(w+overlap, size.Height))
		return
	}
	h := (size.Height - pic.Height) / 2 // letterbox: bars above and below
	bars[0].Move(fyne.NewPos(0, 0))
	bars[0].Resize(fyne.NewSize(size.Width, h+overlap))
	bars[1].Move(fyne.NewPos(0, size.Height-h-overlap))
	bars[1].Resize(fyne.NewSize(size.Width, h+overlap))
}

// MinSize implements fyne.Layout.
func (letterbox) MinSize([]fyne.CanvasObject) fyne.Size { return fyne.NewSize(0, 0) }

// DoubleTapped implements fyne.DoubleTappable.
func (v *VideoView) DoubleTapped(*fyne.PointEvent) {
	if v.OnDoubleTapped != nil {
		v.OnDoubleTapped()
	}
}

// darkTheme is the default theme's dark variant.
type darkTheme struct{ fyne.Theme }

func (t darkTheme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	return t.Theme.Color(n, theme.VariantDark)
}
