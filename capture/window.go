package capture

import "fmt"

// Window is one top-level application window that can be shared, as the
// window manager lists it (EWMH _NET_CLIENT_LIST).
type Window struct {
	// ID is the X11 window id of the application's (client) window.
	ID    uint32
	Title string
	// X, Y, Width, Height are the client area in root-window coordinates,
	// without the window manager's frame.
	X, Y          int
	Width, Height int
	// Display is the X display the window lives on; empty means $DISPLAY.
	Display string
}

// Target returns the window as a share target for NewSource and the
// engine's share path. The picture size is the window's rounded down to
// even numbers: H.264's 4:2:0 sampling needs them (the odd last column or
// row is left out).
func (w Window) Target() Monitor {
	return Monitor{Index: -1, Name: w.Title, X: w.X, Y: w.Y, Width: max(2, w.Width&^1), Height: max(2, w.Height&^1),
		Display: w.Display, Window: w.ID}
}

// Windows lists the shareable windows of $DISPLAY.
func Windows() ([]Window, error) { return WindowsOn("") }

// FindWindow looks a window up by id on display.
func FindWindow(display string, id uint32) (Window, error) {
	list, err := WindowsOn(display)
	if err != nil {
		return Window{}, err
	}
	for _, w := range list {
		if w.ID == id {
			return w, nil
		}
	}
	return Window{}, fmt.Errorf("%w: no window %#x", ErrWindowGone, id)
}
