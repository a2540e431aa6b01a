package audio

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"time"

	"github.com/gen2brain/malgo"
)

// deviceOpenTimeout bounds how long opening a device may take. Sound servers
// that are half up (a PulseAudio socket nobody answers) can stall
// miniaudio's initialisation; a softphone must fail instead of freezing.
const deviceOpenTimeout = 5 * time.Second

// deviceBackends lists the real audio APIs to try, per OS. It is never empty
// and never contains miniaudio's Null backend: with the default list,
// miniaudio falls back to Null, which "opens" a fake device on machines
// without a sound card, and the user would talk into nothing with no error.
func deviceBackends() []malgo.Backend {
	switch runtime.GOOS {
	case "linux":
		return []malgo.Backend{malgo.BackendPulseaudio, malgo.BackendAlsa, malgo.BackendJack}
	case "darwin", "ios":
		return []malgo.Backend{malgo.BackendCoreaudio}
	case "windows":
		return []malgo.Backend{malgo.BackendWasapi, malgo.BackendDsound, malgo.BackendWinmm}
	case "android":
		return []malgo.Backend{malgo.BackendAaudio, malgo.BackendOpensl}
	default: // the BSDs
		return []malgo.Backend{malgo.BackendSndio, malgo.BackendAudio4, malgo.BackendOss}
	}
}

// device is an open miniaudio context and device.
type device struct {
	ctx *malgo.AllocatedContext
	dev *malgo.Device
}

// openDevice opens and starts the default device of kind (malgo.Capture or
// malgo.Playback) as mono S16 at SampleRate (miniaudio converts from what the
// hardware has), with onData as its callback. Every failure wraps
// ErrNoDevice.
func openDevice(kind malgo.DeviceType, onData malgo.DataProc) (*device, error) {
	return openDeviceID(kind, "", 0, onData, nil)
}

// openDeviceID opens the device with id ("" for the default) with a buffer
// of periods 10 ms periods (0: miniaudio's default, 3); onStop, if set,
// runs when the backend stops the device by itself (it was unplugged).
func openDeviceID(kind malgo.DeviceType, id string, periods uint32, onData malgo.DataProc, onStop malgo.StopProc) (*device, error) {
	return openWithTimeout(deviceOpenTimeout, kindName(kind),
		func() (*device, error) { return openDeviceNow(kind, id, periods, onData, onStop) },
		func(d *device) { d.close() })
}

// openWithTimeout runs open, giving up after timeout with an error wrapping
// ErrNoDevice. The goroutine running open owns what it opens until it hands
// it over; if the caller gave up meanwhile, it releases it with release and
// exits, so nothing leaks however long open takes.
func openWithTimeout[T any](timeout time.Duration, what string, open func() (T, error), release func(T)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result)
	abandon := make(chan struct{})
	go func() {
		v, err := open()
		select {
		case done <- result{v, err}:
		case <-abandon:
			if err == nil {
				release(v)
			}
		}
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.v, r.err
	case <-timer.C:
		close(abandon)
		var zero T
		return zero, fmt.Errorf("%w: opening the default %s timed out after %v", ErrNoDevice, what, timeout)
	}
}

func openDeviceNow(kind malgo.DeviceType, id string, periods uint32, onData malgo.DataProc, onStop malgo.StopProc) (*device, error) {
	logProc := func(msg string) {
		// miniaudio logs every symbol it loads; keep the lines that explain
		// a failure.
		if !strings.HasPrefix(msg, "Loading symbol") {
			slog.Debug("miniaudio", "msg", strings.TrimSpace(msg))
		}
	}
	ctx, err := malgo.InitContext(deviceBackends(), malgo.ContextConfig{}, logProc)
	if err != nil {
		return nil, fmt.Errorf("%w: no audio backend: %w", ErrNoDevice, err)
	}
	cfg := malgo.DefaultDeviceConfig(kind)
	cfg.SampleRate = SampleRate
	cfg.PeriodSizeInMilliseconds = 10
	cfg.Periods = periods
	sub := malgo.SubConfig{Format: malgo.FormatS16, Channels: 1}
	if id != "" {
		d, err := parseDeviceID(id)
		if err != nil {
			return nil, err
		}
		// C memory, as cgo forbids Go pointers inside the config passed
		// to C; miniaudio reads the ID during init only.
		sub.DeviceID = d.Pointer()
		defer cFree(sub.DeviceID)
	}
	if kind == malgo.Capture {
		cfg.Capture = sub
	} else {
		cfg.Playback = sub
	}
	dev, err := malgo.InitDevice(ctx.Context, cfg, malgo.DeviceCallbacks{Data: onData, Stop: onStop})
	if err != nil {
		freeContext(ctx)
		return nil, fmt.Errorf("%w: default %s: %w", ErrNoDevice, kindName(kind), err)
	}
	if err := dev.Start(); err != nil {
		dev.Uninit()
		freeContext(ctx)
		return nil, fmt.Errorf("%w: starting default %s: %w", ErrNoDevice, kindName(kind), err)
	}
	slog.Debug("audio device open", "kind", kindName(kind))
	return &device{ctx: ctx, dev: dev}, nil
}

// close stops the device (waiting for a running callback to return) and
// frees the context.
func (d *device) close() {
	d.dev.Uninit()
	freeContext(d.ctx)
}

func freeContext(ctx *malgo.AllocatedContext) {
	if err := ctx.Uninit(); err != nil && !errors.Is(err, malgo.ErrInvalidArgs) {
		slog.Debug("audio context uninit", "err", err)
	}
	ctx.Free()
}

func kindName(kind malgo.DeviceType) string {
	if kind == malgo.Capture {
		return "microphone"
	}
	return "speaker"
}
