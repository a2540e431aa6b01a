package bench

import (
	"image"
	"image/color"
	"image/draw"
	"testing"
	"time"

	xdraw "golang.org/x/image/draw"

	"github.com/parlo-voip/parlo/capture"
)

// bgraOf converts img to the grabber's B, G, R, X layout.
func bgraOf(img image.Image) capture.BGRAFrame {
	b := img.Bounds()
	f := capture.BGRAFrame{Pix: make([]byte, b.Dx()*b.Dy()*4), Stride: b.Dx() * 4, Width: b.Dx(), Height: b.Dy()}
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			i := y*f.Stride + 4*x
			f.Pix[i], f.Pix[i+1], f.Pix[i+2] = byte(bl>>8), byte(g>>8), byte(r>>8)
		}
	}
	return f
}

// The receiving window shows the share scaled, smoothed: the reader must
// read the barcode at the scale the marker gave, and refuse a torn one.
func TestReadBarcodeScaled(t *testing.T) {
	tests := []struct {
		name  string
		scale float64
		v     uint32
	}{
		{"1:1", 1, 0xabcdef},
		{"fit in a 1920 window", 0.69, 4242},
		{"default window", 0.45, 1},
		{"small", 0.3, 0x123456},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := image.NewRGBA(image.Rect(0, 0, BarcodeWidth, BarcodeHeight))
			paintBarcode(src, 0, 0, tc.v)
			w, h := int(float64(BarcodeWidth)*tc.scale), int(float64(BarcodeHeight)*tc.scale)
			dst := image.NewRGBA(image.Rect(0, 0, w, h))
			xdraw.CatmullRom.Scale(dst, dst.Rect, src, src.Rect, xdraw.Src, nil)
			got, ok := readBarcodeBGRA(bgraOf(dst), w, h)
			if !ok || got != tc.v {
				t.Fatalf("read %d, %v; want %d", got, ok, tc.v)
			}
		})
	}
	t.Run("marker colour is no value", func(t *testing.T) {
		img := image.NewRGBA(image.Rect(0, 0, 700, 14))
		draw.Draw(img, img.Rect, &image.Uniform{color.RGBA{255, 0, 255, 255}}, image.Point{}, draw.Src)
		if v, ok := readBarcodeBGRA(bgraOf(img), 700, 14); ok {
			t.Fatalf("read %d from the marker", v)
		}
	})
}

func TestMarkerRect(t *testing.T) {
	magenta := &image.Uniform{color.RGBA{250, 20, 245, 255}}
	tests := []struct {
		name   string
		marker image.Rectangle
		ok     bool
	}{
		{"barcode-shaped", image.Rect(100, 80, 100+1060, 80+22), true},
		{"square blob", image.Rect(100, 80, 200, 180), false},
		{"none", image.Rectangle{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img := image.NewRGBA(image.Rect(0, 0, 1400, 300))
			draw.Draw(img, img.Rect, &image.Uniform{color.RGBA{30, 90, 140, 255}}, image.Point{}, draw.Src)
			draw.Draw(img, tc.marker, magenta, image.Point{}, draw.Src)
			r, ok := markerRect(bgraOf(img))
			if ok != tc.ok || (ok && r != tc.marker) {
				t.Fatalf("markerRect = %v, %v; want %v, %v", r, ok, tc.marker, tc.ok)
			}
		})
	}
}

func TestBarcodeLogWindow(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	var l BarcodeLog
	l.painted(1, ms(0))    // before the window
	l.painted(2, ms(100))  // seen after 60 ms
	l.painted(3, ms(300))  // never shown itself: 4 came first, at 545
	l.painted(4, ms(500))  // seen after 45 ms
	l.painted(5, ms(1900)) // nothing as new shown by the end of the wait: lost
	l.painted(6, ms(2500)) // after the window
	l.Seen(2, ms(160))
	l.Seen(2, ms(200)) // only the first sighting counts
	l.Seen(4, ms(545))
	l.Seen(1, ms(2000))
	if l.LastPaintedBefore(ms(2000)) != 5 || !l.ShownAtLeast(4) || l.ShownAtLeast(5) {
		t.Fatal("LastPaintedBefore/ShownAtLeast disagree with the log")
	}
	got := l.Window(ms(50), ms(2000), ms(3000))
	want := []float64{60, 245, 45, 1100}
	if got.Painted != 4 || got.Skipped != 1 || got.Lost != 1 || got.Bogus != 0 || len(got.Millis) != len(want) {
		t.Fatalf("Window = %+v, want 4 painted, 1 skipped, 1 lost", got)
	}
	for i := range want {
		if got.Millis[i] != want[i] {
			t.Fatalf("Millis = %v, want %v in paint order", got.Millis, want)
		}
	}
	if a, b := got.Halves(); a != 152.5 || b != 572.5 {
		t.Fatalf("Halves = %v, %v; want 152.5, 572.5", a, b)
	}
	// 6 shown later: 5 is then seen through it, after 1200 ms.
	l.Seen(6, ms(3100))
	if got := l.Window(ms(50), ms(2000), ms(3200)); got.Lost != 0 || got.Millis[3] != 1200 {
		t.Fatalf("after 6 was shown: %+v", got)
	}
	l.Seen(99, ms(4100))
	if got := l.Window(ms(50), ms(2000), ms(5000)); got.Bogus != 1 {
		t.Fatalf("a value never painted: Bogus = %d, want 1", got.Bogus)
	}
}
