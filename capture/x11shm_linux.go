package capture

import (
	"errors"
	"fmt"
	"image"
	"io"
	"log"
	"sync"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/randr"
	"github.com/jezek/xgb/shm"
	"github.com/jezek/xgb/xproto"
	"golang.org/x/sys/unix"
)

// xgb writes "Could not get authority info" to the standard logger on every
// connection to a display without ~/.Xauthority (Xvfb, many desktops); the
// connection works, and Parlo reports real failures itself.
func init() { xgb.Logger = log.New(io.Discard, "", 0) }

// extInitMu serialises xgb extension set-up: randr.Init and shm.Init write
// xgb's package-level extension tables, so two grabbers opening at once (a
// share starting while the picker lists monitors, or two calls sharing)
// raced and could crash with "concurrent map writes".
var extInitMu sync.Mutex

// X11Grabber captures rectangles of the X root window through one persistent
// X connection and one reused MIT-SHM segment. The server writes the
// requested rectangle straight into the segment (crop on the server side), so a
// 1080p grab costs about a millisecond (measured on two cores) and no per-frame
// allocation. Falls back to plain GetImage when MIT-SHM is unavailable (remote
// display, different IPC namespace).
//
// An X11Grabber is safe for concurrent use, but a returned frame is only valid
// until the next Grab.
type X11Grabber struct {
	mu      sync.Mutex
	display string
	conn    *xgb.Conn
	root    xproto.Window
	screenW int
	screenH int
	randr   bool // RandR >= 1.2 present
	randr15 bool // RandR >= 1.5 (GetMonitors)

	useShm bool
	shmID  int
	shmSeg shm.Seg
	shmBuf []byte
	buf    []byte // copy target for the non-shm path

	dmg *x11Damage // damage tracking, after EnableDamage

	closed bool
}

// NewX11Grabber connects to the X display (":1"; "" means $DISPLAY) and
// prepares a shared memory segment big enough for the whole root window.
func NewX11Grabber(display string) (*X11Grabber, error) {
	return newX11Grabber(display, true)
}

func openGrabber(display string, forCapture bool) (grabber, error) {
	return newX11Grabber(display, forCapture)
}

func newX11Grabber(display string, withShm bool) (*X11Grabber, error) {
	name := displayName(display)
	if name == "" {
		return nil, fmt.Errorf("%w: $DISPLAY is not set", ErrNoDisplay)
	}
	conn, err := xgb.NewConnDisplay(name)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNoDisplay, name, err)
	}
	setup := xproto.Setup(conn)
	scr := setup.DefaultScreen(conn)
	g := &X11Grabber{
		display: name,
		conn:    conn,
		root:    scr.Root,
		screenW: int(scr.WidthInPixels),
		screenH: int(scr.HeightInPixels),
	}
	if err := checkPixelFormat(setup, scr); err != nil {
		conn.Close()
		return nil, err
	}
	extInitMu.Lock()
	randrErr := randr.Init(conn)
	extInitMu.Unlock()
	if randrErr == nil {
		if v, err := randr.QueryVersion(conn, 1, 5).Reply(); err == nil {
			g.randr = v.MajorVersion > 1 || v.MinorVersion >= 2
			g.randr15 = v.MajorVersion > 1 || v.MinorVersion >= 5
		}
	}
	if withShm {
		g.useShm = g.initShm(g.screenW, g.screenH) == nil
	}
	return g, nil
}

// checkPixelFormat makes sure ZPixmap data at the root depth is 32 bits per
// pixel, little-endian, with red in bits 16-23: the BGRX layout the
// converters expect. Every Xorg/Xvfb at depth 24 on x86/ARM qualifies.
func checkPixelFormat(setup *xproto.SetupInfo, scr *xproto.ScreenInfo) error {
	if setup.ImageByteOrder != xproto.ImageOrderLSBFirst {
		return fmt.Errorf("%w: MSB-first image byte order", ErrUnsupportedFormat)
	}
	bpp := 0
	for _, f := range setup.PixmapFormats {
		if f.Depth == scr.RootDepth {
			bpp = int(f.BitsPerPixel)
		}
	}
	if bpp != 32 {
		return fmt.Errorf("%w: depth %d uses %d bits per pixel", ErrUnsupportedFormat, scr.RootDepth, bpp)
	}
	for _, d := range scr.AllowedDepths {
		for _, v := range d.Visuals {
			if v.VisualId == scr.RootVisual && (v.RedMask != 0xff0000 || v.GreenMask != 0xff00 || v.BlueMask != 0xff) {
				return fmt.Errorf("%w: visual masks %#x/%#x/%#x", ErrUnsupportedFormat, v.RedMask, v.GreenMask, v.BlueMask)
			}
		}
	}
	return nil
}

