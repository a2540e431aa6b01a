package ui

import (
	"log/slog"
	"sync"
	"time"

	"github.com/parlo-voip/parlo/assets"
	"github.com/parlo-voip/parlo/callengine"
	"github.com/parlo-voip/parlo/callengine/audio"
)

// soundKind is what the sound player plays.
type soundKind int

const (
	soundNone soundKind = iota
	soundRingtone
	soundRingback
	soundHangup
)

func (k soundKind) String() string {
	return [...]string{"none", assets.SoundRingtone, assets.SoundRingback, assets.SoundHangup}[k]
}

// soundSpec: whether a sound repeats and the pause between repeats.
var soundSpec = map[soundKind]struct {
	loop bool
	gap  time.Duration
}{
	soundRingtone: {true, 1200 * time.Millisecond},
	soundRingback: {true, 3 * time.Second}, // 1 s on, 3 s off
	soundHangup:   {false, 0},
}

// soundPlayer plays one sound at a time through an output opened for it
// (the user's chosen device), paced at real time in 20 ms frames. Without a
// sound device the open fails; the player logs that once and stays silent,
// and the phone works on.
type soundPlayer struct {
	open func() (audio.Sink, error)
	log  *slog.Logger

	mu      sync.Mutex
	current soundKind
	stopCh  chan struct{}
	done    chan struct{}
	closed  bool
	wg      sync.WaitGroup // the play goroutines, stopped ones included

	// statMu guards the counters, apart from mu so that set never waits
	// on a play goroutine.
	statMu sync.Mutex
	warned bool
	// played counts frames written per sound (tests).
	played map[soundKind]int
	// openErrs counts failed device opens (tests).
	openErrs int
}

func newSoundPlayer(open func() (audio.Sink, error), log *slog.Logger) *soundPlayer {
	if open == nil {
		open = audio.OpenDefaultOutput
	}
	return &soundPlayer{open: open, log: log, played: map[soundKind]int{}}
}

// set makes k the sound playing: a looping sound keeps playing across
// calls of set with the same k; a different k replaces it; soundNone stops.
// A one-shot sound (hangup) is not cut by a later set(soundNone).
func (p *soundPlayer) set(k soundKind) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || k == p.current && p.running() {
		return
	}
	if k == soundNone && p.current == soundHangup {
		return
	}
	p.stopLocked()
	p.current = k
	if k == soundNone {
		return
	}
	pcm, err := assets.SoundPCM(k.String())
	if err != nil {
		p.log.Error("sound asset", "sound", k, "error", err)
		return
	}
	p.stopCh, p.done = make(chan struct{}), make(chan struct{})
	p.wg.Add(1)
	go p.play(k, pcm, p.stopCh, p.done) // owner: soundPlayer; ends by stopCh or after a one-shot
}

// running reports whether a sound goroutine is alive. Caller holds mu.
func (p *soundPlayer) running() bool {
	if p.done == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// stopLocked tells the running sound to stop without waiting for it: it
// may be inside a slow device open, and set runs on the UI goroutine.
func (p *soundPlayer) stopLocked() {
	if p.stopCh != nil {
		close(p.stopCh)
		p.stopCh, p.done = nil, nil
	}
}

// playing is the sound set last and still running (tests).
func (p *soundPlayer) playing() soundKind {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.running() {
		return soundNone
	}
	return p.current
}

func (p *soundPlayer) play(k soundKind, pcm []int16, stop, done chan struct{}) {
	defer p.wg.Done()
	defer close(done)
	sink, err := p.open()
	if err != nil {
		p.statMu.Lock()
		p.openErrs++
		warn := !p.warned
		p.warned = true
		p.statMu.Unlock()
		if warn {
			p.log.Warn("no sound output: ringtone and call tones stay silent", "error", err)
		}
		return
	}
	defer sink.Close()
	spec := soundSpec[k]
	tick := time.NewTicker(audio.FrameDurationMs * time.Millisecond)
	defer tick.Stop()
	frame := make([]int16, audio.FrameSamples)
	gapFrames := int(spec.gap / (audio.FrameDurationMs * time.Millisecond))
	for {
		for off := 0; off < len(pcm); off += audio.FrameSamples {
			clear(frame)
			copy(frame, pcm[off:min(off+audio.FrameSamples, len(pcm))])
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if err := sink.WriteFrame(frame); err != nil {
				p.log.Warn("sound output failed", "sound", k, "error", err)
				return
			}
			p.statMu.Lock()
			p.played[k]++
			p.statMu.Unlock()
		}
		if !spec.loop {
			return
		}
		for i := 0; i < gapFrames; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}
}

func (p *soundPlayer) framesPlayed(k soundKind) int {
	p.statMu.Lock()
	defer p.statMu.Unlock()
	return p.played[k]
}

func (p *soundPlayer) deviceErrors() int {
	p.statMu.Lock()
	defer p.statMu.Unlock()
	return p.openErrs
}

// close stops the sound and waits for its goroutine. Idempotent.
func (p *soundPlayer) close() {
	p.mu.Lock()
	p.stopLocked()
	p.closed = true
	p.mu.Unlock()
	p.wg.Wait()
}

// wantedSound is what should sound given the calls: the ringtone while an
// incoming call rings that was not ignored and do-not-disturb is off, else
// ringback while a call we placed rings at the far end without early media
// (with early media the far end sends its own tones, RFC 3960 §2).
func wantedSound(calls []*callEntry, dnd bool) soundKind {
	ringback := false
	for _, e := range calls {
		switch stateOf(e.s) {
		case stateRinging:
			if !dnd && !e.ignored {
				return soundRingtone
			}
		case stateCalling:
			if e.s.Ringing && !e.earlyMedia {
				ringback = true
			}
		}
	}
	if ringback {
		return soundRingback
	}
	return soundNone
}

// soundEvent updates the sounds after an engine event (UI goroutine).
func (w *mainWindow) soundEvent(ev callengine.Event, e *callEntry) {
	if w.sounds == nil {
		return
	}
	if ev.Name == callengine.EventCallEnded && e != nil && e.s.AnswerTime != nil {
		w.sounds.set(soundHangup)
		return
	}
	w.sounds.set(wantedSound(w.calls, w.dnd))
}
