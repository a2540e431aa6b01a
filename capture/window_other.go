//go:build !linux

package capture

import (
	"fmt"
	"image"
)

// WindowsOn lists shareable windows; only the X11 back end can.
func WindowsOn(string) ([]Window, error) {
	return nil, fmt.Errorf("%w: window sharing needs X11", ErrNoDisplay)
}

// WindowThumbnail is not available without X11.
func WindowThumbnail(Window, int, int) (image.Image, error) {
	return nil, fmt.Errorf("%w: window sharing needs X11", ErrNoDisplay)
}

func openTargetGrabber(m Monitor) (grabber, windowGrabber, error) {
	if m.Window != 0 {
		return nil, nil, fmt.Errorf("%w: window sharing needs X11", ErrNoDisplay)
	}
	g, err := openGrabber(m.Display, true)
	return g, nil, err
}
