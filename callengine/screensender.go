package callengine

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

// screenSender is a media.VideoSender fed by one monitor: capture.Source
// (persistent MIT-SHM grab, change detection, pacing) → BGRA→I420 → libvpx
// VP8, or x264 H.264 when the peer negotiated only that. It captures only
// between Start and Stop.
type screenSender struct {
	mon     capture.Monitor
	fps     int
	log     *slog.Logger
	counter *atomic.Uint64 // the phone's captured-frame counter

	// registry, when set, lists the sender (under callID) while it
	// captures: from before the capture starts until after it ended.
	registry *shareRegistry
	callID   string

	// onGone is called (from the capture goroutine's watcher) when the
	// monitor disappears or the capture fails for good.
	onGone func(error)

	mu      sync.Mutex
	src     *capture.Source
	enc     frameEncoder
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

func newScreenSender(mon capture.Monitor, fps int, counter *atomic.Uint64, log *slog.Logger, onGone func(error)) *screenSender {
	if fps <= 0 {
		fps = 30
	}
	return &screenSender{mon: mon, fps: fps, counter: counter, log: log, onGone: onGone, first: make(chan struct{}), kbps: 2500}
}

// frameEncoder is what the sender needs of capture.VP8Encoder and
// capture.H264Encoder.
type frameEncoder interface {
	EncodeFrame(f capture.Frame, forceKeyframe bool) (data []byte, keyframe bool, err error)
	RequestKeyframe()
	SetBitrate(kbps int) error
	Close() error
}

// Codecs implements media.VideoSender: VP8 first (WebRTC's mandatory
// codec, with screen-content tuning), H.264 for peers that only take that.
func (s *screenSender) Codecs() []videocodec.Name { return videocodec.All() }

// newEncoder builds the encoder for codec at the monitor's size.
func (s *screenSender) newEncoder(codec videocodec.Name) (frameEncoder, error) {
	switch codec {
	case videocodec.VP8:
		return capture.NewVP8Encoder(capture.VP8Options{EncoderOptions: capture.EncoderOptions{Width: s.mon.Width, Height: s.mon.Height, FPS: s.fps, BitrateKbps: s.kbps, ScreenContent: true}, CPUUsed: 12})
	case videocodec.H264:
		return capture.NewH264Encoder(capture.H264Options{EncoderOptions: capture.EncoderOptions{Width: s.mon.Width, Height: s.mon.Height, FPS: s.fps, BitrateKbps: s.kbps}})
	}
	return nil, fmt.Errorf("callengine: screen sender cannot encode %s", codec)
}

// Start implements media.VideoSender.
func (s *screenSender) Start(codec videocodec.Name, write func([]byte, time.Duration) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return media.ErrClosed
	}
	enc, err := s.newEncoder(codec)
	if err != nil {
		return fmt.Errorf("callengine: %s encoder: %w", codec, err)
	}
	var last time.Time
	frameDur := time.Second / time.Duration(s.fps)
	src, err := capture.NewSource(s.mon, capture.SourceOptions{
		FPS:    s.fps,
		Logger: s.log,
		OnFrame: func(f capture.Frame) {
			s.counter.Add(1)
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
		return fmt.Errorf("callengine: capture %s: %w", s.mon.Name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	// Listed as sharing before the first grab: the indicator may be early,
	// never late.
	if s.registry != nil {
		s.registry.add(s, shareEntry{callID: s.callID, monitor: s.mon.Name})
	}
	if err := src.Start(ctx); err != nil {
		cancel()
		src.Close()
		enc.Close()
		if s.registry != nil {
			s.registry.remove(s)
		}
		return fmt.Errorf("callengine: capture %s: %w", s.mon.Name, err)
	}
	s.src, s.enc, s.cancel, s.codec = src, enc, cancel, codec
	s.watch.Add(1)
	go func() {
		defer s.watch.Done()
		<-src.Done()
		// The capture goroutine has ended: no frame after this.
		if s.registry != nil {
			s.registry.remove(s)
		}
		if err := src.Err(); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, capture.ErrClosed) {
			s.mu.Lock()
			stopped := s.stopped
			s.mu.Unlock()
			if !stopped && s.onGone != nil {
				s.onGone(err)
			}
		}
	}()
	return nil
}

// RequestKeyframe implements media.VideoSender.
func (s *screenSender) RequestKeyframe() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.enc != nil {
		s.enc.RequestKeyframe()
	}
}

// SetBitrate implements media.VideoSender.
func (s *screenSender) SetBitrate(kbps int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kbps = kbps
	if s.enc != nil {
		_ = s.enc.SetBitrate(kbps)
	}
}

// Stop implements media.VideoSender: the capture goroutine has ended and the
// shm segment is released when it returns.
func (s *screenSender) Stop() {
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

// waitFirstFrame waits until one encoded frame went out.
func (s *screenSender) waitFirstFrame(ctx context.Context) error {
	select {
	case <-s.first:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *screenSender) stats(st *media.VideoSentStats) {
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

// fpsMeter measures a frame rate over the last two seconds.
type fpsMeter struct {
	mu    sync.Mutex
	times []time.Time
}

func (m *fpsMeter) tick(t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.times = append(m.times, t)
	cut := 0
	for cut < len(m.times) && t.Sub(m.times[cut]) > 2*time.Second {
		cut++
	}
	m.times = m.times[cut:]
}

func (m *fpsMeter) rate() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.times) < 2 {
		return 0
	}
	if time.Since(m.times[len(m.times)-1]) > 2*time.Second {
		return 0
	}
	span := m.times[len(m.times)-1].Sub(m.times[0]).Seconds()
	if span <= 0 {
		return 0
	}
	return float64(len(m.times)-1) / span
}
