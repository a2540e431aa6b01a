package bench

import (
	"fmt"
	"image"
	"io"
	"log"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

// xgb logs "Could not get authority info" on every connection to a display
// without ~/.Xauthority, which Xvfb is.
func init() { xgb.Logger = log.New(io.Discard, "", 0) }

// maxPutBytes keeps one PutImage request under the core protocol's 256 KiB
// request limit (no BIG-REQUESTS needed): 32 rows of a 1920-px picture, 16
// of a 3840-px one.
const maxPutBytes = 32 * 1920 * 4

// XPainter draws the benchmark's screen content on an X display through its
// own connection: a wallpaper, a "typing" window and a barcode clock. Every
// animation runs on a goroutine the painter owns; Close stops them all and
// closes the connection (the X server then destroys the windows).
type XPainter struct {
	conn   *xgb.Conn
	screen *xproto.ScreenInfo

	stop      chan struct{}
	wg        sync.WaitGroup
	drained   chan struct{}
	closeOnce sync.Once
}

// NewXPainter connects to display (":N").
func NewXPainter(display string) (*XPainter, error) {
	c, err := xgb.NewConnDisplay(display)
	if err != nil {
		return nil, fmt.Errorf("bench: X display %s: %w", display, err)
	}
	p := &XPainter{conn: c, screen: xproto.Setup(c).DefaultScreen(c), stop: make(chan struct{}), drained: make(chan struct{})}
	// xgb queues events and unchecked errors (5000 at most) for
	// WaitForEvent; once the queue is full its reader blocks and no reply
	// arrives any more, so every sync() would hang. Nothing here needs an
	// event: drop them. Ends when the connection closes.
	go func() {
		defer close(p.drained)
		for {
			if ev, err := c.WaitForEvent(); ev == nil && err == nil {
				return
			}
		}
	}()
	return p, nil
}

// Close stops the animations and disconnects. It is idempotent.
func (p *XPainter) Close() {
	p.closeOnce.Do(func() {
		close(p.stop)
		p.wg.Wait()
		p.conn.Close()
		<-p.drained
	})
}

// sync waits until the server has processed every request sent so far, so
// that what was drawn is on the screen.
func (p *XPainter) sync() error {
	_, err := xproto.GetInputFocus(p.conn).Reply()
	return err
}

// upload copies img into a new server-side pixmap.
func (p *XPainter) upload(img *image.RGBA) (xproto.Pixmap, error) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	pix, err := xproto.NewPixmapId(p.conn)
	if err != nil {
		return 0, err
	}
	if err := xproto.CreatePixmapChecked(p.conn, p.screen.RootDepth, pix, xproto.Drawable(p.screen.Root), uint16(w), uint16(h)).Check(); err != nil {
		return 0, fmt.Errorf("bench: pixmap: %w", err)
	}
	gc, err := xproto.NewGcontextId(p.conn)
	if err != nil {
		return 0, err
	}
	xproto.CreateGC(p.conn, gc, xproto.Drawable(pix), 0, nil)
	defer xproto.FreeGC(p.conn, gc)
	// ZPixmap at depth 24 is 32 bits per pixel, B G R X in memory order.
	maxPutRows := max(1, maxPutBytes/(w*4))
	buf := make([]byte, w*maxPutRows*4)
	for y0 := 0; y0 < h; y0 += maxPutRows {
		rows := min(maxPutRows, h-y0)
		for y := 0; y < rows; y++ {
			src := img.Pix[img.PixOffset(0, y0+y):]
			dst := buf[y*w*4:]
			for x := 0; x < w; x++ {
				dst[4*x+0], dst[4*x+1], dst[4*x+2], dst[4*x+3] = src[4*x+2], src[4*x+1], src[4*x+0], 0
			}
		}
		xproto.PutImage(p.conn, xproto.ImageFormatZPixmap, xproto.Drawable(pix), gc,
			uint16(w), uint16(rows), 0, int16(y0), 0, p.screen.RootDepth, buf[:w*rows*4])
	}
	return pix, nil
}

// SetWallpaper makes img the root window's background: it stays on screen
// with no client redrawing it and costs nothing while static.
func (p *XPainter) SetWallpaper(img *image.RGBA) error {
	pix, err := p.upload(img)
	if err != nil {
		return err
	}
	root := p.screen.Root
	xproto.ChangeWindowAttributes(p.conn, root, xproto.CwBackPixmap, []uint32{uint32(pix)})
	xproto.ClearArea(p.conn, false, root, 0, 0, 0, 0)
	xproto.FreePixmap(p.conn, pix) // the root window keeps its own reference
	return p.sync()
}

