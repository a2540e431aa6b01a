package audio

/*
#cgo pkg-config: webrtc-audio-processing
#cgo CXXFLAGS: -std=c++11
#cgo LDFLAGS: -lstdc++
#include <stdlib.h>
#include "apm_shim.h"
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"
)

// ProcessFrameSamples is the frame the processor works on: 10 ms, the unit
// of webrtc's AudioProcessing.
const ProcessFrameSamples = SampleRate / 100

// Processing says which voice-processing stages run on the microphone.
// The zero value turns everything off; DefaultProcessing is what a new user
// gets.
type Processing struct {
	// EchoCancel removes what the speaker plays from the microphone.
	EchoCancel bool
	// NoiseSuppress removes steady background noise (fans, hum, hiss).
	NoiseSuppress bool
	// AutoGain levels the voice towards a constant loudness.
	AutoGain bool
}

// DefaultProcessing has every stage on: a laptop's speakers and microphone
// are the common case, and without echo cancellation the far end hears
// itself.
func DefaultProcessing() Processing {
	return Processing{EchoCancel: true, NoiseSuppress: true, AutoGain: true}
}

// Processor is one webrtc AudioProcessing instance (the echo canceller,
// noise suppressor and gain control of WebRTC, as packaged by
// freedesktop.org's webrtc-audio-processing and used by PulseAudio's
// module-echo-cancel). It is fed two streams in 10 ms frames: Render with
// what the speaker plays, Capture with what the microphone hears, which it
// cleans in place. Its methods are safe for concurrent use.
type Processor struct {
	mu  sync.Mutex
	apm *C.parlo_apm
	cfg Processing
}

// NewProcessor makes a processor at SampleRate with cfg's stages on.
func NewProcessor(cfg Processing) (*Processor, error) {
	apm := C.parlo_apm_new(C.int(SampleRate))
	if apm == nil {
		return nil, fmt.Errorf("%w: webrtc audio processing did not initialise", ErrProcessing)
	}
	p := &Processor{apm: apm}
	if err := p.Set(cfg); err != nil {
		C.parlo_apm_free(apm)
		return nil, err
	}
	return p, nil
}

// Set switches stages on or off; it takes effect with the next frame.
func (p *Processor) Set(cfg Processing) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.apm == nil {
		return ErrClosed
	}
	if rc := C.parlo_apm_set(p.apm, cbool(cfg.EchoCancel), cbool(cfg.NoiseSuppress), cbool(cfg.AutoGain)); rc != 0 {
		return fmt.Errorf("%w: enabling stages: error %d", ErrProcessing, int(rc))
	}
	p.cfg = cfg
	return nil
}

// Config is the stages currently on.
func (p *Processor) Config() Processing {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cfg
}

// Render analyses one 10 ms frame (ProcessFrameSamples) of what the speaker
// plays: the echo canceller's reference.
func (p *Processor) Render(frame []int16) error {
	if len(frame) != ProcessFrameSamples {
		return ErrFrameSize
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.apm == nil {
		return ErrClosed
	}
	if rc := C.parlo_apm_render(p.apm, (*C.short)(unsafe.Pointer(&frame[0]))); rc != 0 {
		return fmt.Errorf("%w: render: error %d", ErrProcessing, int(rc))
	}
	return nil
}

// Capture cleans one 10 ms microphone frame in place. delayMs estimates how
// long after Render saw a sample its echo reaches Capture; the canceller
// refines it itself (delay-agnostic mode), so a rough figure is enough.
func (p *Processor) Capture(frame []int16, delayMs int) error {
	if len(frame) != ProcessFrameSamples {
		return ErrFrameSize
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.apm == nil {
		return ErrClosed
	}
	// 0.3 rejects delays outside [0, 500] with a warning but still
	// processes; clamp so the warning never hides a real error.
	delayMs = max(0, min(delayMs, 500))
	if rc := C.parlo_apm_capture(p.apm, (*C.short)(unsafe.Pointer(&frame[0])), C.int(delayMs)); rc != 0 {
		return fmt.Errorf("%w: capture: error %d", ErrProcessing, int(rc))
	}
	return nil
}

// EchoDelayMs is the echo canceller's own estimate of the echo delay
// (median over the frames since the last call), or -1 when it has none.
func (p *Processor) EchoDelayMs() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.apm == nil {
		return -1
	}
	return int(C.parlo_apm_delay(p.apm))
}

// Close frees the processor. It is idempotent.
func (p *Processor) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.apm != nil {
		C.parlo_apm_free(p.apm)
		p.apm = nil
	}
	return nil
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// cFree releases C memory allocated for a call into C (C.CBytes).
func cFree(p unsafe.Pointer) { C.free(p) }
