package capture

import (
	"fmt"
	"image"
	"sync/atomic"

	"github.com/jezek/xgb"

	"github.com/jezek/xgb/damage"
	"github.com/jezek/xgb/randr"
	"github.com/jezek/xgb/xfixes"
	"github.com/jezek/xgb/xproto"
)

// x11Damage follows what the X server repaints on one drawable through the
// DAMAGE extension, so that a Source grabs only when and where the screen
// changed. It uses the NonEmpty report level: the server sends one event
// when the damage region turns non-empty and nothing more until the client
// empties it (DAMAGE protocol §4, "DamageReportNonEmpty"). Idle costs no
// traffic at all; a busy screen costs one event and one round trip
// (Subtract + FetchRegion) per captured frame, however many rectangles
// were drawn in between.
type x11Damage struct {
	damage  damage.Damage
	region  xfixes.Region
	pending atomic.Bool // a Notify arrived since the last fetch
	// screenChanged is set by RandR notifications (monitors added,
	// removed, moved or resized) on a root-window tracker.
	screenChanged atomic.Bool
	watchScreen   bool          // RandR notifications are selected
	notify        chan struct{} // signalled (capacity 1) on each Notify
	done          chan struct{} // closed when the event pump has ended
}

// EnableDamage starts damage tracking of the root window. It fails with a
// wrapped ErrNoDamage when the server lacks DAMAGE 1.1 or XFIXES 2 (some
// VNC servers, remote displays through old proxies); the Source then polls
// and compares frames instead.
func (g *X11Grabber) EnableDamage() error {
	if err := g.enableDamageOn(xproto.Drawable(g.root)); err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.randr {
		// RandR tells when the monitor layout changes (RandR 1.2 §4,
		// RRSelectInput), so the Source need not ask every second.
		mask := uint16(randr.NotifyMaskScreenChange | randr.NotifyMaskCrtcChange | randr.NotifyMaskOutputChange)
		g.dmg.watchScreen = randr.SelectInputChecked(g.conn, g.root, mask).Check() == nil
	}
	return nil
}

// WatchesScreen reports whether ScreenChanged is driven by RandR events.
func (g *X11Grabber) WatchesScreen() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.dmg != nil && g.dmg.watchScreen
}

// ScreenChanged reports (once) that RandR announced a layout change.
func (g *X11Grabber) ScreenChanged() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.dmg != nil && g.dmg.screenChanged.Swap(false)
}

func (g *X11Grabber) enableDamageOn(d xproto.Drawable) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return ErrClosed
	}
	if g.dmg != nil {
		return nil
	}
	extInitMu.Lock()
	err := damage.Init(g.conn)
	if err == nil {
		err = xfixes.Init(g.conn)
	}
	extInitMu.Unlock()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNoDamage, err)
	}
	// Both extensions require the version handshake before any other
	// request (DAMAGE §5 QueryVersion, XFIXES §4).
	if _, err := xfixes.QueryVersion(g.conn, 2, 0).Reply(); err != nil {
		return fmt.Errorf("%w: xfixes: %w", ErrNoDamage, err)
	}
	if _, err := damage.QueryVersion(g.conn, 1, 1).Reply(); err != nil {
		return fmt.Errorf("%w: damage: %w", ErrNoDamage, err)
	}
	dm, err := damage.NewDamageId(g.conn)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNoDamage, err)
	}
	reg, err := xfixes.NewRegionId(g.conn)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNoDamage, err)
	}
	if err := xfixes.CreateRegionChecked(g.conn, reg, nil).Check(); err != nil {
		return fmt.Errorf("%w: region: %w", ErrNoDamage, err)
	}
	if err := damage.CreateChecked(g.conn, dm, d, damage.ReportLevelNonEmpty).Check(); err != nil {
		_ = xfixes.DestroyRegionChecked(g.conn, reg).Check()
		return fmt.Errorf("%w: create: %w", ErrNoDamage, err)
	}
	// Whatever the server counts as damaged at creation, the caller's first
	// frame is a full grab anyway: start from empty.
	_ = damage.SubtractChecked(g.conn, dm, 0, 0).Check()
	tracked := &x11Damage{damage: dm, region: reg, notify: make(chan struct{}, 1), done: make(chan struct{})}
	g.dmg = tracked
	// Owned by the grabber: it ends when Close closes the connection, and
	// Close waits for it.
	go pumpDamageEvents(g.conn, tracked)
	return nil
}

// pumpDamageEvents waits for the connection's events so that a Source can
// sleep until something is drawn instead of waking every frame to ask.
// No other events are selected on a capture connection; asynchronous
// errors are dropped (the requests that matter are checked).
func pumpDamageEvents(conn *xgb.Conn, d *x11Damage) {
	defer close(d.done)
	for {
		ev, xerr := conn.WaitForEvent()
		if ev == nil && xerr == nil {
			return // connection closed or broken
		}
		switch e := ev.(type) {
		case damage.NotifyEvent:
			if e.Damage != d.damage {
				continue
			}
			d.pending.Store(true)
		case randr.ScreenChangeNotifyEvent, randr.NotifyEvent:
			d.screenChanged.Store(true)
		default:
			continue
		}
		select {
		case d.notify <- struct{}{}:
		default:
		}
	}
}

// DamageNotify is signalled when something was drawn since the last
// Damaged call; nil before EnableDamage.
func (g *X11Grabber) DamageNotify() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.dmg == nil {
		return nil
	}
	return g.dmg.notify
}

// Damaged returns the rectangles repainted since the previous call, in the
// tracked drawable's coordinates, and empties the damage. With no Notify
// event received it returns nil without talking to the server.
func (g *X11Grabber) Damaged() ([]image.Rectangle, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, ErrClosed
	}
	if g.dmg == nil {
		return nil, ErrNoDamage
	}
	if !g.dmg.pending.Swap(false) {
		return nil, nil
	}
	// Subtract with repair None copies the damage into parts and empties it
	// (DAMAGE §5 DamageSubtract); later drawing sends a new Notify.
	damage.Subtract(g.conn, g.dmg.damage, 0, g.dmg.region)
	rep, err := xfixes.FetchRegion(g.conn, g.dmg.region).Reply()
	if err != nil {
		return nil, fmt.Errorf("%w: fetch damage: %w", ErrNoDisplay, err)
	}
	out := make([]image.Rectangle, 0, len(rep.Rectangles))
	for _, r := range rep.Rectangles {
		out = append(out, image.Rect(int(r.X), int(r.Y), int(r.X)+int(r.Width), int(r.Y)+int(r.Height)))
	}
	return out, nil
}

// releaseDamage destroys the damage object and region; the connection is
// about to close, which would free them too, but a grabber that outlives a
// window share must not leave them behind.
func (g *X11Grabber) releaseDamage() (pumpDone <-chan struct{}) {
	if g.dmg == nil {
		return nil
	}
	damage.Destroy(g.conn, g.dmg.damage)
	xfixes.DestroyRegion(g.conn, g.dmg.region)
	done := g.dmg.done
	g.dmg = nil
	return done
}
