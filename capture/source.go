package capture

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Frame is one picture delivered by a Source.
type Frame struct {
	// Image is lent to the callback: the Source reuses it once OnFrame
	// returns. Call Image.Clone() to keep it.
	Image *I420
	// Time is when the pixels were grabbed.
	Time time.Time
	// Seq counts delivered frames from 0.
	Seq uint64
	// Refresh is set when the picture did not change but is re-sent because
	// RefreshInterval passed; an encoder may turn it into a keyframe so that a
	// decoder that joined late or lost packets recovers.
	Refresh bool
	// Dirty is the span of rows that changed (all rows on the first frame).
	Dirty DirtyRows
}

// SourceOptions configures a Source. Zero values take the defaults.
type SourceOptions struct {
	// FPS is the capture rate; default 30.
	FPS int
	// RefreshInterval re-delivers an unchanged picture after this long,
	// for the first settleRefreshes times after a change; default 1 s. The
	// encoder uses these refreshes to refine what it coded coarsely during
	// the change (see VP8Encoder.EncodeFrame), so text sharpens within
	// seconds after typing stops.
	RefreshInterval time.Duration
	// IdleRefreshInterval spaces the refreshes of a screen that has been
	// still for longer; default 5 s. Nothing else is sent then, and a
	// receiver can only notice that the last packets of the last change
	// were lost when a later packet arrives (RTP sequence gap, RFC 3550
	// §A.3); the refresh bounds how long it can show a broken picture
	// before it asks for repair with NACK or PLI (RFC 4585 §6.3.1). The
	// refresh re-reads the whole screen, which also corrects, within this
	// interval, any drawing the display did not report as damage.
	IdleRefreshInterval time.Duration
	// Polling disables damage tracking: every tick grabs the whole monitor
	// and compares it with the previous frame. It is what the Source does
	// anyway when the display has no DAMAGE extension; benchmarks set it to
	// compare both.
	Polling bool
	// CheckInterval is how often the monitor's geometry is re-read to detect
	// unplugging or a mode change; default 1 s, or 10 s when the display
	// announces layout changes (RandR events), which trigger a check at
	// once.
	CheckInterval time.Duration
	// Display is the X display to capture; default the Monitor's Display,
	// then $DISPLAY.
	Display string
	// OnFrame receives each delivered frame on the capture goroutine. It
	// paces the loop: while it runs no new frame is grabbed. It must not call
	// Close (cancel the Start context instead).
	OnFrame func(Frame)
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Buffers, when set, lends the picture buffers of an earlier Source and
	// takes this one's back when it ends.
	Buffers *FrameBuffers
}

// SourceStats counts what a Source did so far.
type SourceStats struct {
	Captured   uint64 // ticks that grabbed pixels from the display
	Skipped    uint64 // grabs dropped because nothing changed
	Delivered  uint64 // frames passed to OnFrame (changed or refresh)
	Refreshes  uint64 // delivered frames that were refreshes
	GrabErrors uint64 // transient grab failures
	// GrabbedPixels sums the area of every grab: a damage-driven capture
	// of typing grabs a few glyphs, polling the whole monitor each tick.
	GrabbedPixels uint64
	// Damage tells whether the Source is damage-driven (false: polling).
	Damage bool
}

// screenWatchedCheck is the default CheckInterval when RandR events report
// layout changes: reading the monitor list costs a few round trips, which
// once a second was most of what a still screen cost.
const screenWatchedCheck = 10 * time.Second

// settleRefreshes is how many refreshes follow a change at RefreshInterval
// before they slow down to IdleRefreshInterval: the encoder's refinement
// of changed rows takes that many passes (settlePasses).
const settleRefreshes = settlePasses

// maxGrabErrors ends a share after this many consecutive unexplained grab
// failures (the monitor still exists but the server refuses to give pixels).
const maxGrabErrors = 30

// Source captures one monitor at a steady pace, converts each changed frame
// to I420 and hands it to OnFrame. It owns one grabber (one X connection and
// one shared memory segment) for its whole life.
type Source struct {
	mon  Monitor
	opts SourceOptions
	log  *slog.Logger
	g    grabber
	// dt is the grabber's damage tracker when the display reports damage
	// (nil: polling).
	dt damageTracker
	// sw reports monitor layout changes, when the display sends them.
	sw screenWatcher
	// win is set for a window share (mon.Window != 0); g is then win.
	win windowGrabber

	started   atomic.Bool
	closed    atomic.Bool
	closeOnce sync.Once
	stop      chan struct{}
	done      chan struct{}
	// wake and refreshReq carry RequestRefresh to the capture goroutine.
	wake       chan struct{}
	refreshReq atomic.Bool

	errMu sync.Mutex
	err   error

	captured, skipped, delivered, refreshes, grabErrors, grabbedPixels atomic.Uint64
}

