package capture

import "image"

// grabber is what Source and Thumbnail need from a platform back end:
// X11Grabber on Linux, a kbinani/screenshot wrapper elsewhere.
type grabber interface {
	// Grab returns the pixels of r (in root-window/virtual-desktop
	// coordinates). The frame is valid until the next Grab.
	Grab(r image.Rectangle) (BGRAFrame, error)
	// Monitors lists the monitors as the display sees them now.
	Monitors() ([]Monitor, error)
	Close() error
}
