package audio

import (
	"encoding/binary"
	"errors"
	"log/slog"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// defaultEchoDelayMs is the render-to-capture delay reported to the echo
// canceller: a sound server's playback and capture buffers (two 10 ms
// periods each) on top of a laptop's few ms of air. The canceller's own
// estimate (delay-agnostic mode) corrects it.
const defaultEchoDelayMs = 40

// maxRefBacklog bounds the reference FIFO (300 ms): more means the
// speaker runs ahead of the microphone and old reference is useless.
const maxRefBacklog = 30 * ProcessFrameSamples

// speakerPeriods is the speaker's buffer in 10 ms periods. A late speaker
// thread (a busy machine) makes the server play a gap, which shifts the
// echo and costs the canceller a second of re-convergence; a deeper buffer
// rides out such stalls for a little latency.
const speakerPeriods = 8

// abandonWait bounds how long Close waits for a lost device to close.
const abandonWait = 2 * time.Second

// watchInterval is how often VoiceIO checks that its devices still exist
// and still run.
const watchInterval = 250 * time.Millisecond

// stallTimeout is how long a device may go without a callback before it is
// taken for gone (a sound server dropped the stream).
const stallTimeout = 3 * time.Second

// VoiceIOOptions configures a VoiceIO.
type VoiceIOOptions struct {
	// Processing is the voice processing applied to the microphone.
	Processing Processing
	// Microphone and Speaker are device IDs (DeviceInfo.ID); "" follows
	// the system default.
	Microphone, Speaker string
	// OnNotice, if set, is told when a device is lost and VoiceIO falls
	// back to the default one. It is called from VoiceIO's own goroutine.
	OnNotice func(DeviceNotice)
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// DeviceNotice reports a device change the user did not ask for.
type DeviceNotice struct {
	// Kind is the device that changed.
	Kind DeviceKind
	// Lost is the ID of the device that went away.
	Lost string
	// Now is the ID of the device in use now ("" for the default).
	Now string
	// Err is why the device is not what was chosen (wraps ErrNoDevice).
	Err error
}

// VoiceIO owns the phone's one microphone and one speaker and hands out
// Sources and Sinks for calls: what calls write is mixed into the speaker,
// and the microphone is cleaned once (echo cancellation against what the
// speaker really played, noise suppression, gain control) and copied to
// every Source. It is the one processing stage both media paths use.
// Devices open with the first Source or Sink and close with the last, and
// can be changed at any time, also mid-call: calls keep their Sources and
// Sinks. A device that disappears is replaced by the default one.
type VoiceIO struct {
	log      *slog.Logger
	noticeMu sync.Mutex
	onNotice func(DeviceNotice)
	proc     *Processor // nil if the processor failed to start

	mu      sync.Mutex
	micID   string // chosen ("" = default)
	spkID   string
	mic     *voiceDevice // open while sources exist
	spk     *voiceDevice // open while sinks exist
	closed  bool
	sources atomic.Pointer[[]*voiceSource]
	sinks   atomic.Pointer[[]*voiceSink]

	ref *pcmRing // what the speaker played, not yet given to the canceller

	// Capture-callback state (only the capture thread touches these).
	acc     []int16
	chunk   []int16
	refBuf  []int16
	micLvl  atomic.Uint32 // float32 bits: RMS of the last processed 10 ms, 0..1
	spkLvl  atomic.Uint32
	mixBuf  []int16 // playback-callback scratch
	sinkBuf []int16

	// abandoned closes of lost devices, each done when its close returns.
	abandoned []chan struct{}

	done chan struct{}
	wg   sync.WaitGroup
}

// voiceDevice is one open device and its health.
type voiceDevice struct {
	dev      *device
	id       string // opened ("" = default)
	opened   time.Time
	lastCall atomic.Int64 // unix ns of the last callback, 0 before the first
	stopped  atomic.Bool
	closing  atomic.Bool
}

// stalled reports a device whose callbacks stopped, or never started
// (a server may take a moment to start a stream, hence the longer grace).
func (d *voiceDevice) stalled() bool {
	last := d.lastCall.Load()
	if last == 0 {
		return time.Since(d.opened) > deviceOpenTimeout
	}
	return time.Since(time.Unix(0, last)) > stallTimeout
}

// NewVoiceIO makes a VoiceIO; no device opens until a Source or Sink is
// asked for.
func NewVoiceIO(opts VoiceIOOptions) *VoiceIO {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	v := &VoiceIO{
		log:      log,
		onNotice: opts.OnNotice,
		micID:    opts.Microphone,
		spkID:    opts.Speaker,
		ref:      newPCMRing(SampleRate / 2),
		chunk:    make([]int16, ProcessFrameSamples),
		refBuf:   make([]int16, ProcessFrameSamples),
		done:     make(chan struct{}),
	}
	proc, err := NewProcessor(opts.Processing)
	if err != nil {
		log.Warn("voice processing unavailable", "err", err)
	} else {
		v.proc = proc
	}
	v.wg.Add(1)
	go v.watch()
	return v
}

// SetProcessing switches voice-processing stages; it applies at once, also
// to calls in progress.
func (v *VoiceIO) SetProcessing(p Processing) error {
	if v.proc == nil {
		return ErrProcessing
	}
	return v.proc.Set(p)
}

// Processing is the stages currently on.
func (v *VoiceIO) Processing() Processing {
	if v.proc == nil {
		return Processing{}
	}
	return v.proc.Config()
}

// SetDevices chooses the microphone and speaker ("" = system default). An
// open device is swapped at once; if the new one fails to open, the
// default is used and the error returned.
func (v *VoiceIO) SetDevices(mic, spk string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	var errs []error
	if mic != v.micID {
		v.micID = mic
		if v.mic != nil {
			errs = append(errs, v.reopenLocked(Microphone))
		}
	}
	if spk != v.spkID {
		v.spkID = spk
		if v.spk != nil {
			errs = append(errs, v.reopenLocked(Speaker))
		}
	}
	return errors.Join(errs...)
}

// Devices returns the IDs of the devices open now ("" = default, or not
// open).
func (v *VoiceIO) Devices() (mic, spk string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.mic != nil {
		mic = v.mic.id
	}
	if v.spk != nil {
		spk = v.spk.id
	}
	return mic, spk
}

// MicLevel is the RMS of the last 10 ms sent (after processing), 0..1.
func (v *VoiceIO) MicLevel() float64 {
	return float64(math.Float32frombits(v.micLvl.Load()))
}

// SpeakerLevel is the RMS of the last period played, 0..1.
func (v *VoiceIO) SpeakerLevel() float64 {
	return float64(math.Float32frombits(v.spkLvl.Load()))
}

// EchoDelayMs is the echo canceller's estimate of the echo delay, or -1.
func (v *VoiceIO) EchoDelayMs() int {
	if v.proc == nil {
		return -1
	}
	return v.proc.EchoDelayMs()
}

// OpenInput returns a Source of the processed microphone. The microphone
// opens with the first one.
func (v *VoiceIO) OpenInput() (Source, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return nil, ErrClosed
	}
	if v.mic == nil {
		d, err := v.openLocked(Microphone, v.micID)
		if err != nil {
			return nil, err
		}
		v.mic = d
	}
	s := &voiceSource{v: v, ring: newPCMRing(SampleRate * deviceRingMs / 1000)}
	v.sources.Store(ptrTo(append(slices.Clone(deref(v.sources.Load())), s)))
	return s, nil
}

// OpenOutput returns a Sink mixed into the speaker. The speaker opens with
// the first one.
func (v *VoiceIO) OpenOutput() (Sink, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return nil, ErrClosed
	}
	if v.spk == nil {
		d, err := v.openLocked(Speaker, v.spkID)
		if err != nil {
			return nil, err
		}
		v.spk = d
	}
	s := &voiceSink{v: v, ring: newPCMRing(SampleRate * deviceRingMs / 1000)}
	v.sinks.Store(ptrTo(append(slices.Clone(deref(v.sinks.Load())), s)))
	return s, nil
}

