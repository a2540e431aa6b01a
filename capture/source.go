package capture

import (
	"context"
	"errors"
	"fmt"
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
	// RefreshInterval re-delivers an unchanged picture after this long;
	// default 1 s.
	RefreshInterval time.Duration
	// CheckInterval is how often the monitor's geometry is re-read to detect
	// unplugging or a mode change; default 1 s.
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
}

// SourceStats counts what a Source did so far.
type SourceStats struct {
	Captured   uint64 // frames grabbed from the display
	Skipped    uint64 // grabbed frames dropped because nothing changed
	Delivered  uint64 // frames passed to OnFrame (changed or refresh)
	GrabErrors uint64 // transient grab failures
}

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

	started   atomic.Bool
	closed    atomic.Bool
	closeOnce sync.Once
	stop      chan struct{}
	done      chan struct{}

	errMu sync.Mutex
	err   error

	captured, skipped, delivered, grabErrors atomic.Uint64
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
	if opts.CheckInterval <= 0 {
		opts.CheckInterval = time.Second
	}
	if opts.Display == "" {
		opts.Display = m.Display
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	g, err := openGrabber(opts.Display, true)
	if err != nil {
		return nil, err
	}
	return &Source{
		mon:  m,
		opts: opts,
		log:  log.With("monitor", m.Name, "fps", opts.FPS),
		g:    g,
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}, nil
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
		Captured:   s.captured.Load(),
		Skipped:    s.skipped.Load(),
		Delivered:  s.delivered.Load(),
		GrabErrors: s.grabErrors.Load(),
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
}

func (s *Source) run(ctx context.Context) {
	defer close(s.done)
	defer s.g.Close()
	interval := time.Second / time.Duration(s.opts.FPS)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	st := &captureLoop{lastCheck: time.Now()}
	for {
		if err := s.tick(st); err != nil {
			s.log.Info("screen capture stopped", "err", err)
			s.setErr(err)
			return
		}
		select {
		case <-ctx.Done():
			s.setErr(ctx.Err())
			return
		case <-s.stop:
			return
		case <-ticker.C:
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

func (s *Source) tick(st *captureLoop) error {
	now := time.Now()
	if now.Sub(st.lastCheck) >= s.opts.CheckInterval {
		st.lastCheck = now
		if err := s.checkMonitor(); err != nil {
			return err
		}
	}
	f, err := s.g.Grab(s.mon.Rect())
	if err != nil {
		if errors.Is(err, ErrMonitorGone) || errors.Is(err, ErrNoDisplay) || errors.Is(err, ErrClosed) {
			return err
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
	st.failures = 0
	s.captured.Add(1)
	changed, span := st.det.Detect(f)
	refresh := !changed && now.Sub(st.lastDelivered) >= s.opts.RefreshInterval
	if !changed && !refresh {
		s.skipped.Add(1)
		return nil
	}
	if changed {
		st.img.ensure(f.Width, f.Height)
		bgraToI420Rows(&st.img, f.Pix, f.Stride, span.First, span.Last+1)
	} else {
		span = DirtyRows{First: 0, Last: f.Height - 1}
	}
	select {
	case <-s.stop:
		return nil
	default:
	}
	s.opts.OnFrame(Frame{Image: &st.img, Time: now, Seq: st.seq, Refresh: refresh, Dirty: span})
	st.seq++
	st.lastDelivered = now
	s.delivered.Add(1)
	return nil
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
