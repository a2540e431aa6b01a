//go:build !linux

package callengine

import (
	"context"

	"github.com/parlo-voip/parlo/capture"
)

// usePortal is false where there is no xdg-desktop-portal.
func (p *Phone) usePortal() bool { return false }

func (p *Phone) portalMonitor(context.Context, int) (capture.Monitor, error) {
	return capture.Monitor{}, capture.ErrNoDisplay
}
