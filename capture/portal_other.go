//go:build !linux

package capture

// PortalSession exists on Linux only (xdg-desktop-portal); elsewhere no
// Monitor carries one.
type PortalSession struct{}
