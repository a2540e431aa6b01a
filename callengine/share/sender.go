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
	"maps"
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
	// MaxKbps is a user's ceiling for a slow or metered link (0: none).
	// Each Output reports it (media.VideoBitrateLimiter) and the call's
	// media session keeps the encoder's target and its pacer under it,
	// whatever the path's estimate allows.
	MaxKbps int
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
	// Codecs, when set, lends warm encoders and takes them back when the
	// capture ends (see CodecCache).
	Codecs *CodecCache
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
	// retired are encoders whose last leg left while the capture still
	// ran; Stop hands them back once it has ended.
	retired []*encoderFan

	width, height atomic.Int64
	fps10s        fpsMeter
}

// encoderFan is one codec's encoder and the Outputs it writes to.
type encoderFan struct {
	enc  capture.Encoder
	opts capture.EncoderOptions // what enc was made with
	outs []*Output
}

// maxPrimedFrames bounds what a primed leg holds before its negotiation
// ends: two seconds of a moving screen. Beyond it the frames are dropped
// and the leg waits for a new keyframe.
const maxPrimedFrames = 60

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
	kbps := StartKbps
	if s.opts.MaxKbps > 0 {
		kbps = min(kbps, s.opts.MaxKbps) // the first keyframe already within the cap
	}
	return &Output{s: s, first: make(chan struct{}), kbps: kbps}
}

// attach adds o to its codec's encoder (made if it is the first of that
// codec) and starts the capture if it is the first Output. The capture
// starts first: its first grab (display round trips, the first touch of
// the frame buffers) runs while libvpx sets up the encoder, and the first
// frame waits on mu until the encoder is there.
func (s *Sender) attach(o *Output, codec videocodec.Name) error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return media.ErrClosed
	}
	startedCapture := false
	if s.src == nil {
		if err := s.startCapture(); err != nil {
			s.mu.Unlock()
			return err
		}
		startedCapture = true
	}
	err := s.addLocked(o, codec)
	idle := len(s.encoders) == 0
	s.mu.Unlock()
	if err != nil && startedCapture && idle {
		s.Stop()
	}
	return err
}

// addLocked adds o to codec's encoder, made if it is the first leg of that
// codec. mu is held.
func (s *Sender) addLocked(o *Output, codec videocodec.Name) error {
	fan := s.encoders[codec]
	if fan == nil {
		opts := shareEncoderOptions(s.opts.Monitor, s.opts.FPS, o.bitrate())
		enc, err := s.opts.Codecs.Encoder(codec, opts)
		if err != nil {
			return fmt.Errorf("share: %s encoder: %w", codec, err)
		}
		fan = &encoderFan{enc: enc, opts: opts}
		s.encoders[codec] = fan
	} else {
		// A leg joining a running encoder decodes from the next keyframe.
		fan.enc.RequestKeyframe()
	}
	fan.outs = append(fan.outs, o)
	return nil
}

// shareEncoderOptions are the options of a share's encoder for mon at fps
// (0: 30) and kbps.
func shareEncoderOptions(mon capture.Monitor, fps, kbps int) capture.EncoderOptions {
	if fps <= 0 {
		fps = 30
	}
	return capture.EncoderOptions{Width: mon.Width, Height: mon.Height, FPS: fps, BitrateKbps: kbps, ScreenContent: true}
}

// switchCodec moves o, attached to from's encoder, to codec's (the
// negotiation chose another codec than the one o was primed with).
func (s *Sender) switchCodec(o *Output, from, codec videocodec.Name) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return media.ErrClosed
	}
	// The capture goes on: add to the new codec before leaving the old.
	if err := s.addLocked(o, codec); err != nil {
		return err
	}
	s.dropCodecLocked(o, from)
	return nil
}

