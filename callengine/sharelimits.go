package callengine

import "sync/atomic"

// ShareLimits are the user's bounds on a screen share.
type ShareLimits struct {
	// FPS is the capture rate; 0: DefaultShareFPS.
	FPS int
	// MaxKbps caps the encoder's bitrate below what the path's estimate
	// allows (a slow or metered uplink, a busy office link); 0: no cap.
	MaxKbps int
}

// withDefaults fills in the zero values.
func (l ShareLimits) withDefaults() ShareLimits {
	if l.FPS <= 0 {
		l.FPS = DefaultShareFPS
	}
	l.MaxKbps = max(l.MaxKbps, 0)
	return l
}

// shareLimitsValue holds the Phone's current limits; the zero value means
// the defaults.
type shareLimitsValue struct{ p atomic.Pointer[ShareLimits] }

func (v *shareLimitsValue) load() ShareLimits {
	if l := v.p.Load(); l != nil {
		return *l
	}
	return ShareLimits{}.withDefaults()
}

func (v *shareLimitsValue) store(l ShareLimits) {
	l = l.withDefaults()
	v.p.Store(&l)
}

// ShareLimits returns the limits the next screen share starts with.
func (p *Phone) ShareLimits() ShareLimits { return p.shareLimits.load() }

// SetShareLimits changes the limits of the screen shares started from now
// on (a share in progress keeps the ones it started with).
func (p *Phone) SetShareLimits(l ShareLimits) { p.shareLimits.store(l) }
