// Package share is a call's video: the screen sender (a monitor captured,
// converted and encoded in the negotiated codec) and the receiver that
// decodes the peer's video for a UI. It keeps the cgo codecs out of the
// signalling package: callengine hands these to a media.Session as its
// media.VideoSender and media.VideoSink.
package share

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/capture"
	"github.com/parlo-voip/parlo/capture/videocodec"
)

// SenderOptions configure a Sender.
type SenderOptions struct {
	// Monitor is what is captured. Required.
	Monitor capture.Monitor
	// FPS is the capture pace; default 30.
	FPS int
	// Captured, when set, counts every frame captured (the phone's privacy
	// counter: no capture while not sharing).
	Captured *atomic.Uint64
	// Logger; default slog.Default().
	Logger *slog.Logger
	// OnCapturing is called with true before the capture starts and with
	// false after its goroutine has ended, so a sharing indicator that
	// follows it may be early, never late.
	OnCapturing func(capturing bool)
	// OnGone is called (from the capture watcher) when the monitor
	// disappears or the capture fails for good.
	OnGone func(error)
}

// StartKbps is the encoder's target until the media session sets one.
const StartKbps = 2500

// Sender is a media.VideoSender fed by one monitor: capture.Source
// (persistent MIT-SHM grab, change detection, pacing) → BGRA→I420 → the
// encoder of the negotiated codec (capture.NewEncoder). It captures only
// between Start and Stop.
type Sender struct {
	opts SenderOptions
	log  *slog.Logger

	mu      sync.Mutex
	src     *capture.Source
	enc     capture.Encoder
	codec   videocodec.Name
	cancel  context.CancelFunc
	watch   sync.WaitGroup
	stopped bool
	kbps    int

	first     chan struct{}
	firstOnce sync.Once

	frames        atomic.Uint64
	width, height atomic.Int64
	fps10s        fpsMeter
}

// NewSender makes a Sender; nothing is captured before Start.
func NewSender(o SenderOptions) *Sender {
	if o.FPS <= 0 {
		o.FPS = 30
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Sender{opts: o, log: o.Logger, first: make(chan struct{}), kbps: StartKbps}
}

// Monitor is the monitor the sender captures.
func (s *Sender) Monitor() capture.Monitor { return s.opts.Monitor }

// Codecs implements media.VideoSender: every codec capture encodes, VP8
// first (WebRTC's mandatory codec, with screen-content tuning).
func (s *Sender) Codecs() []videocodec.Name { return videocodec.All() }

// Start implements media.VideoSender.
func (s *Sender) Start(codec videocodec.Name, write func([]byte, time.Duration) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return media.ErrClosed
	}
	mon := s.opts.Monitor
	enc, err := capture.NewEncoder(codec, capture.EncoderOptions{
		Width: mon.Width, Height: mon.Height, FPS: s.opts.FPS, BitrateKbps: s.kbps, ScreenContent: true,
	})
	if err != nil {
		return fmt.Errorf("share: %s encoder: %w", codec, err)
	}
	var last time.Time
	frameDur := time.Second / time.Duration(s.opts.FPS)
	src, err := capture.NewSource(mon, capture.SourceOptions{
		FPS:    s.opts.FPS,
		Logger: s.log,
		OnFrame: func(f capture.Frame) {
			if s.opts.Captured != nil {
				s.opts.Captured.Add(1)
			}
			// A refresh of an unchanged screen goes as an ordinary inter
			// frame: forcing a 1080p keyframe every second cost ~60 ms of
			// CPU and ~200 kB/s for nothing (benchmarks.md). A receiver that
			// lost packets asks with PLI; the encoder's periodic keyframe
			// covers one that cannot.
			data, _, err := enc.EncodeFrame(f, false)
			if err != nil {
				s.log.Warn("encode failed", "codec", codec, "error", err)
				return
			}
			if len(data) == 0 {
				return
			}
			// The RTP timestamp advances by wall time between frames, so
			// skipped static frames read as a pause, not as slow motion.
			d := frameDur
			if !last.IsZero() {
				d = f.Time.Sub(last)
			}
			last = f.Time
			if err := write(data, d); err != nil {
				s.log.Debug("video write", "error", err)
				return
			}
			s.frames.Add(1)
			s.width.Store(int64(f.Image.Width))
			s.height.Store(int64(f.Image.Height))
			s.fps10s.tick(f.Time)
			s.firstOnce.Do(func() { close(s.first) })
		},
	})
	if err != nil {
		enc.Close()
		return fmt.Errorf("share: capture %s: %w", mon.Name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	// Listed as sharing before the first grab: the indicator may be early,
	// never late.
	s.capturing(true)
	if err := src.Start(ctx); err != nil {
		cancel()
		src.Close()
		enc.Close()
		s.capturing(false)
		return fmt.Errorf("share: capture %s: %w", mon.Name, err)
	}
	s.src, s.enc, s.cancel, s.codec = src, enc, cancel, codec
	s.watch.Add(1)
	go func() {
		defer s.watch.Done()
		<-src.Done()
		// The capture goroutine has ended: no frame after this.
		s.capturing(false)
		if err := src.Err(); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, capture.ErrClosed) {
			s.mu.Lock()
			stopped := s.stopped
			s.mu.Unlock()
			if !stopped && s.opts.OnGone != nil {
				s.opts.OnGone(err)
			}
		}
	}()
	return nil
}

func (s *Sender) capturing(on bool) {
	if s.opts.OnCapturing != nil {
		s.opts.OnCapturing(on)
	}
}

// RequestKeyframe implements media.VideoSender.
func (s *Sender) RequestKeyframe() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.enc != nil {
		s.enc.RequestKeyframe()
	}
}

// SetBitrate implements media.VideoSender.
func (s *Sender) SetBitrate(kbps int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kbps = kbps
	if s.enc != nil {
		_ = s.enc.SetBitrate(kbps)
	}
}

// Stop implements media.VideoSender: the capture goroutine has ended and the
// shm segment is released when it returns.
func (s *Sender) Stop() {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.stopped = true
	src, enc, cancel := s.src, s.enc, s.cancel
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if src != nil {
		_ = src.Close()
	}
	s.watch.Wait()
	if enc != nil {
		_ = enc.Close()
	}
}

// WaitFirstFrame waits until one encoded frame went out.
func (s *Sender) WaitFirstFrame(ctx context.Context) error {
	select {
	case <-s.first:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stats fills what only the sender knows: the codec, frames encoded and
// sent, the picture size and the frame rate.
func (s *Sender) Stats(st *media.VideoSentStats) {
	s.mu.Lock()
	if s.codec != "" {
		st.Codec = string(s.codec)
	}
	s.mu.Unlock()
	st.Frames = s.frames.Load()
	st.Width = int(s.width.Load())
	st.Height = int(s.height.Load())
	st.FPS = s.fps10s.rate()
}