// startCapture runs with mu held.
func (s *Sender) startCapture() error {
	mon := s.opts.Monitor
	src, err := capture.NewSource(mon, capture.SourceOptions{
		FPS:     s.opts.FPS,
		Logger:  s.log,
		OnFrame: s.onFrame,
		Buffers: s.opts.Codecs.FrameBuffers(),
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
		data, key, err := fan.enc.EncodeFrame(f, false)
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
		codec := fan.enc.Codec()
		for _, o := range fan.outs {
			ok, needKey := o.send(codec, data, key, f.Time)
			if ok {
				sent = true
			}
			if needKey {
				fan.enc.RequestKeyframe()
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
func (s *Sender) detach(o *Output, codec videocodec.Name) {
	s.mu.Lock()
	s.dropCodecLocked(o, codec)
	last := len(s.encoders) == 0
	s.mu.Unlock()
	if last {
		s.Stop()
	}
	// Otherwise the capture goroutine may be inside onFrame with o in its
	// copy of the legs: o.send checks o.stopped under o.mu, which
	// Output.Stop set first.
}

// dropCodecLocked removes o from codec's encoder. The encoder of o's last
// leg is closed, or, when it was the share's last encoder, kept for Stop
// to hand back to the cache once the capture goroutine cannot use it any
// more. mu is held.
func (s *Sender) dropCodecLocked(o *Output, codec videocodec.Name) {
	fan := s.encoders[codec]
	if fan == nil {
		return
	}
	fan.outs = slices.DeleteFunc(fan.outs, func(x *Output) bool { return x == o })
	if len(fan.outs) > 0 {
		fan.enc.SetBitrate(minBitrate(fan.outs))
		return
	}
	delete(s.encoders, codec)
	if len(s.encoders) == 0 && s.src != nil {
		s.retired = append(s.retired, fan)
		return
	}
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

// Stop ends the share on every leg: the capture goroutine has ended when
// it returns, and the shm segment is released (or parked, grabbing
// nothing, in SenderOptions.Codecs for the next share). Idempotent.
func (s *Sender) Stop() {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.stopped = true
	src, cancel := s.src, s.cancel
	fans := slices.Collect(maps.Values(s.encoders))
	fans = append(fans, s.retired...)
	s.encoders, s.retired = map[videocodec.Name]*encoderFan{}, nil
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if src != nil {
		_ = src.Close()
	}
	s.watch.Wait()
	// The capture goroutine has ended: nobody encodes with them any more.
	for _, fan := range fans {
		s.opts.Codecs.PutEncoder(fan.enc.Codec(), fan.opts, fan.enc)
	}
}

// Output is one call's leg of a Sender, the media.VideoSender its media
// session drives: Start attaches it to the encoder of its codec, Stop
// detaches it (the last leg's Stop ends the capture). Prime may attach it
// earlier, while the negotiation that will start it is under way.
type Output struct {
	s *Sender

	mu    sync.Mutex
	codec videocodec.Name // the encoder it is attached to ("" before)
	write func([]byte, time.Duration) error
	// attached: on an encoder (by Prime or Start); live: Start gave it its
	// writer, frames go out.
	attached, live bool
	stopped        bool
	kbps           int
	// last is when the previous frame written to this leg was grabbed.
	last time.Time
	// held are the frames a primed leg encoded before Start, from a
	// keyframe on, with their grab times.
	held []heldFrame
	// priming is closed when Prime's attach has ended (nil: no Prime).
	priming chan struct{}

	first     chan struct{}
	firstOnce sync.Once
	frames    atomic.Uint64
}

type heldFrame struct {
	data []byte
	at   time.Time
}

// Sender is the share this leg belongs to.
func (o *Output) Sender() *Sender { return o.s }

// Codecs implements media.VideoSender: every codec capture encodes, VP8
// first (WebRTC's mandatory codec, with screen-content tuning).
func (o *Output) Codecs() []videocodec.Name { return videocodec.All() }

// Prime starts the capture and the encoder of the leg's first codec before
// the negotiation that adds the video line has ended, so that opening the
// encoder, the first grab and the first keyframe overlap the re-INVITE's
// round trip instead of following it. The frames are held (from the
// latest keyframe on, at most maxPrimedFrames) and go out at once when
// Start comes with that codec; with another codec the leg moves to that
// codec's encoder. Stop ends a primed leg like a started one.
func (o *Output) Prime() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.stopped || o.attached || o.priming != nil {
		return
	}
	codec := o.Codecs()[0]
	o.codec, o.attached = codec, true
	done := make(chan struct{})
	o.priming = done
	// Opening the encoder takes long (see CodecCache): the negotiation
	// goes on meanwhile. Start and Stop wait for this goroutine.
	go func() {
		defer close(done)
		if err := o.s.attach(o, codec); err != nil {
			o.s.log.Debug("priming the share failed; the negotiated start retries", "codec", codec, "error", err)
			o.mu.Lock()
			o.codec, o.attached = "", false
			o.mu.Unlock()
		}
	}()
}

// waitPrimed waits for Prime's attach to end; mu is held and is held
// again on return.
func (o *Output) waitPrimed() {
	if p := o.priming; p != nil {
		o.mu.Unlock()
		<-p
		o.mu.Lock()
	}
}

// Start implements media.VideoSender.
func (o *Output) Start(codec videocodec.Name, write func([]byte, time.Duration) error) error {
	o.mu.Lock()
	o.waitPrimed()
	if o.stopped || o.live {
		o.mu.Unlock()
		return media.ErrClosed
	}
	if !o.attached {
		o.codec, o.write, o.attached, o.live = codec, write, true, true
		o.mu.Unlock()
		if err := o.s.attach(o, codec); err != nil {
			o.mu.Lock()
			o.attached = false
			o.mu.Unlock()
			return err
		}
		return nil
	}
	if o.codec == codec {
		// Primed with the negotiated codec: what was held goes out now.
		o.write, o.live = write, true
		held := o.held
		o.held = nil
		for _, f := range held {
			o.writeLocked(f.data, f.at)
		}
		o.mu.Unlock()
		return nil
	}
	from := o.codec
	o.codec, o.write, o.live, o.held = codec, write, true, nil
	o.mu.Unlock()
	return o.s.switchCodec(o, from, codec)
}

// send writes one encoded frame of codec grabbed at t to this leg, or
// holds it while the leg is primed. needKey asks the encoder for a
// keyframe: a primed leg whose held frames were dropped needs one to
// start from.
func (o *Output) send(codec videocodec.Name, data []byte, key bool, t time.Time) (sent, needKey bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.stopped || codec != o.codec {
		// A frame of the encoder the leg just left.
		return false, false
	}
	if !o.live {
		switch {
		case key:
			o.held = append(o.held[:0], heldFrame{data: data, at: t})
		case len(o.held) == 0:
			// Nothing to predict from: useless to the peer.
			return false, true
		case len(o.held) >= maxPrimedFrames:
			o.held = nil
			return false, true
		default:
			o.held = append(o.held, heldFrame{data: data, at: t})
		}
		return false, false
	}
	return o.writeLocked(data, t), false
}

// writeLocked writes one frame grabbed at t; the RTP timestamp advances by
// wall time since the leg's previous frame, so skipped static frames read
// as a pause, not as slow motion. mu is held.
func (o *Output) writeLocked(data []byte, t time.Time) bool {
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

var _ media.VideoBitrateLimiter = (*Output)(nil)

// MaxKbps implements media.VideoBitrateLimiter: SenderOptions.MaxKbps.
func (o *Output) MaxKbps() int { return o.s.opts.MaxKbps }

// SetBitrate implements media.VideoSender: an encoder shared by legs
// follows the slowest.
func (o *Output) SetBitrate(kbps int) {
	o.mu.Lock()
	o.kbps = kbps
	o.mu.Unlock()
	o.withEncoder(func(fan *encoderFan) { _ = fan.enc.SetBitrate(minBitrate(fan.outs)) })
}

// withEncoder runs f on the encoder of the leg's codec, with the sender's
// lock held, once the leg is attached.
func (o *Output) withEncoder(f func(*encoderFan)) {
	o.mu.Lock()
	codec, attached := o.codec, o.attached
	o.mu.Unlock()
	if !attached {
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
	o.waitPrimed()
	attached, codec := o.attached, o.codec
	o.held = nil
	o.mu.Unlock()
	if attached {
		o.s.detach(o, codec)
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
	if o.codec != "" && o.live {
		st.Codec = string(o.codec)
	}
	o.mu.Unlock()
	st.Frames = o.frames.Load()
	st.Width = int(o.s.width.Load())
	st.Height = int(o.s.height.Load())
	st.FPS = o.s.fps10s.rate()
}
