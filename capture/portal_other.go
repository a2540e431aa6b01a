//go:build !linux

package capture

// portalTarget exists on Linux only (xdg-desktop-portal); elsewhere no
// Monitor carries one.
type portalTarget struct{}