// NewSource opens the display and prepares the capture of m; nothing is
// grabbed before Start.
func NewSource(m Monitor, opts SourceOptions) (*Source, error) {
	if opts.OnFrame == nil {
		return nil, errors.New("capture: SourceOptions.OnFrame is required")
	}
	if m.Width <= 0 || m.Height <= 0 {
		return nil, fmt.Errorf("%w: empty monitor %+v", ErrMonitorGone, m)
	}
	if opts.FPS <= 0 {
		opts.FPS = 30
	}
	if opts.RefreshInterval <= 0 {
		opts.RefreshInterval = time.Second
	}
	if opts.IdleRefreshInterval <= 0 {
		opts.IdleRefreshInterval = 5 * time.Second
	}
	if opts.IdleRefreshInterval < opts.RefreshInterval {
		opts.IdleRefreshInterval = opts.RefreshInterval
	}
	checkDefault := opts.CheckInterval <= 0
	if checkDefault {
		opts.CheckInterval = time.Second
	}
	if opts.Display == "" {
		opts.Display = m.Display
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	m.Display = opts.Display
	var (
		g   grabber
		win windowGrabber
		err error
	)
	if parkable(m, opts.Polling) {
		g = opts.Buffers.takeGrabber(m.Display)
	}
	if g == nil {
		g, win, err = openTargetGrabber(m)
		if err != nil {
			return nil, err
		}
	}
	s := &Source{
		win:  win,
		mon:  m,
		opts: opts,
		log:  log.With("monitor", m.Name, "fps", opts.FPS),
		g:    g,
		stop: make(chan struct{}),
		done: make(chan struct{}),
		wake: make(chan struct{}, 1),
	}
	s.dt = enableDamage(g, opts.Polling, s.log)
	if sw, ok := s.dt.(screenWatcher); ok && sw.WatchesScreen() {
		s.sw = sw
		if checkDefault {
			// RandR reports layout changes; the check is a safety net.
			s.opts.CheckInterval = screenWatchedCheck
		}
	}
	return s, nil
}

// enableDamage turns on damage tracking when g supports it and the display
// has it; nil means the Source polls.
func enableDamage(g grabber, polling bool, log *slog.Logger) damageTracker {
	dt, ok := g.(damageTracker)
	if !ok || polling {
		return nil
	}
	if err := dt.EnableDamage(); err != nil {
		log.Info("screen capture polls: the display reports no damage", "err", err)
		return nil
	}
	return dt
}

// Start launches the capture goroutine. It stops when ctx ends, Close is
// called or the monitor disappears (see Done and Err).
func (s *Source) Start(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("capture: source already started")
	}
	go s.run(ctx)
	return nil
}

// Done is closed when the capture goroutine has ended and the display
// resources are released.
func (s *Source) Done() <-chan struct{} { return s.done }

// Err tells why the Source stopped: nil after Close, the context's error,
// ErrMonitorGone or ErrNoDisplay.
func (s *Source) Err() error {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	return s.err
}

// Stats returns the counters so far.
func (s *Source) Stats() SourceStats {
	return SourceStats{
		Captured:      s.captured.Load(),
		Skipped:       s.skipped.Load(),
		Delivered:     s.delivered.Load(),
		Refreshes:     s.refreshes.Load(),
		GrabErrors:    s.grabErrors.Load(),
		GrabbedPixels: s.grabbedPixels.Load(),
		Damage:        s.dt != nil,
	}
}

// Close stops the capture goroutine, waits for it (one frame at most, a few
// milliseconds) and releases the shared memory segment and the connection.
// It is idempotent. No OnFrame call starts after Close returns.
func (s *Source) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		close(s.stop)
		if !s.started.Swap(true) {
			// Never started: nobody else owns the grabber.
			_ = s.g.Close()
			close(s.done)
		}
	})
	<-s.done
	return nil
}

// parkable reports whether a capture of m keeps its connection for the
// next one (FrameBuffers): a damage-tracking X11 monitor capture only. A
// window's grabber follows that one window, and a portal's PipeWire stream
// must end with the share (the compositor shows that the screen is being
// captured while it runs).
func parkable(m Monitor, polling bool) bool {
	return m.Window == 0 && m.portal == nil && !polling
}

// failed reports whether the capture ended on an error of its own (not a
// Close or a cancelled context).
func (s *Source) failed() bool {
	err := s.Err()
	return err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrClosed)
}

