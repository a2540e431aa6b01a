package capture

import (
	"errors"
	"image"
)

// errNoPictureYet is what Grab returns before a pushed stream (PipeWire)
// delivered its first picture. The Source does not count it as a failure
// and tries again when DamageNotify says the picture came: waiting inside
// Grab would hold Close up.
var errNoPictureYet = errors.New("capture: no picture yet")

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

// damageTracker is implemented by back ends that can tell which areas of
// the screen were repainted (X11 DAMAGE). A Source uses it to grab only
// after, and only where, something changed.
type damageTracker interface {
	// EnableDamage starts tracking; ErrNoDamage when the display cannot.
	EnableDamage() error
	// Damaged returns the rectangles repainted since the previous call
	// (in the coordinates Grab takes), nil when nothing was.
	Damaged() ([]image.Rectangle, error)
	// DamageNotify is signalled when something was drawn since the last
	// Damaged call, so that the Source sleeps while nothing is.
	DamageNotify() <-chan struct{}
}

// windowGrabber is a grabber of one window (Grab and Damaged in window
// coordinates) that follows its size.
type windowGrabber interface {
	grabber
	damageTracker
	// Update re-reads the window's geometry; ErrWindowGone once it is
	// destroyed.
	Update() error
	// Size is the window's size at the last update, and whether it is
	// mapped (a minimised window is not).
	Size() (w, h int, viewable bool)
	// UsesComposite tells whether covered parts of the window are
	// captured (its own pixmap) or what covers them (the screen's area).
	UsesComposite() bool
}

// screenWatcher is implemented by damage trackers that are told when the
// monitor layout changes (X11 RandR events).
type screenWatcher interface {
	WatchesScreen() bool
	// ScreenChanged reports, once, that the layout changed.
	ScreenChanged() bool
}