// StartScroller covers the screen with img scrolling up by step rows fps
// times a second (wrapping around): every row of the screen changes on every
// frame, as in a video or a fast scroll. The X server copies from a pixmap it
// holds, so the painter itself costs next to nothing and keeps its rate on a
// busy machine (ffplay's 1080p testsrc2 does not: it reached 15–18 fps here).
func (p *XPainter) StartScroller(img *image.RGBA, fps, step int) error {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	pix, err := p.upload(img)
	if err != nil {
		return err
	}
	win, black, _, err := p.window(0, 0, w, h)
	if err != nil {
		return err
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(time.Second / time.Duration(fps))
		defer t.Stop()
		off := 0
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
			off = (off + step) % h
			xproto.CopyArea(p.conn, xproto.Drawable(pix), xproto.Drawable(win), black, 0, int16(off), 0, 0, uint16(w), uint16(h-off))
			if off > 0 {
				xproto.CopyArea(p.conn, xproto.Drawable(pix), xproto.Drawable(win), black, 0, 0, 0, int16(h-off), uint16(w), uint16(off))
			}
			if err := p.sync(); err != nil {
				return
			}
		}
	}()
	return nil
}

// window maps a borderless, override-redirect window with a white
// background and returns it with a black and a white graphics context.
func (p *XPainter) window(x, y, w, h int) (xproto.Window, xproto.Gcontext, xproto.Gcontext, error) {
	win, err := xproto.NewWindowId(p.conn)
	if err != nil {
		return 0, 0, 0, err
	}
	s := p.screen
	err = xproto.CreateWindowChecked(p.conn, s.RootDepth, win, s.Root, int16(x), int16(y), uint16(w), uint16(h), 0,
		xproto.WindowClassInputOutput, s.RootVisual,
		xproto.CwBackPixel|xproto.CwOverrideRedirect, []uint32{s.WhitePixel, 1}).Check()
	if err != nil {
		return 0, 0, 0, fmt.Errorf("bench: create window: %w", err)
	}
	black, _ := xproto.NewGcontextId(p.conn)
	white, _ := xproto.NewGcontextId(p.conn)
	// No GraphicsExpose/NoExpose event for every CopyArea (the scroller
	// copies 120 times a second).
	xproto.CreateGC(p.conn, black, xproto.Drawable(win), xproto.GcForeground|xproto.GcGraphicsExposures, []uint32{s.BlackPixel, 0})
	xproto.CreateGC(p.conn, white, xproto.Drawable(win), xproto.GcForeground|xproto.GcGraphicsExposures, []uint32{s.WhitePixel, 0})
	xproto.MapWindow(p.conn, win)
	return win, black, white, p.sync()
}

// MoveWindow moves a top-level window (no window manager runs on the
// benchmark's X servers, so the move is immediate).
func (p *XPainter) MoveWindow(win uint32, x, y int) error {
	xproto.ConfigureWindow(p.conn, xproto.Window(win), xproto.ConfigWindowX|xproto.ConfigWindowY, []uint32{uint32(int32(x)), uint32(int32(y))})
	return p.sync()
}

// WarpPointer moves the pointer to (x, y) on the root window.
func (p *XPainter) WarpPointer(x, y int) error {
	xproto.WarpPointer(p.conn, 0, p.screen.Root, 0, 0, 0, 0, int16(x), int16(y))
	return p.sync()
}

// Geometry returns a window's position and size relative to the root.
func (p *XPainter) Geometry(win uint32) (image.Rectangle, error) {
	g, err := xproto.GetGeometry(p.conn, xproto.Drawable(win)).Reply()
	if err != nil {
		return image.Rectangle{}, err
	}
	t, err := xproto.TranslateCoordinates(p.conn, xproto.Window(win), p.screen.Root, 0, 0).Reply()
	if err != nil {
		return image.Rectangle{}, err
	}
	return image.Rect(int(t.DstX), int(t.DstY), int(t.DstX)+int(g.Width), int(t.DstY)+int(g.Height)), nil
}

// every runs f every interval on a goroutine the painter owns until Close
// or until f fails.
func (p *XPainter) every(interval time.Duration, f func(n int) error) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for n := 0; ; n++ {
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
			if f(n) != nil {
				return
			}
		}
	}()
}

func xrects(rs []image.Rectangle) []xproto.Rectangle {
	out := make([]xproto.Rectangle, len(rs))
	for i, r := range rs {
		out[i] = xproto.Rectangle{X: int16(r.Min.X), Y: int16(r.Min.Y), Width: uint16(r.Dx()), Height: uint16(r.Dy())}
	}
	return out
}

// StartTypist maps a w x h "editor" window at (x, y) and types one glyph
// into it every interval (10 per second is a fast typist), wrapping lines
// and clearing the window when it is full. The sequence of glyphs depends
// only on seed.
func (p *XPainter) StartTypist(x, y, w, h int, interval time.Duration, seed uint64) error {
	win, black, _, err := p.window(x, y, w, h)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(seed, 0x7e57))
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		cx, cy := 8, 8
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
			if rng.IntN(8) != 0 { // one key in eight is a space
				xproto.PolyFillRectangle(p.conn, xproto.Drawable(win), black, xrects(GlyphRects(cx, cy, rng.Uint32())))
			}
			cx += 9
			if cx+8 > w-8 {
				cx, cy = 8, cy+18
				if cy+14 > h-8 {
					cy = 8
					xproto.ClearArea(p.conn, false, win, 0, 0, 0, 0)
				}
			}
			if err := p.sync(); err != nil {
				return
			}
		}
	}()
	return nil
}