func (s *Source) setErr(err error) {
	s.errMu.Lock()
	s.err = err
	s.errMu.Unlock()
}

// captureLoop holds the state of the goroutine between ticks.
type captureLoop struct {
	det           ChangeDetector
	img           I420
	lastCheck     time.Time
	lastDelivered time.Time
	seq           uint64
	failures      int
	// refreshes counts refreshes since the last change.
	refreshes int
	// mirror is the damage path's copy of the monitor (tight BGRX rows),
	// kept up to date rectangle by rectangle.
	mirror []byte
	primed bool
	// Window shares resized away from the picture size: the window is
	// fitted into fit (picture size) from a grab of fitW x fitH.
	fit        []byte
	fitted     bool
	fitW, fitH int
}

// RequestRefresh makes the capture deliver the current picture on its next
// tick, changed or not, without waiting for RefreshInterval: a receiver
// that lost the picture asks for a keyframe (RFC 4585 §6.3.1), and a still
// screen would otherwise give the encoder nothing to make it from for
// seconds.
func (s *Source) RequestRefresh() {
	s.refreshReq.Store(true)
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// refreshDue reports whether an unchanged picture should be re-sent now.
func (s *Source) refreshDue(st *captureLoop, now time.Time) bool {
	if s.refreshReq.Load() {
		return true
	}
	iv := s.opts.RefreshInterval
	if st.refreshes >= settleRefreshes {
		iv = s.opts.IdleRefreshInterval
	}
	return now.Sub(st.lastDelivered) >= iv
}

func (s *Source) run(ctx context.Context) {
	defer close(s.done)
	defer func() {
		// A monitor capture that ended well parks its connection for the
		// next one (FrameBuffers); one that failed closes it.
		if parkable(s.mon, s.dt == nil) && !s.failed() && s.opts.Buffers.putGrabber(s.mon.Display, s.g) {
			return
		}
		_ = s.g.Close()
	}()
	interval := time.Second / time.Duration(s.opts.FPS)
	st := &captureLoop{lastCheck: time.Now()}
	// No OnFrame runs any more when this returns: the buffers are free.
	defer func() {
		if st.primed && s.win == nil {
			img := st.img
			s.opts.Buffers.put(st.mirror, &img)
		}
	}()
	var notify <-chan struct{}
	if s.dt != nil {
		notify = s.dt.DamageNotify()
	}
	// Polling wakes every frame; damage-driven capture sleeps until the
	// display reports drawing (at most once a frame interval), a refresh or
	// a monitor check is due. Waking 30 times a second to find nothing
	// cost more CPU than everything else a still screen needs.
	timer := time.NewTimer(interval)
	defer timer.Stop()
	for {
		lastTick := time.Now()
		if err := s.tick(st); err != nil {
			s.log.Info("screen capture stopped", "err", err)
			s.setErr(err)
			return
		}
		wait := interval - time.Since(lastTick)
		if notify != nil {
			wait = time.Until(s.nextWake(st))
		}
		timer.Reset(max(wait, 0))
		select {
		case <-ctx.Done():
			s.setErr(ctx.Err())
			return
		case <-s.stop:
			return
		case <-timer.C:
		case <-s.wake:
		case <-notify:
			// Pace: one frame interval at least since the last tick.
			if d := interval - time.Since(lastTick); d > 0 {
				timer.Reset(d)
				select {
				case <-ctx.Done():
					s.setErr(ctx.Err())
					return
				case <-s.stop:
					return
				case <-timer.C:
				}
			}
		}
		// A tick and a stop can be ready together; stop wins so that no
		// frame is delivered after Close.
		select {
		case <-s.stop:
			return
		default:
		}
	}
}

// nextWake is when a damage-driven Source must look again although
// nothing was drawn: the next refresh or monitor check.
func (s *Source) nextWake(st *captureLoop) time.Time {
	next := st.lastCheck.Add(s.opts.CheckInterval)
	if st.primed {
		iv := s.opts.RefreshInterval
		if st.refreshes >= settleRefreshes {
			iv = s.opts.IdleRefreshInterval
		}
		if r := st.lastDelivered.Add(iv); r.Before(next) {
			next = r
		}
	}
	return next
}

func (s *Source) tick(st *captureLoop) error {
	now := time.Now()
	if s.win != nil {
		return s.tickWindow(st, now)
	}
	if now.Sub(st.lastCheck) >= s.opts.CheckInterval || (s.sw != nil && s.sw.ScreenChanged()) {
		st.lastCheck = now
		if err := s.checkMonitor(); err != nil {
			return err
		}
	}
	if s.dt != nil {
		return s.tickDamage(st, now, s.mon.Rect())
	}
	f, err := s.g.Grab(s.mon.Rect())
	if err != nil {
		return s.grabFailed(st, err)
	}
	st.failures = 0
	s.captured.Add(1)
	s.grabbedPixels.Add(uint64(f.Width * f.Height))
	changed, span := st.det.Detect(f)
	refresh := !changed && s.refreshDue(st, now)
	if !changed && !refresh {
		s.skipped.Add(1)
		return nil
	}
	if changed {
		st.img.ensure(f.Width, f.Height)
		bgraToI420Rows(&st.img, f.Pix, f.Stride, span.First, span.Last+1)
	}
	s.deliver(st, now, changed, span)
	return nil
}

// grabFailed decides whether a grab error ends the capture.
func (s *Source) grabFailed(st *captureLoop, err error) error {
	if errors.Is(err, ErrMonitorGone) || errors.Is(err, ErrNoDisplay) || errors.Is(err, ErrClosed) {
		return err
	}
	if errors.Is(err, errNoPictureYet) {
		// A stream's first picture is on its way; its damage
		// notification wakes the next tick.
		return nil
	}
	s.grabErrors.Add(1)
	st.failures++
	s.log.Warn("screen grab failed", "err", err, "consecutive", st.failures)
	if st.failures >= maxGrabErrors {
		return err
	}
	// Perhaps the geometry changed under us: check on the next tick.
	st.lastCheck = time.Time{}
	return nil
}

// deliver hands st.img to OnFrame: a changed frame with its dirty rows, or
// a refresh (all rows).
func (s *Source) deliver(st *captureLoop, now time.Time, changed bool, span DirtyRows) {
	if !changed {
		span = DirtyRows{First: 0, Last: st.img.Height - 1}
		st.refreshes++
		if s.refreshReq.Load() {
			// A requested refresh answers a receiver's loss (a keyframe
			// request, or the probe after a keyframe): it may be lost
			// too, and on a still screen nothing else would show the
			// receiver that loss for IdleRefreshInterval. Refreshes go on
			// at RefreshInterval as after a change.
			st.refreshes = 0
		}
		s.refreshes.Add(1)
	} else {
		st.refreshes = 0
	}
	select {
	case <-s.stop:
		return
	default:
	}
	s.refreshReq.Store(false)
	s.opts.OnFrame(Frame{Image: &st.img, Time: now, Seq: st.seq, Refresh: !changed, Dirty: span})
	st.seq++
	st.lastDelivered = now
	s.delivered.Add(1)
}

// tickDamage is the damage-driven tick: nothing reported, nothing grabbed
// (until a refresh is due); else only the repainted rectangles are grabbed
// into the mirror, compared row by row there, and the rows that really
// changed converted and delivered.
func (s *Source) tickDamage(st *captureLoop, now time.Time, mr image.Rectangle) error {
	w, h := mr.Dx(), mr.Dy()
	if !st.primed {
		return s.primeDamage(st, now, mr)
	}
	rects, err := s.dt.Damaged()
	if err != nil {
		return s.grabFailed(st, err)
	}
	regions := clipRegions(rects, mr)
	full := len(regions) == 0
	if full {
		if !s.refreshDue(st, now) {
			return nil
		}
		regions = []image.Rectangle{image.Rect(0, 0, w, h)}
	}
	span, changed, err := s.grabInto(st, regions, mr.Min, w)
	if err != nil {
		return s.grabFailed(st, err)
	}
	st.failures = 0
	if !changed && !full {
		// Drawn over with the same pixels (a redrawn clock, a repainted
		// button): nothing to encode.
		s.skipped.Add(1)
		return nil
	}
	if changed {
		bgraToI420Rows(&st.img, st.mirror, w*4, span.First, span.Last+1)
	}
	s.deliver(st, now, changed, span)
	return nil
}

// primeDamage is the damage path's first tick: the whole monitor is
// grabbed, converted straight from the grab and delivered, and only then
// copied into the mirror that later ticks compare against. The mirror is
// 8 MB of fresh memory at 1080p, and the first touch of each of its pages
// is slow on a virtual machine (20–70 µs a page on the test VM): filling
// it first delayed a share's first frame by tens of milliseconds.
func (s *Source) primeDamage(st *captureLoop, now time.Time, mr image.Rectangle) error {
	w, h := mr.Dx(), mr.Dy()
	s.captured.Add(1)
	f, err := s.g.Grab(mr)
	if err != nil {
		return s.grabFailed(st, err)
	}
	st.failures = 0
	s.grabbedPixels.Add(uint64(f.Width * f.Height))
	mirror, img := s.opts.Buffers.take(w, h)
	if img != nil {
		st.img = *img
	}
	st.img.ensure(w, h)
	if mirror == nil {
		mirror = make([]byte, w*h*4)
	}
	fill := func() {
		n := min(f.Width, w) * 4
		for y := 0; y < min(f.Height, h); y++ {
			copy(mirror[y*w*4:y*w*4+n], f.Pix[y*f.Stride:y*f.Stride+n])
		}
		st.mirror = mirror
	}
	st.primed = true
	if f.Width != w || f.Height != h {
		// A pushed stream smaller than the monitor: the mirror (black
		// elsewhere) is the picture, as on the later ticks.
		clear(mirror)
		fill()
		bgraToI420Rows(&st.img, st.mirror, w*4, 0, h)
		s.deliver(st, now, true, DirtyRows{First: 0, Last: h - 1})
		return nil
	}
	bgraToI420Rows(&st.img, f.Pix, f.Stride, 0, h)
	s.deliver(st, now, true, DirtyRows{First: 0, Last: h - 1})
	// f.Pix stays valid until the next grab, on this goroutine.
	fill()
	return nil
}

// maxRegionGrabs bounds the GetImage round trips per frame; more damaged
// rectangles than this are grabbed as their bounding box.
const maxRegionGrabs = 8

// roundTripPixels is what one more GetImage round trip costs, in pixels of
// grab: on the 2-core test machine an MIT-SHM GetImage takes about 75 µs
// for a small rectangle and 1.1 ms for 1080p, ~0.5 ns a pixel
// (BenchmarkX11GrabRegion), so a round trip weighs ~150,000 pixels.
const roundTripPixels = 150_000

// clipRegions maps damaged rectangles (root coordinates) into the monitor
// (monitor coordinates), dropping those outside it, and decides how to grab
// them: one by one when the pixels their bounding box would grab in vain
// cost more than the extra round trips (a caret at the top and a clock at
// the bottom), else as the bounding box.
func clipRegions(rects []image.Rectangle, mr image.Rectangle) []image.Rectangle {
	var out []image.Rectangle
	var bbox image.Rectangle
	area := 0
	for _, r := range rects {
		r = r.Intersect(mr)
		if r.Empty() {
			continue
		}
		r = r.Sub(mr.Min)
		out = append(out, r)
		bbox = bbox.Union(r)
		area += r.Dx() * r.Dy()
	}
	if len(out) > maxRegionGrabs || (len(out) > 1 && bbox.Dx()*bbox.Dy()-area < (len(out)-1)*roundTripPixels) {
		return []image.Rectangle{bbox}
	}
	return out
}

// grabInto grabs each region (monitor coordinates; origin is the monitor's
// place on the root) into the mirror and reports the span of rows whose
// pixels changed.
func (s *Source) grabInto(st *captureLoop, regions []image.Rectangle, origin image.Point, w int) (DirtyRows, bool, error) {
	first, last := -1, -1
	stride := w * 4
	s.captured.Add(1)
	for _, r := range regions {
		f, err := s.g.Grab(r.Add(origin))
		if err != nil {
			return DirtyRows{}, false, err
		}
		s.grabbedPixels.Add(uint64(f.Width * f.Height))
		n := f.Width * 4
		for y := 0; y < f.Height; y++ {
			src := f.Pix[y*f.Stride : y*f.Stride+n]
			o := (r.Min.Y+y)*stride + r.Min.X*4
			dst := st.mirror[o : o+n]
			if bytes.Equal(src, dst) {
				continue
			}
			copy(dst, src)
			row := r.Min.Y + y
			if first < 0 || row < first {
				first = row
			}
			if row > last {
				last = row
			}
		}
	}
	if first < 0 {
		return DirtyRows{}, false, nil
	}
	return DirtyRows{First: first, Last: last}, true, nil
}

// checkMonitor re-reads the monitor list and fails when the captured monitor
// is gone or moved/resized: the receiver negotiated a picture size, and a
// silently cropped or padded share would mislead the user.
func (s *Source) checkMonitor() error {
	list, err := s.g.Monitors()
	if err != nil {
		return err
	}
	cur, ok := findMonitor(list, s.mon)
	if !ok {
		return fmt.Errorf("%w: %q not listed", ErrMonitorGone, s.mon.Name)
	}
	if !cur.sameGeometry(s.mon) {
		return fmt.Errorf("%w: %q is now %dx%d+%d+%d", ErrMonitorGone, s.mon.Name, cur.Width, cur.Height, cur.X, cur.Y)
	}
	return nil
}
