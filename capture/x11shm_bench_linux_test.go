package capture

import (
	"image"
	"testing"
)

func benchmarkGrab(b *testing.B, shm bool) {
	b.Helper()
	display := sharedXvfbDisplay(b)
	g, err := NewX11Grabber(display)
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	if shm && !g.UsesSharedMemory() {
		b.Fatal("no MIT-SHM")
	}
	g.useShm = shm
	r := image.Rect(0, 0, 1920, 1080)
	b.SetBytes(1920 * 1080 * 4)
	for b.Loop() {
		if _, err := g.Grab(r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkX11Grab_1080pShm(b *testing.B)   { benchmarkGrab(b, true) }
func BenchmarkX11Grab_1080pNoShm(b *testing.B) { benchmarkGrab(b, false) }

// BenchmarkCapturePipeline_1080pStatic is what a Source tick costs on an
// unchanged screen: grab + change detection.
func BenchmarkCapturePipeline_1080pStatic(b *testing.B) {
	display := sharedXvfbDisplay(b)
	g, err := NewX11Grabber(display)
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	var d ChangeDetector
	r := image.Rect(0, 0, 1920, 1080)
	for b.Loop() {
		f, err := g.Grab(r)
		if err != nil {
			b.Fatal(err)
		}
		d.Detect(f)
	}
}

// BenchmarkThumbnail_1080p is one picker refresh of a 1080p monitor.
func BenchmarkThumbnail_1080p(b *testing.B) {
	display := sharedXvfbDisplay(b)
	m := Monitor{Width: 1920, Height: 1080, Display: display}
	for b.Loop() {
		if _, err := Thumbnail(m, 320, 180); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkX11GrabRegion is what clipRegions weighs: one MIT-SHM GetImage
// per damaged rectangle (a round trip each) against one of their bounding
// box. A glyph, a line of text, a 300x40 box, a quarter and the whole 1080p
// screen.
func BenchmarkX11GrabRegion(b *testing.B) {
	display := sharedXvfbDisplay(b)
	g, err := NewX11Grabber(display)
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	for _, tc := range []struct {
		name string
		r    image.Rectangle
	}{
		{"glyph_10x20", image.Rect(400, 300, 410, 320)},
		{"line_800x20", image.Rect(400, 300, 1200, 320)},
		{"box_300x40", image.Rect(700, 500, 1000, 540)},
		{"quarter_960x540", image.Rect(0, 0, 960, 540)},
		{"whole_1920x1080", image.Rect(0, 0, 1920, 1080)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(tc.r.Dx() * tc.r.Dy() * 4))
			for b.Loop() {
				if _, err := g.Grab(tc.r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
