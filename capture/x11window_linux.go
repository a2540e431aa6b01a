package capture

import (
	"errors"
	"fmt"
	"image"
	"unicode/utf8"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/composite"
	"github.com/jezek/xgb/xproto"
)

// WindowsOn lists the shareable top-level windows of display ("" means
// $DISPLAY): the window manager's _NET_CLIENT_LIST (EWMH §3.1), or, without
// an EWMH window manager, the mapped children of the root window that have
// a title. Minimised (unmapped) windows are left out: they have no pixels
// to share.
func WindowsOn(display string) ([]Window, error) {
	g, err := newX11Grabber(display, false)
	if err != nil {
		return nil, err
	}
	defer g.Close()
	g.mu.Lock()
	defer g.mu.Unlock()
	ids, err := g.clientListLocked()
	if err != nil {
		return nil, err
	}
	var out []Window
	for _, id := range ids {
		w, ok := g.describeWindowLocked(id)
		if ok {
			w.Display = g.display
			out = append(out, w)
		}
	}
	return out, nil
}

// atom interns name (nil error and 0 when the server does not know it and
// onlyIfExists is set).
func (g *X11Grabber) atom(name string, onlyIfExists bool) (xproto.Atom, error) {
	rep, err := xproto.InternAtom(g.conn, onlyIfExists, uint16(len(name)), name).Reply()
	if err != nil {
		return 0, fmt.Errorf("%w: intern %s: %w", ErrNoDisplay, name, err)
	}
	return rep.Atom, nil
}

func (g *X11Grabber) clientListLocked() ([]xproto.Window, error) {
	list, err := g.atom("_NET_CLIENT_LIST", true)
	if err != nil {
		return nil, err
	}
	if list != 0 {
		rep, err := xproto.GetProperty(g.conn, false, g.root, list, xproto.AtomWindow, 0, 4096).Reply()
		if err == nil && rep.Format == 32 && rep.ValueLen > 0 {
			ids := make([]xproto.Window, rep.ValueLen)
			for i := range ids {
				ids[i] = xproto.Window(xgb.Get32(rep.Value[i*4:]))
			}
			return ids, nil
		}
	}
	tree, err := xproto.QueryTree(g.conn, g.root).Reply()
	if err != nil {
		return nil, fmt.Errorf("%w: query tree: %w", ErrNoDisplay, err)
	}
	var ids []xproto.Window
	for _, c := range tree.Children {
		a, err := xproto.GetWindowAttributes(g.conn, c).Reply()
		if err != nil || a.OverrideRedirect || a.MapState != xproto.MapStateViewable || a.Class != xproto.WindowClassInputOutput {
			continue
		}
		ids = append(ids, c)
	}
	return ids, nil
}

// describeWindowLocked reads a window's title and client-area geometry; ok
// is false for windows that cannot be shared (gone, unmapped, untitled
// without EWMH, empty).
func (g *X11Grabber) describeWindowLocked(id xproto.Window) (Window, bool) {
	a, err := xproto.GetWindowAttributes(g.conn, id).Reply()
	if err != nil || a.MapState != xproto.MapStateViewable {
		return Window{}, false
	}
	geo, err := xproto.GetGeometry(g.conn, xproto.Drawable(id)).Reply()
	if err != nil || geo.Width == 0 || geo.Height == 0 {
		return Window{}, false
	}
	pos, err := xproto.TranslateCoordinates(g.conn, id, g.root, 0, 0).Reply()
	if err != nil {
		return Window{}, false
	}
	title := g.titleLocked(id)
	if title == "" {
		return Window{}, false
	}
	return Window{ID: uint32(id), Title: title, X: int(pos.DstX), Y: int(pos.DstY),
		Width: int(geo.Width), Height: int(geo.Height)}, true
}

// titleLocked reads _NET_WM_NAME (UTF-8, EWMH §5.1), else WM_NAME (ICCCM
// §4.1.2.1, Latin-1 or compound text: only its ASCII survives).
func (g *X11Grabber) titleLocked(id xproto.Window) string {
	if name, err := g.atom("_NET_WM_NAME", true); err == nil && name != 0 {
		if utf8s, err := g.atom("UTF8_STRING", true); err == nil && utf8s != 0 {
			rep, err := xproto.GetProperty(g.conn, false, id, name, utf8s, 0, 1024).Reply()
			if err == nil && rep.ValueLen > 0 && utf8.Valid(rep.Value) {
				return string(rep.Value)
			}
		}
	}
	rep, err := xproto.GetProperty(g.conn, false, id, xproto.AtomWmName, xproto.GetPropertyTypeAny, 0, 1024).Reply()
	if err != nil || rep.ValueLen == 0 {
		return ""
	}
	b := make([]rune, 0, len(rep.Value))
	for _, c := range rep.Value {
		if c >= 0x20 && c < 0x7f {
			b = append(b, rune(c))
		}
	}
	return string(b)
}