// StartBarcode maps a barcode window at (x, y) and repaints it every
// interval with the milliseconds elapsed since epoch (mod 2^24), raised above
// any other window. A reader that decodes it from a captured picture knows
// how old that picture is, to within interval.
func (p *XPainter) StartBarcode(x, y int, epoch time.Time, interval time.Duration) error {
	win, black, white, err := p.window(x, y, BarcodeWidth, BarcodeHeight)
	if err != nil {
		return err
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		ones := make([]image.Rectangle, 0, BarcodeBits)
		zeros := make([]image.Rectangle, 0, BarcodeBits)
		for n := 0; ; n++ {
			if n%25 == 0 {
				// Keep it on top of an ffplay window mapped later.
				xproto.ConfigureWindow(p.conn, win, xproto.ConfigWindowStackMode, []uint32{xproto.StackModeAbove})
			}
			ones, zeros = ones[:0], zeros[:0]
			for i, bit := range BarcodeBitsOf(uint32(time.Since(epoch).Milliseconds())) {
				r := image.Rect(i*BarcodeBlock, 0, (i+1)*BarcodeBlock, BarcodeBlock)
				if bit {
					ones = append(ones, r)
				} else {
					zeros = append(zeros, r)
				}
			}
			xproto.PolyFillRectangle(p.conn, xproto.Drawable(win), white, xrects(ones))
			xproto.PolyFillRectangle(p.conn, xproto.Drawable(win), black, xrects(zeros))
			if err := p.sync(); err != nil {
				return
			}
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
		}
	}()
	return nil
}

// Calibration colour of StartBarcodeChanges: pure magenta, which neither
// the benchmark's desktops nor Parlo's theme contain, so a reader can find
// where the barcode landed on another screen whatever the scaling.
const markerPixel = 0xFF00FF

// BarcodeChangeOptions configure StartBarcodeChanges.
type BarcodeChangeOptions struct {
	X, Y int
	// Before Start is closed the barcode window shows the calibration
	// colour; after it, a new value every MinGap..MaxGap (uniform), so the
	// changes fall at random times relative to any capture tick.
	Start          <-chan struct{}
	MinGap, MaxGap time.Duration
	Seed           uint64
}

// StartBarcodeChanges maps a barcode window at (o.X, o.Y) filled with the
// calibration colour; once o.Start is closed it paints the values 1, 2, 3, …
// one at a time at random intervals, recording in the returned log when each
// was on the screen (after the X server acknowledged the paint). Each paint
// raises the window above any other (a full-screen window mapped later).
func (p *XPainter) StartBarcodeChanges(o BarcodeChangeOptions) (*BarcodeLog, error) {
	win, black, white, err := p.window(o.X, o.Y, BarcodeWidth, BarcodeHeight)
	if err != nil {
		return nil, err
	}
	marker, _ := xproto.NewGcontextId(p.conn)
	xproto.CreateGC(p.conn, marker, xproto.Drawable(win), xproto.GcForeground, []uint32{markerPixel})
	raise := func() {
		xproto.ConfigureWindow(p.conn, win, xproto.ConfigWindowStackMode, []uint32{xproto.StackModeAbove})
	}
	full := []xproto.Rectangle{{Width: BarcodeWidth, Height: BarcodeHeight}}
	raise()
	xproto.PolyFillRectangle(p.conn, xproto.Drawable(win), marker, full)
	if err := p.sync(); err != nil {
		return nil, err
	}
	log := &BarcodeLog{}
	rng := rand.New(rand.NewPCG(o.Seed, 0xba4c0de))
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		// Keep the marker on top until the start (other windows may map
		// over it meanwhile).
		t := time.NewTicker(100 * time.Millisecond)
	calibrating:
		for {
			select {
			case <-p.stop:
				t.Stop()
				return
			case <-o.Start:
				break calibrating
			case <-t.C:
				raise()
				xproto.PolyFillRectangle(p.conn, xproto.Drawable(win), marker, full)
				if p.sync() != nil {
					t.Stop()
					return
				}
			}
		}
		t.Stop()
		ones := make([]image.Rectangle, 0, BarcodeBits)
		zeros := make([]image.Rectangle, 0, BarcodeBits)
		for v := uint32(1); ; v++ {
			ones, zeros = ones[:0], zeros[:0]
			for i, bit := range BarcodeBitsOf(v) {
				r := image.Rect(i*BarcodeBlock, 0, (i+1)*BarcodeBlock, BarcodeBlock)
				if bit {
					ones = append(ones, r)
				} else {
					zeros = append(zeros, r)
				}
			}
			raise()
			xproto.PolyFillRectangle(p.conn, xproto.Drawable(win), white, xrects(ones))
			xproto.PolyFillRectangle(p.conn, xproto.Drawable(win), black, xrects(zeros))
			if err := p.sync(); err != nil {
				return
			}
			log.painted(v, time.Now())
			gap := o.MinGap + time.Duration(rng.Int64N(int64(o.MaxGap-o.MinGap)+1))
			select {
			case <-p.stop:
				return
			case <-time.After(gap):
			}
		}
	}()
	return log, nil
}
