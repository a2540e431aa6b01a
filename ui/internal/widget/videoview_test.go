package widget

import (
	"image"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
)

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

// TestVideoViewLetterbox checks what a fitted frame is drawn over: no
// full-view background (the costly rounded one is hidden), and two bars
// that, with the frame's contained rectangle, cover the view without a gap.
func TestVideoViewLetterbox(t *testing.T) {
	test.NewTempApp(t)
	for _, tc := range []struct {
		name         string
		view         fyne.Size
		frameW, frmH int
		vertical     bool // bars above and below
	}{
		{"wide frame in a tall view", fyne.NewSize(400, 400), 1920, 1080, true},
		{"tall frame in a wide view", fyne.NewSize(800, 300), 1080, 1920, false},
		{"wide frame in a wider view", fyne.NewSize(1200, 400), 1280, 720, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := NewVideoView("No video")
			test.NewTempWindow(t, v)
			v.Resize(tc.view)
			if v.bars.Visible() {
				t.Fatal("letterbox shown without a frame")
			}
			v.SetFrame(testImage(tc.frameW, tc.frmH))
			if v.bg.Visible() || !v.bars.Visible() {
				t.Fatalf("fit view with a frame: background visible %v, bars visible %v", v.bg.Visible(), v.bars.Visible())
			}
			top, bottom := v.bars.Objects[0], v.bars.Objects[1]
			aspect := float32(tc.frameW) / float32(tc.frmH)
			if tc.vertical {
				frameH := tc.view.Width / aspect
				if top.Position() != (fyne.Position{}) || top.Size().Width != tc.view.Width || bottom.Size().Width != tc.view.Width {
					t.Errorf("bars not full width: %v %v at %v", top.Size(), bottom.Size(), top.Position())
				}
				if covered := top.Size().Height + bottom.Size().Height + frameH; covered < tc.view.Height {
					t.Errorf("bars and frame cover %v of the view's height %v", covered, tc.view.Height)
				}
				if bottom.Position().Y+bottom.Size().Height != tc.view.Height {
					t.Errorf("bottom bar ends at %v, view at %v", bottom.Position().Y+bottom.Size().Height, tc.view.Height)
				}
				return
			}
			frameW := tc.view.Height * aspect
			if top.Size().Height != tc.view.Height || bottom.Size().Height != tc.view.Height {
				t.Errorf("bars not full height: %v %v", top.Size(), bottom.Size())
			}
			if covered := top.Size().Width + bottom.Size().Width + frameW; covered < tc.view.Width {
				t.Errorf("bars and frame cover %v of the view's width %v", covered, tc.view.Width)
			}
			if bottom.Position().X+bottom.Size().Width != tc.view.Width {
				t.Errorf("right bar ends at %v, view at %v", bottom.Position().X+bottom.Size().Width, tc.view.Width)
			}
			v.SetOriginal(true)
			if !v.bg.Visible() || v.bars.Visible() {
				t.Error("1:1 view: the background should be back and the bars gone")
			}
		})
	}
}

func TestFitScaleMode(t *testing.T) {
	for _, tc := range []struct {
		name  string
		frame image.Point
		view  fyne.Size
		scale float32
		want  canvas.ImageScale
	}{
		{"fitted to the view's width", image.Pt(1198, 674), fyne.NewSize(1198, 770), 1, canvas.ImageScalePixels},
		{"fitted, off by rounding", image.Pt(1197, 673), fyne.NewSize(1198, 770), 1, canvas.ImageScalePixels},
		{"fitted to the view's height", image.Pt(500, 400), fyne.NewSize(900, 400), 1, canvas.ImageScalePixels},
		{"fitted on a HiDPI window", image.Pt(2396, 1348), fyne.NewSize(1198, 770), 2, canvas.ImageScalePixels},
		{"the whole 1080p frame, shrunk by the GPU", image.Pt(1920, 1080), fyne.NewSize(1198, 770), 1, canvas.ImageScaleFastest},
		{"a small frame, enlarged by the GPU", image.Pt(640, 360), fyne.NewSize(1198, 770), 1, canvas.ImageScaleFastest},
		{"fitted at scale 1 on a HiDPI window", image.Pt(1198, 674), fyne.NewSize(1198, 770), 2, canvas.ImageScaleFastest},
		{"not laid out", image.Pt(1198, 674), fyne.NewSize(0, 0), 1, canvas.ImageScaleFastest},
	} {
		if got := fitScaleMode(tc.frame, tc.view, tc.scale); got != tc.want {
			t.Errorf("%s: fitScaleMode(%v, %v, %v) = %v, want %v", tc.name, tc.frame, tc.view, tc.scale, got, tc.want)
		}
	}
}

// TestVideoViewSamplesFittedFramesExactly checks that SetFrame applies
// fitScaleMode: nearest for a frame fitted to the view, linear otherwise.
func TestVideoViewSamplesFittedFramesExactly(t *testing.T) {
	test.NewTempApp(t)
	v := NewVideoView("No video")
	test.NewTempWindow(t, v)
	v.Resize(fyne.NewSize(400, 400))
	v.SetFrame(testImage(400, 225))
	if v.fit.ScaleMode != canvas.ImageScalePixels {
		t.Errorf("a frame fitted to the view: scale mode %v, want Pixels", v.fit.ScaleMode)
	}
	v.SetFrame(testImage(1920, 1080))
	if v.fit.ScaleMode != canvas.ImageScaleFastest {
		t.Errorf("a 1080p frame in a 400-unit view: scale mode %v, want Fastest (linear)", v.fit.ScaleMode)
	}
}