// x11WindowGrabber captures one window. With the Composite extension the
// window is redirected (automatic mode: the server keeps painting the
// screen) so that its contents live in a pixmap of their own, readable
// while other windows cover it (Composite §2, NameWindowPixmap); the
// pixmap is named again after each resize, since the server allocates a
// new one then. Without Composite it grabs the window's area of the root
// window at its current position, so covering windows show in the share.
// Grab and Damaged take window coordinates.
type x11WindowGrabber struct {
	*X11Grabber
	win       xproto.Window
	composite bool
	pixmap    xproto.Pixmap // named composite pixmap (0: none yet)
	x, y      int           // client area on the root
	w, h      int           // current size
	viewable  bool
	tmp       []byte // clipped grabs without composite
}

// openWindowGrabber connects to display and prepares the capture of win;
// it fails with ErrWindowGone when win does not exist.
func openWindowGrabber(display string, win uint32, withShm bool) (*x11WindowGrabber, error) {
	g, err := newX11Grabber(display, withShm)
	if err != nil {
		return nil, err
	}
	wg := &x11WindowGrabber{X11Grabber: g, win: xproto.Window(win)}
	g.mu.Lock()
	extInitMu.Lock()
	cerr := composite.Init(g.conn)
	extInitMu.Unlock()
	if cerr == nil {
		// NameWindowPixmap needs Composite 0.2.
		if v, err := composite.QueryVersion(g.conn, 0, 4).Reply(); err == nil && (v.MajorVersion > 0 || v.MinorVersion >= 2) {
			wg.composite = composite.RedirectWindowChecked(g.conn, wg.win, composite.RedirectAutomatic).Check() == nil
		}
	}
	err = wg.updateLocked()
	g.mu.Unlock()
	if err != nil {
		g.Close()
		return nil, err
	}
	return wg, nil
}

// UsesComposite reports whether the window is read from its own pixmap
// (true) or from the screen (false: covering windows are captured too).
func (wg *x11WindowGrabber) UsesComposite() bool { return wg.composite }

// Size returns the window's current size and whether it is mapped.
func (wg *x11WindowGrabber) Size() (w, h int, viewable bool) {
	wg.mu.Lock()
	defer wg.mu.Unlock()
	return wg.w, wg.h, wg.viewable
}

// Update re-reads the window's geometry and state; ErrWindowGone when it
// was destroyed.
func (wg *x11WindowGrabber) Update() error {
	wg.mu.Lock()
	defer wg.mu.Unlock()
	if wg.closed {
		return ErrClosed
	}
	return wg.updateLocked()
}

func (wg *x11WindowGrabber) updateLocked() error {
	a, err := xproto.GetWindowAttributes(wg.conn, wg.win).Reply()
	if err != nil {
		return wg.windowErr(err)
	}
	geo, err := xproto.GetGeometry(wg.conn, xproto.Drawable(wg.win)).Reply()
	if err != nil {
		return wg.windowErr(err)
	}
	pos, err := xproto.TranslateCoordinates(wg.conn, wg.win, wg.root, 0, 0).Reply()
	if err != nil {
		return wg.windowErr(err)
	}
	viewable := a.MapState == xproto.MapStateViewable
	w, h := int(geo.Width), int(geo.Height)
	resized := w != wg.w || h != wg.h || viewable != wg.viewable
	wg.x, wg.y, wg.w, wg.h, wg.viewable = int(pos.DstX), int(pos.DstY), w, h, viewable
	if wg.composite && (resized || wg.pixmap == 0) {
		if wg.pixmap != 0 {
			xproto.FreePixmap(wg.conn, wg.pixmap)
			wg.pixmap = 0
		}
		if viewable {
			pm, err := xproto.NewPixmapId(wg.conn)
			if err != nil {
				return fmt.Errorf("%w: %w", ErrNoDisplay, err)
			}
			if err := composite.NameWindowPixmapChecked(wg.conn, wg.win, pm).Check(); err != nil {
				return wg.windowErr(err)
			}
			wg.pixmap = pm
		}
	}
	return nil
}

// windowErr maps an X error about the window to ErrWindowGone (BadWindow,
// BadDrawable: destroyed) and a connection failure to ErrNoDisplay.
func (wg *x11WindowGrabber) windowErr(err error) error {
	var xerr xgb.Error
	if errors.As(err, &xerr) {
		return fmt.Errorf("%w: %#x: %w", ErrWindowGone, uint32(wg.win), err)
	}
	return fmt.Errorf("%w: %w", ErrNoDisplay, err)
}

