package capture

import (
	"image"
	"os"
	"sort"
)

// Monitor is one physical (or virtual) monitor of the desktop, in the
// coordinates of the virtual desktop (X11 root window).
type Monitor struct {
	Index   int    // position in the list returned by Monitors, left to right
	Name    string // RandR output/monitor name ("HDMI-1", "DUMMY0"), or "Display N"
	X, Y    int
	Width   int
	Height  int
	Primary bool
	// Display is the X display the monitor was enumerated on (":1"); empty
	// means $DISPLAY. It lets tests and multi-server setups target their own
	// server.
	Display string
	// Window, when non-zero, makes this the share of one top-level window
	// (Window.Target) instead of a monitor: X, Y, Width and Height are the
	// window's at the time it was listed, and Width x Height stay the size
	// of the shared picture while the window moves and resizes. A share
	// target is a Monitor so that everything that shares a monitor shares
	// a window unchanged.
	Window uint32
	// portal, when set, makes this a ScreenCast portal target
	// (OpenPortalMonitor): a Source made from it reads a PipeWire stream
	// instead of the X display.
	portal *portalTarget
}

// Rect returns the monitor's rectangle in virtual-desktop coordinates.
func (m Monitor) Rect() image.Rectangle {
	return image.Rect(m.X, m.Y, m.X+m.Width, m.Y+m.Height)
}

// sameGeometry reports whether n is the same monitor as m at the same place
// and size, which is what a running share depends on.
func (m Monitor) sameGeometry(n Monitor) bool {
	return m.X == n.X && m.Y == n.Y && m.Width == n.Width && m.Height == n.Height
}

// Monitors lists the monitors of the display named by $DISPLAY (X11) or of the
// local desktop (other systems).
func Monitors() ([]Monitor, error) {
	return MonitorsOn("")
}

// MonitorsOn lists the monitors of the given X display (":1"); "" means
// $DISPLAY. The display name is ignored on systems without X11.
func MonitorsOn(display string) ([]Monitor, error) {
	g, err := openGrabber(display, false)
	if err != nil {
		return nil, err
	}
	defer g.Close()
	return g.Monitors()
}

// findMonitor looks m up in list: by name when it has one (RandR names are
// stable across re-plugging), else by index.
func findMonitor(list []Monitor, m Monitor) (Monitor, bool) {
	for _, n := range list {
		if m.Name != "" && n.Name == m.Name {
			return n, true
		}
	}
	if m.Name == "" && m.Index >= 0 && m.Index < len(list) {
		return list[m.Index], true
	}
	return Monitor{}, false
}

// normalizeMonitors sorts monitors left to right, top to bottom, numbers them
// and records the display they came from.
func normalizeMonitors(list []Monitor, display string) []Monitor {
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].X != list[j].X {
			return list[i].X < list[j].X
		}
		return list[i].Y < list[j].Y
	})
	primary := false
	for i := range list {
		list[i].Index = i
		list[i].Display = display
		primary = primary || list[i].Primary
	}
	// X servers without a primary output (Xvfb) still have a main monitor:
	// the one holding the origin, where windows open by default.
	if !primary && len(list) > 0 {
		list[0].Primary = true
	}
	return list
}

// displayName resolves "" to $DISPLAY.
func displayName(display string) string {
	if display != "" {
		return display
	}
	return os.Getenv("DISPLAY")
}
