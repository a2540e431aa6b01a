//go:build !linux

package capture

import (
	"fmt"
	"image"
	"sync"

	"github.com/kbinani/screenshot"
)

// screenshotGrabber captures through kbinani/screenshot on systems without the
// X11 back end (Windows, macOS). It converts RGBA to the BGRX layout the rest
// of the package uses, into one reused buffer.
type screenshotGrabber struct {
	mu     sync.Mutex
	buf    []byte
	closed bool
}

func openGrabber(string, bool) (grabber, error) {
	if screenshot.NumActiveDisplays() == 0 {
		return nil, ErrNoDisplay
	}
	return &screenshotGrabber{}, nil
}

func (g *screenshotGrabber) Grab(r image.Rectangle) (BGRAFrame, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return BGRAFrame{}, ErrClosed
	}
	img, err := screenshot.CaptureRect(r)
	if err != nil {
		return BGRAFrame{}, fmt.Errorf("capture: %w", err)
	}
	w, h := r.Dx(), r.Dy()
	if cap(g.buf) < w*h*4 {
		g.buf = make([]byte, w*h*4)
	}
	g.buf = g.buf[:w*h*4]
	for y := 0; y < h; y++ {
		src := img.Pix[y*img.Stride : y*img.Stride+w*4]
		dst := g.buf[y*w*4 : (y+1)*w*4]
		for i := 0; i+3 < len(src); i += 4 {
			dst[i], dst[i+1], dst[i+2], dst[i+3] = src[i+2], src[i+1], src[i], 0xff
		}
	}
	return BGRAFrame{Pix: g.buf, Stride: w * 4, Width: w, Height: h}, nil
}

func (g *screenshotGrabber) Monitors() ([]Monitor, error) {
	n := screenshot.NumActiveDisplays()
	if n == 0 {
		return nil, ErrNoDisplay
	}
	list := make([]Monitor, 0, n)
	for i := 0; i < n; i++ {
		b := screenshot.GetDisplayBounds(i)
		list = append(list, Monitor{Name: fmt.Sprintf("Display %d", i+1), X: b.Min.X, Y: b.Min.Y,
			Width: b.Dx(), Height: b.Dy(), Primary: b.Min.X == 0 && b.Min.Y == 0})
	}
	return normalizeMonitors(list, ""), nil
}

func (g *screenshotGrabber) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	return nil
}
