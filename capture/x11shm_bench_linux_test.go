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