// Close closes the devices and the processor; Sources and Sinks still out
// return ErrClosed. It is idempotent.
func (v *VoiceIO) Close() error {
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return nil
	}
	v.closed = true
	close(v.done)
	v.closeDeviceLocked(Microphone)
	v.closeDeviceLocked(Speaker)
	v.sources.Store(nil)
	v.sinks.Store(nil)
	abandoned := v.abandoned
	v.mu.Unlock()
	v.wg.Wait()
	for _, done := range abandoned {
		select {
		case <-done:
		case <-time.After(abandonWait):
			v.log.Warn("a lost audio device did not close; leaving it")
		}
	}
	if v.proc != nil {
		v.proc.Close()
	}
	return nil
}

// openLocked opens kind's device id, or the default if id fails (telling
// OnNotice).
func (v *VoiceIO) openLocked(kind DeviceKind, id string) (*voiceDevice, error) {
	d := &voiceDevice{id: id, opened: time.Now()}
	onData := func(out, in []byte, frames uint32) {
		d.lastCall.Store(time.Now().UnixNano())
		if kind == Microphone {
			v.onCapture(in, frames)
		} else {
			v.onPlayback(out, frames)
		}
	}
	onStop := func() {
		if !d.closing.Load() {
			d.stopped.Store(true)
		}
	}
	periods := uint32(0)
	if kind == Speaker {
		periods = speakerPeriods
	}
	dev, err := openDeviceID(kind.malgo(), id, periods, onData, onStop)
	if err != nil && id != "" {
		v.log.Warn("audio device failed, using the default", "kind", kind.String(), "id", id, "err", err)
		v.notice(DeviceNotice{Kind: kind, Lost: id, Err: err})
		d.id = ""
		dev, err = openDeviceID(kind.malgo(), "", periods, onData, onStop)
	}
	if err != nil {
		return nil, err
	}
	d.dev = dev
	v.log.Info("audio device open", "kind", kind.String(), "id", d.id)
	return d, nil
}