// initShm creates a private SysV segment of w*h*4 bytes, maps it, and attaches
// it on the server. The segment is marked for removal as soon as the server
// has attached it, so the kernel frees it even if Parlo crashes.
func (g *X11Grabber) initShm(w, h int) error {
	extInitMu.Lock()
	err := shm.Init(g.conn)
	extInitMu.Unlock()
	if err != nil {
		return err
	}
	size := w * h * 4
	id, err := unix.SysvShmGet(unix.IPC_PRIVATE, size, unix.IPC_CREAT|0o600)
	if err != nil {
		return err
	}
	buf, err := unix.SysvShmAttach(id, 0, 0)
	if err != nil {
		_, _ = unix.SysvShmCtl(id, unix.IPC_RMID, nil)
		return err
	}
	seg, err := shm.NewSegId(g.conn)
	if err == nil {
		err = shm.AttachChecked(g.conn, seg, uint32(id), false).Check()
	}
	// Remove now: attached mappings (ours and the server's) stay valid.
	_, _ = unix.SysvShmCtl(id, unix.IPC_RMID, nil)
	if err != nil {
		_ = unix.SysvShmDetach(buf)
		return err
	}
	g.shmID, g.shmSeg, g.shmBuf = id, seg, buf
	return nil
}

func (g *X11Grabber) releaseShm() {
	if g.shmBuf == nil {
		return
	}
	_ = shm.DetachChecked(g.conn, g.shmSeg).Check()
	_ = unix.SysvShmDetach(g.shmBuf)
	g.shmBuf = nil
}

// UsesSharedMemory reports whether grabs go through MIT-SHM.
func (g *X11Grabber) UsesSharedMemory() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.useShm
}

// Grab copies rectangle r of the root window. It returns ErrMonitorGone when r
// no longer fits the screen (a monitor was unplugged and the root shrank) and
// ErrNoDisplay when the connection to the server is lost.
func (g *X11Grabber) Grab(r image.Rectangle) (BGRAFrame, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return BGRAFrame{}, ErrClosed
	}
	if r.Empty() {
		return BGRAFrame{}, fmt.Errorf("%w: empty rectangle", ErrMonitorGone)
	}
	if !r.In(image.Rect(0, 0, g.screenW, g.screenH)) {
		// The cached root size may be stale; re-read it before giving up.
		if err := g.refreshScreenSize(); err != nil {
			return BGRAFrame{}, err
		}
		if !r.In(image.Rect(0, 0, g.screenW, g.screenH)) {
			return BGRAFrame{}, fmt.Errorf("%w: %v outside screen %dx%d", ErrMonitorGone, r, g.screenW, g.screenH)
		}
	}
	w, h := r.Dx(), r.Dy()
	f, err := g.grabDrawableLocked(xproto.Drawable(g.root), r)
	if err == nil {
		return f, nil
	}
	var xerr xgb.Error
	if errors.As(err, &xerr) {
		// BadMatch: the rectangle left the root window between our check and
		// the request (RandR shrank the screen).
		if rerr := g.refreshScreenSize(); rerr != nil {
			return BGRAFrame{}, rerr
		}
		if !r.In(image.Rect(0, 0, g.screenW, g.screenH)) {
			return BGRAFrame{}, fmt.Errorf("%w: %w", ErrMonitorGone, err)
		}
		return BGRAFrame{}, fmt.Errorf("capture: grab %dx%d: %w", w, h, err)
	}
	return BGRAFrame{}, fmt.Errorf("%w: %w", ErrNoDisplay, err)
}

// grabDrawableLocked copies r of drawable d (the root, or a window's
// composite pixmap) through MIT-SHM when available.
func (g *X11Grabber) grabDrawableLocked(d xproto.Drawable, r image.Rectangle) (BGRAFrame, error) {
	if g.useShm {
		return g.grabShm(d, r)
	}
	return g.grabPlain(d, r)
}

