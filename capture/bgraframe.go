package capture

// BGRAFrame is a view of captured pixels: 4 bytes per pixel in memory order
// B, G, R, X (X11 ZPixmap depth 24/32 on a little-endian machine, Windows DIB).
// The view is only valid until the next Grab on the grabber that returned it.
type BGRAFrame struct {
	Pix    []byte
	Stride int // bytes per row
	Width  int
	Height int
}

// At returns the B, G, R bytes of pixel (x, y).
func (f BGRAFrame) At(x, y int) (b, g, r byte) {
	i := y*f.Stride + x*4
	return f.Pix[i], f.Pix[i+1], f.Pix[i+2]
}
