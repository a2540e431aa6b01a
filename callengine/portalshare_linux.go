package callengine

import (
	"context"
	"fmt"

	"github.com/parlo-voip/parlo/capture"
)

// usePortal tells whether screens are shared through the ScreenCast
// portal: in a Wayland session, where X11 capture sees at best the
// XWayland windows, unless Options.Display names an X display to share.
func (p *Phone) usePortal() bool {
	return p.opts.Display == "" && capture.WaylandSession()
}

// portalMonitor asks the portal what to share (its dialog, or what it
// restores) and returns it as the Monitor to share.
func (p *Phone) portalMonitor(ctx context.Context, index int) (capture.Monitor, error) {
	if index != 0 {
		return capture.Monitor{}, fmt.Errorf("%w: no monitor %d (the system dialog chooses)", capture.ErrMonitorGone, index)
	}
	m, err := capture.OpenPortalMonitor(ctx, capture.PortalOptions{
		Types:        capture.PortalMonitor,
		RestoreToken: p.portal.restoreToken(),
		Logger:       p.log,
	})
	if err != nil {
		return capture.Monitor{}, fmt.Errorf("callengine: share: %w", err)
	}
	p.portal.remember(m.PortalRestoreToken())
	return m, nil
}
