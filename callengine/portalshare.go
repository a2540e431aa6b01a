package callengine

import (
	"errors"
	"sync"

	"github.com/parlo-voip/parlo/capture"
)

// ErrNoThumbnail is returned for a share target whose picture Parlo cannot
// see before the share starts: on Wayland the ScreenCast portal, not
// Parlo, shows the screens and lets the user choose.
var ErrNoThumbnail = errors.New("callengine: no thumbnail before the system dialog")

// portalMonitorName names the one entry Monitors lists on Wayland.
const portalMonitorName = "Screen chosen in the system dialog"

// portalShare remembers what the ScreenCast portal last granted, so that
// the next share asks the portal to restore it (persist_mode 2) instead
// of showing its dialog again.
type portalShare struct {
	mu    sync.Mutex
	token string
}

func (s *portalShare) restoreToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.token
}

func (s *portalShare) remember(token string) {
	if token == "" {
		return
	}
	s.mu.Lock()
	s.token = token
	s.mu.Unlock()
}

// portalMonitors is what Monitors lists on Wayland: one entry that stands
// for the screen the portal's dialog will offer. Parlo cannot list the
// outputs itself (Wayland gives clients no such view), and its size is
// known once the portal granted it.
func portalMonitors() []capture.Monitor {
	return []capture.Monitor{{Index: 0, Name: portalMonitorName, Primary: true}}
}