// reopenLocked swaps kind's device for the chosen one.
func (v *VoiceIO) reopenLocked(kind DeviceKind) error {
	id := v.micID
	if kind == Speaker {
		id = v.spkID
	}
	v.closeDeviceLocked(kind)
	d, err := v.openLocked(kind, id)
	if err != nil {
		return err
	}
	if kind == Microphone {
		v.mic = d
	} else {
		v.spk = d
	}
	return nil
}

func (v *VoiceIO) closeDeviceLocked(kind DeviceKind) {
	d := &v.mic
	if kind == Speaker {
		d = &v.spk
	}
	if *d == nil {
		return
	}
	(*d).closing.Store(true)
	// Uninit waits for a running callback; callbacks never take v.mu.
	(*d).dev.close()
	*d = nil
}

// abandonDeviceLocked closes a device that is gone without waiting for it:
// miniaudio's PulseAudio backend can block for ever uninitialising a stream
// the server killed (its sink was unloaded), and the phone must not freeze
// with it. Close waits a bounded time for such closes.
func (v *VoiceIO) abandonDeviceLocked(kind DeviceKind) {
	d := &v.mic
	if kind == Speaker {
		d = &v.spk
	}
	if *d == nil {
		return
	}
	old := *d
	*d = nil
	old.closing.Store(true)
	done := make(chan struct{})
	v.abandoned = append(v.abandoned, done)
	go func() { // owner: VoiceIO.Close, which waits for it a bounded time
		defer close(done)
		old.dev.close()
	}()
}

