//go:build !linux

package capture

// portalTarget exists on Linux only (xdg-desktop-portal); elsewhere no
// Monitor carries one.
type portalTarget struct{}

// WaylandSession is false where there is no ScreenCast portal.
func WaylandSession() bool { return false }

// ClosePortal does nothing: no Monitor is a portal target here.
func (m Monitor) ClosePortal() error { return nil }

// PortalRestoreToken is empty: no Monitor is a portal target here.
func (m Monitor) PortalRestoreToken() string { return "" }
