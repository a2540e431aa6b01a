package bench

import (
	"image"
	"image/color"
	"image/draw"
	"testing"
)

// paintBarcode draws v the way XPainter.StartBarcode does, into img at (x0, y0).
func paintBarcode(img draw.Image, x0, y0 int, v uint32) {
	for i, bit := range BarcodeBitsOf(v) {
		c := color.Gray{0}
		if bit {
			c = color.Gray{255}
		}
		draw.Draw(img, image.Rect(x0+i*BarcodeBlock, y0, x0+(i+1)*BarcodeBlock, y0+BarcodeBlock), &image.Uniform{c}, image.Point{}, draw.Src)
	}
}

func toYCbCr(g *image.Gray) *image.YCbCr {
	y := image.NewYCbCr(g.Rect, image.YCbCrSubsampleRatio420)
	copy(y.Y, g.Pix)
	return y
}

func TestBarcodeRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		v    uint32
		want uint32
	}{
		{"zero", 0, 0},
		{"small", 1234, 1234},
		{"max", 1<<24 - 1, 1<<24 - 1},
		{"wraps to 24 bits", 1<<24 + 5, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := image.NewGray(image.Rect(0, 0, 1920, 200))
			paintBarcode(g, 64, 64, tc.v)
			// The engine has handed out both kinds of picture.
			rgba := image.NewRGBA(g.Rect)
			draw.Draw(rgba, g.Rect, g, image.Point{}, draw.Src)
			for _, img := range []image.Image{toYCbCr(g), rgba} {
				got, ok := ReadBarcode(img, 64, 64)
				if !ok || got != tc.want {
					t.Fatalf("ReadBarcode(%T) = %d, %v; want %d", img, got, ok, tc.want)
				}
			}
		})
	}
}

func TestReadBarcodeRejects(t *testing.T) {
	t.Run("blank picture", func(t *testing.T) {
		g := image.NewGray(image.Rect(0, 0, 1920, 200))
		if v, ok := ReadBarcode(toYCbCr(g), 64, 64); ok {
			t.Fatalf("read %d from a black picture", v)
		}
	})
	t.Run("torn between two values", func(t *testing.T) {
		g := image.NewGray(image.Rect(0, 0, 1920, 200))
		paintBarcode(g, 64, 64, 0x0f0f0f)
		// The complement half of another value: value and complement disagree.
		other := image.NewGray(g.Rect)
		paintBarcode(other, 64, 64, 0x0f0f0e)
		half := image.Rect(64+BarcodeValueBits*BarcodeBlock, 64, 64+BarcodeWidth, 64+BarcodeHeight)
		draw.Draw(g, half, other, half.Min, draw.Src)
		if v, ok := ReadBarcode(toYCbCr(g), 64, 64); ok {
			t.Fatalf("read %d from a torn barcode", v)
		}
	})
	t.Run("outside the picture", func(t *testing.T) {
		g := image.NewGray(image.Rect(0, 0, 640, 480))
		if _, ok := ReadBarcode(toYCbCr(g), 64, 64); ok {
			t.Fatal("read a barcode wider than the picture")
		}
	})
}