// SetOnNotice replaces the OnNotice handler (a front end that starts after
// the devices do).
func (v *VoiceIO) SetOnNotice(f func(DeviceNotice)) {
	v.noticeMu.Lock()
	v.onNotice = f
	v.noticeMu.Unlock()
}

func (v *VoiceIO) notice(n DeviceNotice) {
	v.noticeMu.Lock()
	on := v.onNotice
	v.noticeMu.Unlock()
	if on != nil {
		// Off the caller's lock and thread.
		v.wg.Add(1)
		go func() {
			defer v.wg.Done()
			on(n)
		}()
	}
}

// release drops a closed Source or Sink and closes a device nobody uses.
func (v *VoiceIO) release(src *voiceSource, snk *voiceSink) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if src != nil {
		l := slices.DeleteFunc(slices.Clone(deref(v.sources.Load())), func(s *voiceSource) bool { return s == src })
		v.sources.Store(ptrTo(l))
		if len(l) == 0 {
			v.closeDeviceLocked(Microphone)
		}
	}
	if snk != nil {
		l := slices.DeleteFunc(slices.Clone(deref(v.sinks.Load())), func(s *voiceSink) bool { return s == snk })
		v.sinks.Store(ptrTo(l))
		if len(l) == 0 {
			v.closeDeviceLocked(Speaker)
		}
	}
}

// watch replaces devices that vanished (unplugged, a sound server moved
// or killed the stream) with the default, so a call never goes silent.
func (v *VoiceIO) watch() {
	defer v.wg.Done()
	t := time.NewTicker(watchInterval)
	defer t.Stop()
	for {
		select {
		case <-v.done:
			return
		case <-t.C:
		}
		for _, kind := range []DeviceKind{Microphone, Speaker} {
			v.checkDevice(kind)
		}
	}
}