// Grab copies r (window coordinates) of the window.
func (wg *x11WindowGrabber) Grab(r image.Rectangle) (BGRAFrame, error) {
	wg.mu.Lock()
	defer wg.mu.Unlock()
	if wg.closed {
		return BGRAFrame{}, ErrClosed
	}
	if !wg.viewable {
		// Minimised between two updates: not gone, nothing to grab now.
		return BGRAFrame{}, fmt.Errorf("capture: window %#x is not mapped", uint32(wg.win))
	}
	r = r.Intersect(image.Rect(0, 0, wg.w, wg.h))
	if r.Empty() {
		return BGRAFrame{}, fmt.Errorf("capture: nothing to grab of window %#x", uint32(wg.win))
	}
	if wg.composite {
		if wg.pixmap == 0 {
			if err := wg.updateLocked(); err != nil {
				return BGRAFrame{}, err
			}
		}
		f, err := wg.grabDrawableLocked(xproto.Drawable(wg.pixmap), r)
		if err != nil {
			// The pixmap went stale (resized between two updates): name
			// it again on the next grab.
			wg.pixmap = 0
			if uerr := wg.updateLocked(); uerr != nil {
				return BGRAFrame{}, uerr
			}
			return BGRAFrame{}, fmt.Errorf("capture: window grab: %w", err)
		}
		return f, nil
	}
	// The window's area of the screen; parts off screen stay black.
	abs := r.Add(image.Pt(wg.x, wg.y))
	vis := abs.Intersect(image.Rect(0, 0, wg.screenW, wg.screenH))
	if vis.Empty() {
		return wg.blankLocked(r), nil
	}
	f, err := wg.grabDrawableLocked(xproto.Drawable(wg.root), vis)
	if err != nil {
		return BGRAFrame{}, fmt.Errorf("capture: window area grab: %w", err)
	}
	if vis == abs {
		return f, nil
	}
	out := wg.blankLocked(r)
	off := vis.Min.Sub(abs.Min)
	for y := 0; y < f.Height; y++ {
		copy(out.Pix[(off.Y+y)*out.Stride+off.X*4:], f.Pix[y*f.Stride:y*f.Stride+f.Width*4])
	}
	return out, nil
}

func (wg *x11WindowGrabber) blankLocked(r image.Rectangle) BGRAFrame {
	n := r.Dx() * r.Dy() * 4
	if cap(wg.tmp) < n {
		wg.tmp = make([]byte, n)
	}
	wg.tmp = wg.tmp[:n]
	clear(wg.tmp)
	return BGRAFrame{Pix: wg.tmp, Stride: r.Dx() * 4, Width: r.Dx(), Height: r.Dy()}
}

// EnableDamage tracks the window's own drawing with Composite (it has its
// own pixmap), else the root's, translated on the way out.
func (wg *x11WindowGrabber) EnableDamage() error {
	if wg.composite {
		return wg.enableDamageOn(xproto.Drawable(wg.win))
	}
	return wg.enableDamageOn(xproto.Drawable(wg.root))
}

// Damaged returns the window's repainted rectangles in window coordinates.
// A report also re-reads the geometry: a resize or move repaints.
func (wg *x11WindowGrabber) Damaged() ([]image.Rectangle, error) {
	rects, err := wg.X11Grabber.Damaged()
	if err != nil || len(rects) == 0 {
		return rects, err
	}
	if err := wg.Update(); err != nil {
		return nil, err
	}
	wg.mu.Lock()
	defer wg.mu.Unlock()
	if !wg.viewable {
		return nil, nil // minimised: the Source keeps the last picture
	}
	if !wg.composite {
		for i := range rects {
			rects[i] = rects[i].Sub(image.Pt(wg.x, wg.y))
		}
	}
	return rects, nil
}

// Monitors is not used for a window share; it lists the display's
// monitors like X11Grabber.
func (wg *x11WindowGrabber) Monitors() ([]Monitor, error) { return wg.X11Grabber.Monitors() }

// Close frees the pixmap, ends the redirection (closing the connection
// would too) and closes the grabber.
func (wg *x11WindowGrabber) Close() error {
	wg.mu.Lock()
	if !wg.closed {
		if wg.pixmap != 0 {
			xproto.FreePixmap(wg.conn, wg.pixmap)
			wg.pixmap = 0
		}
		if wg.composite {
			composite.UnredirectWindow(wg.conn, wg.win, composite.RedirectAutomatic)
		}
	}
	wg.mu.Unlock()
	return wg.X11Grabber.Close()
}

// WindowThumbnail grabs window w (covered parts included where Composite
// is available) and scales it down to fit in maxW x maxH.
func WindowThumbnail(w Window, maxW, maxH int) (image.Image, error) {
	if maxW <= 0 || maxH <= 0 {
		return nil, fmt.Errorf("capture: thumbnail size %dx%d", maxW, maxH)
	}
	wg, err := openWindowGrabber(w.Display, w.ID, false)
	if err != nil {
		return nil, err
	}
	defer wg.Close()
	cw, ch, viewable := wg.Size()
	if !viewable {
		return nil, fmt.Errorf("%w: %#x is not mapped", ErrWindowGone, w.ID)
	}
	f, err := wg.Grab(image.Rect(0, 0, cw, ch))
	if err != nil {
		return nil, err
	}
	return downscaleBox(f, maxW, maxH), nil
}

// openTargetGrabber opens the grabber for a share target: the root for a
// monitor, the window for a window share.
func openTargetGrabber(m Monitor) (grabber, windowGrabber, error) {
	if m.portal != nil {
		g, err := openPortalGrabber(m)
		return g, nil, err
	}
	if m.Window == 0 {
		g, err := openGrabber(m.Display, true)
		return g, nil, err
	}
	wg, err := openWindowGrabber(m.Display, m.Window, true)
	if err != nil {
		return nil, nil, err
	}
	return wg, wg, nil
}
