package bench

import (
	"image"
	"image/color"
	"image/draw"
	"math/rand/v2"
)

// Desktop draws a fixed, desktop-like w x h picture: a gradient wallpaper
// with a few "windows" full of text-like glyph rows. The same seed gives the
// same pixels, so every run (and both Parlo and ffmpeg) encodes the same
// screen. It has the detail of a real desktop, which a flat colour would
// not: an encoder's cost on a static screen depends on what is on it.
func Desktop(w, h int, seed uint64) *image.RGBA {
	rng := rand.New(rand.NewPCG(seed, 0x9a710))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			o := img.PixOffset(x, y)
			img.Pix[o+0] = uint8(30 + 40*y/h)
			img.Pix[o+1] = uint8(60 + 60*x/w)
			img.Pix[o+2] = uint8(110 + 50*y/h)
			img.Pix[o+3] = 255
		}
	}
	for range 6 {
		// Windows of a fifth to a half of the screen each way.
		ww, wh := w/5+rng.IntN(w*3/10), h/5+rng.IntN(h*3/10)
		x0, y0 := rng.IntN(w-ww), rng.IntN(h-wh)
		bg := color.RGBA{uint8(225 + rng.IntN(30)), uint8(225 + rng.IntN(30)), uint8(225 + rng.IntN(30)), 255}
		draw.Draw(img, image.Rect(x0, y0, x0+ww, y0+wh), &image.Uniform{bg}, image.Point{}, draw.Src)
		title := color.RGBA{uint8(rng.IntN(120)), uint8(rng.IntN(120)), uint8(80 + rng.IntN(120)), 255}
		draw.Draw(img, image.Rect(x0, y0, x0+ww, y0+24), &image.Uniform{title}, image.Point{}, draw.Src)
		for ty := y0 + 34; ty+14 < y0+wh; ty += 18 {
			for tx := x0 + 8; tx+8 < x0+ww-8; tx += 9 {
				if rng.IntN(7) == 0 {
					continue // a space
				}
				DrawGlyph(img, tx, ty, rng.Uint32(), color.RGBA{20, 20, 30, 255})
			}
		}
	}
	return img
}

// GlyphRects returns 2 to 4 rectangles inside an 8x14 cell at (x, y) that look
// like a letter from afar; shape picks which.
func GlyphRects(x, y int, shape uint32) []image.Rectangle {
	n := 2 + int(shape%3)
	out := make([]image.Rectangle, 0, n)
	for i := 0; i < n; i++ {
		s := shape >> (4 + 6*i)
		vertical := s&1 == 1
		off := int(s>>1) % 6
		if vertical {
			out = append(out, image.Rect(x+off, y+2+int(s>>3)%4, x+off+2, y+14))
		} else {
			out = append(out, image.Rect(x, y+2+off*2, x+7, y+4+off*2))
		}
	}
	return out
}

// DrawGlyph paints GlyphRects(x, y, shape) into img.
func DrawGlyph(img draw.Image, x, y int, shape uint32, c color.Color) {
	for _, r := range GlyphRects(x, y, shape) {
		draw.Draw(img, r, &image.Uniform{c}, image.Point{}, draw.Src)
	}
}