func (v *VoiceIO) checkDevice(kind DeviceKind) {
	v.mu.Lock()
	d := v.mic
	if kind == Speaker {
		d = v.spk
	}
	if v.closed {
		v.mu.Unlock()
		return
	}
	if d == nil {
		v.retryLocked(kind)
		v.mu.Unlock()
		return
	}
	id := d.id
	stalled := d.stalled()
	v.mu.Unlock()
	gone := false
	if id != "" {
		// A chosen device must still be listed; a server may keep a
		// stream alive on a "dummy" after its device went.
		list, err := ListDevices(kind)
		gone = err == nil && !slices.ContainsFunc(list, func(i DeviceInfo) bool { return i.ID == id })
	}
	if !gone && !stalled && !d.stopped.Load() {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	cur := v.mic
	if kind == Speaker {
		cur = v.spk
	}
	if cur != d || v.closed {
		return // changed meanwhile
	}
	v.log.Warn("audio device lost, moving to the default", "kind", kind.String(), "id", id, "stalled", stalled, "listed", !gone)
	v.abandonDeviceLocked(kind)
	nd, err := v.openLocked(kind, "")
	if err != nil {
		v.log.Error("no audio device to fall back to", "kind", kind.String(), "err", err)
		v.notice(DeviceNotice{Kind: kind, Lost: id, Err: err})
		// The watch retries while Sources or Sinks want the device: a
		// replugged device or a restarted server comes back.
		return
	}
	if kind == Microphone {
		v.mic = nd
	} else {
		v.spk = nd
	}
	v.notice(DeviceNotice{Kind: kind, Lost: id, Now: "", Err: ErrNoDevice})
}

// retryLocked opens kind's device again if it is wanted but failed.
func (v *VoiceIO) retryLocked(kind DeviceKind) {
	if kind == Microphone && len(deref(v.sources.Load())) > 0 {
		if d, err := v.openLocked(kind, v.micID); err == nil {
			v.mic = d
		}
	}
	if kind == Speaker && len(deref(v.sinks.Load())) > 0 {
		if d, err := v.openLocked(kind, v.spkID); err == nil {
			v.spk = d
		}
	}
}

// onCapture runs on the microphone's thread: it cuts the capture into
// 10 ms frames, gives the canceller what the speaker played meanwhile, then
// the frame, and copies the result to every Source.
func (v *VoiceIO) onCapture(in []byte, frames uint32) {
	n := min(int(frames), len(in)/2)
	for i := range n {
		v.acc = append(v.acc, int16(binary.LittleEndian.Uint16(in[2*i:])))
	}
	for len(v.acc) >= ProcessFrameSamples {
		copy(v.chunk, v.acc[:ProcessFrameSamples])
		v.acc = append(v.acc[:0], v.acc[ProcessFrameSamples:]...)
		if v.proc != nil {
			// One render frame per capture frame: both come from one
			// clock, so a FIFO read in step keeps the echo at a fixed
			// lag, where feeding bursts as they arrive would make the
			// canceller shift its filter (a re-convergence) each time.
			v.ref.trim(maxRefBacklog)
			if !v.ref.readFull(v.refBuf) {
				// The speaker's thread fell behind: the sound server
				// played silence meanwhile, and its late audio will
				// play that much later. A silent reference frame keeps
				// the canceller's frame count in step with that.
				clear(v.refBuf)
			}
			_ = v.proc.Render(v.refBuf)
			_ = v.proc.Capture(v.chunk, defaultEchoDelayMs)
		}
		v.micLvl.Store(math.Float32bits(float32(RMS(v.chunk))))
		for _, s := range deref(v.sources.Load()) {
			s.ring.write(v.chunk)
		}
	}
}

// onPlayback runs on the speaker's thread: it mixes every Sink into the
// output and keeps what it played as the canceller's reference.
func (v *VoiceIO) onPlayback(out []byte, frames uint32) {
	n := min(int(frames), len(out)/2)
	if cap(v.mixBuf) < n {
		v.mixBuf = make([]int16, n)
		v.sinkBuf = make([]int16, n)
	}
	mix, tmp := v.mixBuf[:n], v.sinkBuf[:n]
	clear(mix)
	for _, s := range deref(v.sinks.Load()) {
		got := s.ring.read(tmp)
		for i, x := range tmp[:got] {
			mix[i] = clamp16(float64(mix[i]) + float64(x))
		}
	}
	for i, x := range mix {
		binary.LittleEndian.PutUint16(out[2*i:], uint16(x))
	}
	v.ref.write(mix)
	v.spkLvl.Store(math.Float32bits(float32(RMS(mix))))
}

// voiceSource is one call's view of the processed microphone.
type voiceSource struct {
	v      *VoiceIO
	ring   *pcmRing
	closed atomic.Bool
}

// ReadFrame returns the next processed frame, or silence on underrun.
func (s *voiceSource) ReadFrame(frame []int16) error {
	if s.closed.Load() {
		return ErrClosed
	}
	s.ring.trim(len(frame) + maxInputBacklog)
	if !s.ring.readFull(frame) {
		clear(frame)
	}
	return nil
}

// Close detaches the source; the microphone closes with the last one.
func (s *voiceSource) Close() error {
	if s.closed.CompareAndSwap(false, true) {
		s.v.release(s, nil)
	}
	return nil
}

// voiceSink is one call's input to the speaker mix.
type voiceSink struct {
	v      *VoiceIO
	ring   *pcmRing
	closed atomic.Bool
}

// WriteFrame queues frame for the mix.
func (s *voiceSink) WriteFrame(frame []int16) error {
	if s.closed.Load() {
		return ErrClosed
	}
	s.ring.write(frame)
	return nil
}

// Close detaches the sink; the speaker closes with the last one.
func (s *voiceSink) Close() error {
	if s.closed.CompareAndSwap(false, true) {
		s.v.release(nil, s)
	}
	return nil
}

func deref[T any](p *[]T) []T {
	if p == nil {
		return nil
	}
	return *p
}

func ptrTo[T any](s []T) *[]T { return &s }
