// Package share is a call's video: the screen sender (a monitor captured,
// converted and encoded in each negotiated codec) and the receiver that
// decodes the peer's video for a UI. It keeps the cgo codecs out of the
// signalling package: callengine hands these to a media.Session as its
// media.VideoSender and media.VideoSink.
package share

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
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

// Sender is one screen capture fed to every call that shares it: a local
// conference shares one monitor with each leg from one capture.Source
// (persistent MIT-SHM grab, change detection, pacing) and one encoder per
// codec the legs negotiated (capture.NewEncoder), each encoded frame
// written to every leg of that codec. A call drives its leg through an
// Output (a media.VideoSender). The capture runs from the first Output's
// Start until the last one stops, or until Stop.
type Sender struct {
	opts SenderOptions
	log  *slog.Logger

	mu      sync.Mutex
	src     *capture.Source
	cancel  context.CancelFunc
	watch   sync.WaitGroup
	stopped bool
	// encoders has one encoder per codec some running Output uses.
	encoders map[videocodec.Name]*encoderFan

	width, height atomic.Int64
	fps10s        fpsMeter
}

// encoderFan is one codec's encoder and the Outputs it writes to.
type encoderFan struct {
	enc  capture.Encoder
	outs []*Output
}

// NewSender makes a Sender; nothing is captured before an Output starts.
func NewSender(o SenderOptions) *Sender {
	if o.FPS <= 0 {
		o.FPS = 30
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Sender{opts: o, log: o.Logger, encoders: map[videocodec.Name]*encoderFan{}}
}

// Monitor is the monitor the sender captures.
func (s *Sender) Monitor() capture.Monitor { return s.opts.Monitor }

// NewOutput makes one more leg of the share: the media.VideoSender a call's
// media session drives. It sends nothing before its Start.
func (s *Sender) NewOutput() *Output {
	return &Output{s: s, first: make(chan struct{}), kbps: StartKbps}
}

// attach adds o to its codec's encoder (made if it is the first of that
// codec) and starts the capture if it is the first Output.
func (s *Sender) attach(o *Output) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return media.ErrClosed
	}
	fan := s.encoders[o.codec]
	if fan == nil {
		mon := s.opts.Monitor
		enc, err := capture.NewEncoder(o.codec, capture.EncoderOptions{
			Width: mon.Width, Height: mon.Height, FPS: s.opts.FPS, BitrateKbps: o.bitrate(), ScreenContent: true,
		})
		if err != nil {
			return fmt.Errorf("share: %s encoder: %w", o.codec, err)
		}
		fan = &encoderFan{enc: enc}
		s.encoders[o.codec] = fan
	} else {
		// A leg joining a running encoder decodes from the next keyframe.
		fan.enc.RequestKeyframe()
	}
	fan.outs = append(fan.outs, o)
	if s.src != nil {
		return nil
	}
	if err := s.startCapture(); err != nil {
		s.dropLocked(o)
		return err
	}
	return nil
}