func (g *X11Grabber) grabShm(d xproto.Drawable, r image.Rectangle) (BGRAFrame, error) {
	w, h := r.Dx(), r.Dy()
	if w*h*4 > len(g.shmBuf) {
		// The root window grew (a monitor was added): grow the segment.
		g.releaseShm()
		if err := g.initShm(max(g.screenW, w), max(g.screenH, h)); err != nil {
			g.useShm = false
			return g.grabPlain(d, r)
		}
	}
	_, err := shm.GetImage(g.conn, d, int16(r.Min.X), int16(r.Min.Y),
		uint16(w), uint16(h), 0xffffffff, xproto.ImageFormatZPixmap, g.shmSeg, 0).Reply()
	if err != nil {
		return BGRAFrame{}, err
	}
	return BGRAFrame{Pix: g.shmBuf[:w*h*4], Stride: w * 4, Width: w, Height: h}, nil
}

func (g *X11Grabber) grabPlain(d xproto.Drawable, r image.Rectangle) (BGRAFrame, error) {
	w, h := r.Dx(), r.Dy()
	rep, err := xproto.GetImage(g.conn, xproto.ImageFormatZPixmap, d,
		int16(r.Min.X), int16(r.Min.Y), uint16(w), uint16(h), 0xffffffff).Reply()
	if err != nil {
		return BGRAFrame{}, err
	}
	if len(rep.Data) < w*h*4 {
		return BGRAFrame{}, fmt.Errorf("capture: short GetImage reply: %d bytes", len(rep.Data))
	}
	return BGRAFrame{Pix: rep.Data[:w*h*4], Stride: w * 4, Width: w, Height: h}, nil
}

// refreshScreenSize re-reads the root window size, which RandR changes when
// monitors are added, removed or resized.
func (g *X11Grabber) refreshScreenSize() error {
	geo, err := xproto.GetGeometry(g.conn, xproto.Drawable(g.root)).Reply()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNoDisplay, err)
	}
	g.screenW, g.screenH = int(geo.Width), int(geo.Height)
	return nil
}

// Monitors lists the active monitors through RandR: GetMonitors (RandR 1.5)
// when the server has it, else the enabled CRTCs and their outputs, else the
// whole root window as one monitor.
func (g *X11Grabber) Monitors() ([]Monitor, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, ErrClosed
	}
	if err := g.refreshScreenSize(); err != nil {
		return nil, err
	}
	var list []Monitor
	var err error
	switch {
	case g.randr15:
		list, err = g.monitorsRandR15()
	case g.randr:
		list, err = g.monitorsRandR12()
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoDisplay, err)
	}
	if len(list) == 0 {
		list = []Monitor{{Name: "screen", Width: g.screenW, Height: g.screenH, Primary: true}}
	}
	return normalizeMonitors(list, g.display), nil
}

func (g *X11Grabber) monitorsRandR15() ([]Monitor, error) {
	rep, err := randr.GetMonitors(g.conn, g.root, true).Reply()
	if err != nil {
		return nil, err
	}
	list := make([]Monitor, 0, len(rep.Monitors))
	for _, mi := range rep.Monitors {
		name := ""
		if a, err := xproto.GetAtomName(g.conn, mi.Name).Reply(); err == nil {
			name = a.Name
		}
		list = append(list, Monitor{Name: name, X: int(mi.X), Y: int(mi.Y),
			Width: int(mi.Width), Height: int(mi.Height), Primary: mi.Primary})
	}
	return list, nil
}

func (g *X11Grabber) monitorsRandR12() ([]Monitor, error) {
	res, err := randr.GetScreenResourcesCurrent(g.conn, g.root).Reply()
	if err != nil {
		return nil, err
	}
	var primary randr.Output
	if p, err := randr.GetOutputPrimary(g.conn, g.root).Reply(); err == nil {
		primary = p.Output
	}
	var list []Monitor
	for _, crtc := range res.Crtcs {
		ci, err := randr.GetCrtcInfo(g.conn, crtc, res.ConfigTimestamp).Reply()
		if err != nil || ci.Mode == 0 || len(ci.Outputs) == 0 {
			continue
		}
		m := Monitor{X: int(ci.X), Y: int(ci.Y), Width: int(ci.Width), Height: int(ci.Height)}
		if oi, err := randr.GetOutputInfo(g.conn, ci.Outputs[0], res.ConfigTimestamp).Reply(); err == nil {
			m.Name = string(oi.Name)
		}
		for _, o := range ci.Outputs {
			if o == primary {
				m.Primary = true
			}
		}
		list = append(list, m)
	}
	return list, nil
}

// Close releases the shared memory segment and the X connection. It is
// idempotent.
func (g *X11Grabber) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	g.closed = true
	pump := g.releaseDamage()
	g.releaseShm()
	g.conn.Close()
	if pump != nil {
		<-pump
	}
	return nil
}
