package bench

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/parlo-voip/parlo/capture"
)

// ErrNoMarker is returned when the calibration colour does not show up on
// the receiving screen.
var ErrNoMarker = errors.New("bench: barcode marker not found on the receiving screen")

// BarcodeWatcher reads the barcode off a receiving screen (the window of the
// Parlo that views the share) as fast as it can grab it: it finds where the
// barcode landed (any scaling) from the calibration colour, then grabs that
// strip through MIT-SHM every Interval and records each new value in a
// BarcodeLog. One goroutine, owned by the watcher; Close stops it.
type BarcodeWatcher struct {
	g        *capture.X11Grabber
	rect     image.Rectangle // the barcode on the receiving screen
	strip    image.Rectangle // rect plus as much picture below it, for counting updates
	interval time.Duration
	log      *BarcodeLog

	mu       sync.Mutex
	grabs    int
	unread   int
	updates  int
	lastHash uint64

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// FindBarcodeMarker grabs display until the calibration colour covers a
// barcode-shaped rectangle and returns it.
func FindBarcodeMarker(ctx context.Context, display string) (image.Rectangle, error) {
	g, err := capture.NewX11Grabber(display)
	if err != nil {
		return image.Rectangle{}, err
	}
	defer g.Close()
	mons, err := g.Monitors()
	if err != nil || len(mons) == 0 {
		return image.Rectangle{}, fmt.Errorf("bench: monitors of %s: %v: %w", display, mons, err)
	}
	screen := image.Rect(0, 0, mons[0].X+mons[0].Width, mons[0].Y+mons[0].Height)
	for {
		f, err := g.Grab(screen)
		if err != nil {
			return image.Rectangle{}, err
		}
		r, ok := markerRect(f)
		if ok {
			return r, nil
		}
		select {
		case <-ctx.Done():
			if dir := os.Getenv("PARLO_BENCH_SHOTS"); dir != "" {
				_ = savePNG(filepath.Join(dir, "marker-not-found.png"), f)
			}
			return image.Rectangle{}, fmt.Errorf("%w (magenta-ish pixels last seen in %v): %w", ErrNoMarker, r, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// savePNG writes f to path, for looking at a failed run.
func savePNG(path string, f capture.BGRAFrame) error {
	img := image.NewRGBA(image.Rect(0, 0, f.Width, f.Height))
	for y := 0; y < f.Height; y++ {
		for x := 0; x < f.Width; x++ {
			b, g, r := f.At(x, y)
			o := img.PixOffset(x, y)
			img.Pix[o], img.Pix[o+1], img.Pix[o+2], img.Pix[o+3] = r, g, b, 255
		}
	}
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	defer out.Close()
	return png.Encode(out, img)
}

// markerRect is the bounding box of the magenta pixels of f when it has
// the barcode's shape (48:1, at least 2 px high).
func markerRect(f capture.BGRAFrame) (image.Rectangle, bool) {
	r := image.Rectangle{}
	n := 0
	for y := 0; y < f.Height; y++ {
		row := f.Pix[y*f.Stride:]
		for x := 0; x < f.Width; x++ {
			b, g, rd := row[4*x], row[4*x+1], row[4*x+2]
			if rd > 180 && b > 180 && g < 90 {
				r = r.Union(image.Rect(x, y, x+1, y+1))
				n++
			}
		}
	}
	if r.Dy() < 2 || n < r.Dx()*r.Dy()*8/10 {
		return r, false
	}
	aspect := float64(r.Dx()) / float64(r.Dy())
	want := float64(BarcodeWidth) / float64(BarcodeHeight)
	return r, aspect > want*0.8 && aspect < want*1.25
}

// StartBarcodeWatcher starts reading the barcode at rect on display every
// interval into log. below rows under the barcode are grabbed too, so that
// Updates counts every change of the picture there (full motion), not only
// the barcode's.
func StartBarcodeWatcher(display string, rect image.Rectangle, below int, interval time.Duration, log *BarcodeLog) (*BarcodeWatcher, error) {
	g, err := capture.NewX11Grabber(display)
	if err != nil {
		return nil, err
	}
	strip := rect
	strip.Max.Y += below
	w := &BarcodeWatcher{g: g, rect: rect, strip: strip, interval: interval, log: log,
		stop: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	return w, nil
}

func (w *BarcodeWatcher) run() {
	defer close(w.done)
	seed := maphash.MakeSeed()
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
		}
		f, err := w.g.Grab(w.strip)
		now := time.Now() // the picture is no older than this
		if err != nil {
			continue
		}
		v, ok := readBarcodeBGRA(f, w.rect.Dx(), w.rect.Dy())
		h := maphash.Bytes(seed, f.Pix)
		w.mu.Lock()
		w.grabs++
		if !ok {
			w.unread++
		}
		if h != w.lastHash {
			w.updates++
			w.lastHash = h
		}
		w.mu.Unlock()
		if ok {
			w.log.Seen(v, now)
		}
	}
}

// WatchStats are the watcher's counters since it started.
type WatchStats struct {
	Grabs, Unreadable, Updates int
}

// Stats returns the counters so far.
func (w *BarcodeWatcher) Stats() WatchStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return WatchStats{Grabs: w.grabs, Unreadable: w.unread, Updates: w.updates}
}

// Close stops the watcher and waits for it. It is idempotent.
func (w *BarcodeWatcher) Close() {
	w.closeOnce.Do(func() {
		close(w.stop)
		<-w.done
		_ = w.g.Close()
	})
}

// readBarcodeBGRA reads a barcode scaled to w x h at the top-left of f: the
// mean luma of the middle of each block (a quarter of the block each way,
// at least one pixel) against mid-grey, value and complement checked as in
// ReadBarcode.
func readBarcodeBGRA(f capture.BGRAFrame, w, h int) (uint32, bool) {
	bw := float64(w) / BarcodeBits
	half := max(1, int(bw/8))
	cy := h / 2
	hy := max(1, h/8)
	var bits [BarcodeBits]bool
	for i := range bits {
		cx := int((float64(i) + 0.5) * bw)
		sum, n := 0, 0
		for y := cy - hy; y < cy+hy; y++ {
			for x := cx - half; x < cx+half; x++ {
				b, g, r := f.At(x, y)
				sum += (299*int(r) + 587*int(g) + 114*int(b)) / 1000
				n++
			}
		}
		bits[i] = sum/n >= 128
	}
	var v uint32
	for i := 0; i < BarcodeValueBits; i++ {
		if bits[i] == bits[BarcodeValueBits+i] {
			return 0, false
		}
		v <<= 1
		if bits[i] {
			v |= 1
		}
	}
	return v, true
}