// startCapture runs with mu held.
func (s *Sender) startCapture() error {
	mon := s.opts.Monitor
	src, err := capture.NewSource(mon, capture.SourceOptions{
		FPS:     s.opts.FPS,
		Logger:  s.log,
		OnFrame: s.onFrame,
	})
	if err != nil {
		return fmt.Errorf("share: capture %s: %w", mon.Name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	// Listed as sharing before the first grab: the indicator may be early,
	// never late.
	s.capturing(true)
	if err := src.Start(ctx); err != nil {
		cancel()
		src.Close()
		s.capturing(false)
		return fmt.Errorf("share: capture %s: %w", mon.Name, err)
	}
	s.src, s.cancel = src, cancel
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

// onFrame runs on the capture goroutine: each codec's encoder encodes the
// frame once and every leg of that codec gets the result.
func (s *Sender) onFrame(f capture.Frame) {
	if s.opts.Captured != nil {
		s.opts.Captured.Add(1)
	}
	s.mu.Lock()
	fans := make([]encoderFan, 0, len(s.encoders))
	for _, fan := range s.encoders {
		fans = append(fans, encoderFan{enc: fan.enc, outs: slices.Clone(fan.outs)})
	}
	s.mu.Unlock()
	sent := false
	for _, fan := range fans {
		// A refresh of an unchanged screen goes as an ordinary inter
		// frame: forcing a 1080p keyframe every second cost ~60 ms of CPU
		// and ~200 kB/s for nothing (benchmarks.md). A receiver that lost
		// packets asks with PLI; the encoder's periodic keyframe covers one
		// that cannot.
		data, _, err := fan.enc.EncodeFrame(f, false)
		if errors.Is(err, capture.ErrClosed) {
			continue // its last leg left during this frame
		}
		if err != nil {
			s.log.Warn("encode failed", "codec", fan.enc.Codec(), "error", err)
			continue
		}
		if len(data) == 0 {
			continue
		}
		for _, o := range fan.outs {
			if o.send(data, f.Time) {
				sent = true
			}
		}
	}
	if sent {
		s.width.Store(int64(f.Image.Width))
		s.height.Store(int64(f.Image.Height))
		s.fps10s.tick(f.Time)
	}
}

func (s *Sender) capturing(on bool) {
	if s.opts.OnCapturing != nil {
		s.opts.OnCapturing(on)
	}
}

// detach removes o; the last Output gone stops the capture and frees the
// encoders. It returns once no frame is written to o any more.
func (s *Sender) detach(o *Output) {
	s.mu.Lock()
	s.dropLocked(o)
	last := len(s.encoders) == 0
	s.mu.Unlock()
	if last {
		s.Stop()
	}
	// Otherwise the capture goroutine may be inside onFrame with o in its
	// copy of the legs: o.send checks o.stopped under o.mu, which
	// Output.Stop set first.
}

// dropLocked removes o from its encoder, closing the encoder when o was
// its last leg. mu is held.
func (s *Sender) dropLocked(o *Output) {
	fan := s.encoders[o.codec]
	if fan == nil {
		return
	}
	fan.outs = slices.DeleteFunc(fan.outs, func(x *Output) bool { return x == o })
	if len(fan.outs) > 0 {
		fan.enc.SetBitrate(minBitrate(fan.outs))
		return
	}
	delete(s.encoders, o.codec)
	// The capture goroutine may be encoding with it right now: the
	// encoder's lock orders Close after that frame, and a later EncodeFrame
	// returns capture.ErrClosed.
	_ = fan.enc.Close()
}

// minBitrate is what an encoder shared by legs may spend: the slowest
// leg's target.
func minBitrate(outs []*Output) int {
	k := outs[0].bitrate()
	for _, o := range outs[1:] {
		k = min(k, o.bitrate())
	}
	return k
}

// Stop ends the share on every leg: the capture goroutine has ended and
// the shm segment is released when it returns. Idempotent.
func (s *Sender) Stop() {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.stopped = true
	src, cancel := s.src, s.cancel
	fans := s.encoders
	s.encoders = map[videocodec.Name]*encoderFan{}
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if src != nil {
		_ = src.Close()
	}
	s.watch.Wait()
	for _, fan := range fans {
		_ = fan.enc.Close()
	}
}

// Output is one call's leg of a Sender, the media.VideoSender its media
// session drives: Start attaches it to the encoder of its codec, Stop
// detaches it (the last leg's Stop ends the capture).
type Output struct {
	s *Sender

	mu      sync.Mutex
	codec   videocodec.Name
	write   func([]byte, time.Duration) error
	started bool
	stopped bool
	kbps    int
	// last is when the previous frame written to this leg was grabbed.
	last time.Time

	first     chan struct{}
	firstOnce sync.Once
	frames    atomic.Uint64
}

// Sender is the share this leg belongs to.
func (o *Output) Sender() *Sender { return o.s }

// Codecs implements media.VideoSender: every codec capture encodes, VP8
// first (WebRTC's mandatory codec, with screen-content tuning).
func (o *Output) Codecs() []videocodec.Name { return videocodec.All() }

// Start implements media.VideoSender.
func (o *Output) Start(codec videocodec.Name, write func([]byte, time.Duration) error) error {
	o.mu.Lock()
	if o.stopped || o.started {
		o.mu.Unlock()
		return media.ErrClosed
	}
	o.codec, o.write, o.started = codec, write, true
	o.mu.Unlock()
	return o.s.attach(o)
}

// send writes one encoded frame grabbed at t to this leg; the RTP timestamp
// advances by wall time since its previous frame, so skipped static frames
// read as a pause, not as slow motion.
func (o *Output) send(data []byte, t time.Time) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.stopped {
		return false
	}
	d := time.Second / time.Duration(o.s.opts.FPS)
	if !o.last.IsZero() {
		d = t.Sub(o.last)
	}
	o.last = t
	if err := o.write(data, d); err != nil {
		o.s.log.Debug("video write", "error", err)
		return false
	}
	o.frames.Add(1)
	o.firstOnce.Do(func() { close(o.first) })
	return true
}

// RequestKeyframe implements media.VideoSender: the leg's encoder (shared
// with the legs of the same codec) makes a keyframe of the capture's next
// frame, which comes at once even from a still screen.
func (o *Output) RequestKeyframe() {
	o.withEncoder(func(fan *encoderFan) {
		fan.enc.RequestKeyframe()
		if o.s.src != nil {
			o.s.src.RequestRefresh()
		}
	})
}

// RequestRefresh implements media.VideoRefresher: the capture delivers its
// current picture at once.
func (o *Output) RequestRefresh() {
	o.withEncoder(func(*encoderFan) {
		if o.s.src != nil {
			o.s.src.RequestRefresh()
		}
	})
}

// SetBitrate implements media.VideoSender: an encoder shared by legs
// follows the slowest.
func (o *Output) SetBitrate(kbps int) {
	o.mu.Lock()
	o.kbps = kbps
	o.mu.Unlock()
	o.withEncoder(func(fan *encoderFan) { _ = fan.enc.SetBitrate(minBitrate(fan.outs)) })
}

// withEncoder runs f on the encoder of the leg's codec, with the sender's
// lock held, once the leg has started.
func (o *Output) withEncoder(f func(*encoderFan)) {
	o.mu.Lock()
	codec, started := o.codec, o.started
	o.mu.Unlock()
	if !started {
		return
	}
	o.s.mu.Lock()
	defer o.s.mu.Unlock()
	if fan := o.s.encoders[codec]; fan != nil {
		f(fan)
	}
}

func (o *Output) bitrate() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.kbps
}

// Stop implements media.VideoSender; no write happens after it returns.
func (o *Output) Stop() {
	o.mu.Lock()
	if o.stopped {
		o.mu.Unlock()
		return
	}
	o.stopped = true
	started := o.started
	o.mu.Unlock()
	if started {
		o.s.detach(o)
	}
}

// WaitFirstFrame waits until one encoded frame went out on this leg.
func (o *Output) WaitFirstFrame(ctx context.Context) error {
	select {
	case <-o.first:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stats fills what only the sender knows: the leg's codec and frames, the
// picture size and the share's frame rate.
func (o *Output) Stats(st *media.VideoSentStats) {
	o.mu.Lock()
	if o.codec != "" {
		st.Codec = string(o.codec)
	}
	o.mu.Unlock()
	st.Frames = o.frames.Load()
	st.Width = int(o.s.width.Load())
	st.Height = int(o.s.height.Load())
	st.FPS = o.s.fps10s.rate()
}
