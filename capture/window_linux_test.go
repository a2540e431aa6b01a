package capture

import (
	"context"
	"errors"
	"image"
	"sync"
	"testing"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

// testWindow is a real top-level X window made by the test: a client of
// its own connection, as an application would be.
type testWindow struct {
	t    *testing.T
	conn *xgb.Conn
	id   xproto.Window
	gc   xproto.Gcontext
}

func newTestWindow(t *testing.T, display, title string, r image.Rectangle, rgb uint32) *testWindow {
	t.Helper()
	c, err := xgb.NewConnDisplay(display)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	scr := xproto.Setup(c).DefaultScreen(c)
	id, err := xproto.NewWindowId(c)
	if err != nil {
		t.Fatal(err)
	}
	err = xproto.CreateWindowChecked(c, scr.RootDepth, id, scr.Root, int16(r.Min.X), int16(r.Min.Y), uint16(r.Dx()), uint16(r.Dy()), 0,
		xproto.WindowClassInputOutput, scr.RootVisual, xproto.CwBackPixel, []uint32{rgb}).Check()
	if err != nil {
		t.Fatal(err)
	}
	w := &testWindow{t: t, conn: c, id: id}
	w.setTitle(title)
	gc, err := xproto.NewGcontextId(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := xproto.CreateGCChecked(c, gc, xproto.Drawable(id), 0, nil).Check(); err != nil {
		t.Fatal(err)
	}
	w.gc = gc
	if err := xproto.MapWindowChecked(c, id).Check(); err != nil {
		t.Fatal(err)
	}
	w.fill(image.Rect(0, 0, r.Dx(), r.Dy()), rgb)
	return w
}

func (w *testWindow) atom(name string) xproto.Atom {
	rep, err := xproto.InternAtom(w.conn, false, uint16(len(name)), name).Reply()
	if err != nil {
		w.t.Fatal(err)
	}
	return rep.Atom
}

// setTitle sets both _NET_WM_NAME (UTF-8) and WM_NAME, as toolkits do.
func (w *testWindow) setTitle(title string) {
	xproto.ChangeProperty(w.conn, xproto.PropModeReplace, w.id, w.atom("_NET_WM_NAME"), w.atom("UTF8_STRING"), 8, uint32(len(title)), []byte(title))
	if err := xproto.ChangePropertyChecked(w.conn, xproto.PropModeReplace, w.id, xproto.AtomWmName, xproto.AtomString, 8, uint32(len(title)), []byte(title)).Check(); err != nil {
		w.t.Fatal(err)
	}
}

func (w *testWindow) fill(r image.Rectangle, rgb uint32) {
	w.t.Helper()
	xproto.ChangeGC(w.conn, w.gc, xproto.GcForeground, []uint32{rgb})
	err := xproto.PolyFillRectangleChecked(w.conn, xproto.Drawable(w.id), w.gc, []xproto.Rectangle{{
		X: int16(r.Min.X), Y: int16(r.Min.Y), Width: uint16(r.Dx()), Height: uint16(r.Dy()),
	}}).Check()
	if err != nil {
		w.t.Fatal(err)
	}
}

func (w *testWindow) configure(r image.Rectangle) {
	w.t.Helper()
	err := xproto.ConfigureWindowChecked(w.conn, w.id, xproto.ConfigWindowX|xproto.ConfigWindowY|xproto.ConfigWindowWidth|xproto.ConfigWindowHeight,
		[]uint32{uint32(r.Min.X), uint32(r.Min.Y), uint32(r.Dx()), uint32(r.Dy())}).Check()
	if err != nil {
		w.t.Fatal(err)
	}
}

func (w *testWindow) destroy() {
	if err := xproto.DestroyWindowChecked(w.conn, w.id).Check(); err != nil {
		w.t.Fatal(err)
	}
}

// setClientList plays the EWMH window manager: _NET_CLIENT_LIST on the root.
func setClientList(t *testing.T, w *testWindow, ids ...xproto.Window) {
	t.Helper()
	root := xproto.Setup(w.conn).DefaultScreen(w.conn).Root
	buf := make([]byte, 4*len(ids))
	for i, id := range ids {
		xgb.Put32(buf[i*4:], uint32(id))
	}
	if err := xproto.ChangePropertyChecked(w.conn, xproto.PropModeReplace, root, w.atom("_NET_CLIENT_LIST"), xproto.AtomWindow, 32, uint32(len(ids)), buf).Check(); err != nil {
		t.Fatal(err)
	}
}

func TestWindowsListed(t *testing.T) {
	display := startXvfb(t, "1280x720x24")
	a := newTestWindow(t, display, "Éditeur — notes.txt", image.Rect(50, 60, 450, 360), 0xc03030)
	b := newTestWindow(t, display, "Terminal", image.Rect(500, 100, 1100, 500), 0x3030c0)

	find := func(list []Window, id xproto.Window) (Window, bool) {
		for _, w := range list {
			if w.ID == uint32(id) {
				return w, true
			}
		}
		return Window{}, false
	}
	// No window manager: the root's mapped, titled children.
	list, err := WindowsOn(display)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		w     *testWindow
		title string
		r     image.Rectangle
	}{
		{a, "Éditeur — notes.txt", image.Rect(50, 60, 450, 360)},
		{b, "Terminal", image.Rect(500, 100, 1100, 500)},
	} {
		got, ok := find(list, tc.w.id)
		if !ok {
			t.Fatalf("window %q not listed in %+v", tc.title, list)
		}
		if got.Title != tc.title || image.Rect(got.X, got.Y, got.X+got.Width, got.Y+got.Height) != tc.r || got.Display != display {
			t.Errorf("listed %+v, want %q at %v on %s", got, tc.title, tc.r, display)
		}
	}
	// An EWMH window manager's list wins: only what it manages.
	setClientList(t, a, b.id)
	list, err = WindowsOn(display)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != uint32(b.id) {
		t.Errorf("with _NET_CLIENT_LIST = [Terminal]: listed %+v", list)
	}
	// A window gone from the list is gone for FindWindow too.
	b.destroy()
	if _, err := FindWindow(display, uint32(b.id)); !errors.Is(err, ErrWindowGone) {
		t.Errorf("FindWindow of a destroyed window: %v, want ErrWindowGone", err)
	}
	img, err := WindowThumbnail(Window{ID: uint32(a.id), Display: display}, 200, 200)
	if err != nil {
		t.Fatal(err)
	}
	if bnd := img.Bounds(); bnd.Dx() != 200 || bnd.Dy() != 150 {
		t.Errorf("thumbnail of a 400x300 window in 200x200: %v", bnd)
	}
	if r, g, bl, _ := img.At(100, 75).RGBA(); r>>8 < 0xb0 || g>>8 > 0x40 || bl>>8 > 0x40 {
		t.Errorf("thumbnail centre %x/%x/%x, want the window's red", r>>8, g>>8, bl>>8)
	}
}

// lumaAt reads the Y sample at (x, y).
func lumaAt(f *I420, x, y int) int { return int(f.Y[y*f.StrideY+x]) }

// yOf is the BT.601 limited-range luma of 0xRRGGBB, as BGRAToI420 computes it.
func yOf(rgb uint32) int {
	r, g, b := int(rgb>>16&0xff), int(rgb>>8&0xff), int(rgb&0xff)
	return (66*r+129*g+25*b+128)>>8 + 16
}

// TestWindowShare shares one real window: covered by another window it
// still shows its own pixels (Composite), a change inside it is grabbed
// alone, it is followed when moved and resized (fitted into the picture
// size the share started with), and closing it ends the share with
// ErrWindowGone, which is an ErrMonitorGone for the engine.
func TestWindowShare(t *testing.T) {
	display := startXvfb(t, "1280x720x24")
	const red, blue, green, yellow = 0xd02020, 0x2020d0, 0x20d020, 0xe0e020
	win := newTestWindow(t, display, "Shared", image.Rect(100, 100, 500, 400), red)
	w, err := FindWindow(display, uint32(win.id))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var last *I420
	var dirty []DirtyRows
	src, err := NewSource(w.Target(), SourceOptions{FPS: 30, CheckInterval: 100 * time.Millisecond, OnFrame: func(f Frame) {
		mu.Lock()
		defer mu.Unlock()
		last = f.Image.Clone()
		if !f.Refresh {
			dirty = append(dirty, f.Dirty)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if !src.Stats().Damage {
		t.Error("window share is not damage-driven on Xvfb")
	}
	if !src.win.UsesComposite() {
		t.Error("Xvfb has Composite, but the window share reads the screen")
	}
	if err := src.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	pictureIs := func(what string, x, y int, rgb uint32) {
		t.Helper()
		waitFor(t, 3*time.Second, what, func() bool {
			mu.Lock()
			defer mu.Unlock()
			if last == nil || last.Width != 400 || last.Height != 300 {
				return false
			}
			d := lumaAt(last, x, y) - yOf(rgb)
			return d >= -3 && d <= 3
		})
	}
	pictureIs("the window's red", 200, 150, red)

	// Covered by another window: still the shared window's pixels.
	cover := newTestWindow(t, display, "Cover", image.Rect(0, 0, 1280, 720), blue)
	_ = cover
	win.fill(image.Rect(150, 100, 250, 140), green)
	pictureIs("green painted under the cover", 200, 120, green)
	pictureIs("red beside it", 50, 250, red)
	mu.Lock()
	d := dirty[len(dirty)-1]
	mu.Unlock()
	if d.First > 100 || d.Last < 139 || d.First < 84 || d.Last > 155 {
		t.Errorf("dirty rows %+v for a change on rows 100..139", d)
	}

	// Moved: the same picture.
	win.configure(image.Rect(600, 300, 1000, 600))
	win.fill(image.Rect(0, 0, 40, 40), green)
	pictureIs("after the move", 20, 20, green)

	// Resized to 800x600: fitted (halved) into 400x300.
	win.configure(image.Rect(100, 50, 900, 650))
	win.fill(image.Rect(0, 0, 800, 600), yellow)
	pictureIs("the resized window, scaled down", 200, 150, yellow)
	pictureIs("its corner", 2, 2, yellow)
	// Shrunk to 200x100: centred at 1:1, black around.
	win.configure(image.Rect(100, 50, 300, 150))
	win.fill(image.Rect(0, 0, 200, 100), green)
	pictureIs("the shrunk window in the centre", 200, 150, green)
	pictureIs("black around it", 20, 20, 0x000000)

	// Minimised (unmapped) and restored: the share goes on.
	if err := xproto.UnmapWindowChecked(win.conn, win.id).Check(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // let the share see it unmapped for three window checks
	select {
	case <-src.Done():
		t.Fatalf("minimising the window ended the share: %v", src.Err())
	default:
	}
	if err := xproto.MapWindowChecked(win.conn, win.id).Check(); err != nil {
		t.Fatal(err)
	}
	win.fill(image.Rect(0, 0, 200, 100), yellow)
	pictureIs("the restored window", 200, 150, yellow)

	// Closed: the share ends like an unplugged monitor.
	win.destroy()
	select {
	case <-src.Done():
	case <-time.After(3 * time.Second):
		t.Fatal("the share did not end after its window closed")
	}
	if err := src.Err(); !errors.Is(err, ErrWindowGone) || !errors.Is(err, ErrMonitorGone) {
		t.Errorf("share ended with %v, want ErrWindowGone (an ErrMonitorGone)", err)
	}
}
