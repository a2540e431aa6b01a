package capture

/*
#cgo pkg-config: libpipewire-0.3
#include <stdlib.h>
#include <spa/param/video/raw.h>
#include "pipewire_linux.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"runtime/cgo"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// PipeWire frames come through libpipewire-0.3, the client library of the
// daemon itself (OBS, Chromium and Firefox read portal screencasts the same
// way): no Go implementation of the PipeWire protocol is maintained, and
// the stream negotiation (SPA pods, memfd buffers, format fixation) is
// what the library is for. The C half (pipewire_linux.c) copies each new
// picture, as BGRX, into one buffer under a mutex; the Go half is the
// Source's grabber and damage tracker.

// ErrPipeWire means the PipeWire stream could not be set up or failed.
var ErrPipeWire = errors.New("capture: pipewire")

// pipeWireGrabber reads one portal stream. It is the grabber and the
// damage tracker of a Source sharing a portal Monitor: each new picture
// the compositor sends counts as damage of the whole picture, and the
// Source's row comparison finds what really changed.
type pipeWireGrabber struct {
	pw      *C.parlo_pw
	handle  cgo.Handle
	portal  *PortalSession
	mon     Monitor
	notify  chan struct{}
	closed  atomic.Bool
	closeMu sync.Mutex

	mu      sync.Mutex // guards what follows (Grab, Damaged)
	buf     []byte
	w, h    int
	seq     uint64 // of the picture in buf
	damaged uint64 // seq last reported by Damaged
	// seeded means buf holds the previous Source's last picture until
	// the stream sends one (see openPipeWireGrabber).
	seeded bool
}

//export parloPipeWireFrame
func parloPipeWireFrame(h C.uintptr_t) {
	g, ok := cgo.Handle(h).Value().(*pipeWireGrabber)
	if !ok {
		return
	}
	select {
	case g.notify <- struct{}{}:
	default:
	}
}

// openPipeWireGrabber takes (or opens again) the portal session of m and
// connects to its PipeWire stream. The grabber owns the session: closing
// it ends the session.
func openPipeWireGrabber(ctx context.Context, m Monitor) (*pipeWireGrabber, error) {
	if m.portal == nil {
		return nil, fmt.Errorf("%w: monitor %q is not a portal target", ErrPipeWire, m.Name)
	}
	p, err := m.portal.session(ctx)
	if err != nil {
		return nil, err
	}
	if st := p.Streams()[0]; st.Width != m.Width || st.Height != m.Height {
		// Asked again (restore token), the portal granted a stream of
		// another size: the share was set up for the old one.
		p.Close()
		return nil, fmt.Errorf("%w: the portal now grants %dx%d", ErrMonitorGone, st.Width, st.Height)
	}
	remote, err := p.OpenPipeWireRemote(ctx)
	if err != nil {
		p.Close()
		return nil, err
	}
	g := &pipeWireGrabber{portal: p, mon: m, notify: make(chan struct{}, 1)}
	g.handle = cgo.NewHandle(g)
	// libpipewire takes the descriptor over; the os.File must not close it.
	fd, err := dupFD(remote)
	_ = remote.Close()
	if err != nil {
		g.handle.Delete()
		p.Close()
		return nil, fmt.Errorf("%w: %w", ErrPipeWire, err)
	}
	// A share restarted from the same Monitor (resume after hold) starts
	// from the last picture the previous Source had: xdpw sends a new
	// session nothing until the screen is repainted, and the share's
	// first frame cannot wait for that on a still screen. The next
	// repaint replaces it.
	if pix := m.portal.takeLast(m.Width, m.Height); pix != nil {
		g.buf, g.w, g.h, g.seeded = pix, m.Width, m.Height, true
	}
	var errBuf [256]C.char
	g.pw = C.parlo_pw_open(C.int(fd), C.uint32_t(p.Streams()[0].NodeID), C.uintptr_t(g.handle), &errBuf[0], C.size_t(len(errBuf)))
	if g.pw == nil {
		g.handle.Delete()
		p.Close()
		return nil, fmt.Errorf("%w: %s", ErrPipeWire, C.GoString(&errBuf[0]))
	}
	return g, nil
}

// portalOpenTimeout bounds opening the portal target again (restore
// token, no dialog) and the D-Bus call that hands out the PipeWire
// connection.
const portalOpenTimeout = 30 * time.Second

// openPortalGrabber is openPipeWireGrabber for NewSource, which has no
// context.
func openPortalGrabber(m Monitor) (grabber, error) {
	ctx, cancel := context.WithTimeout(context.Background(), portalOpenTimeout)
	defer cancel()
	return openPipeWireGrabber(ctx, m)
}

// spaVideoFormat is an enum spa_video_format value.
type spaVideoFormat uint32

// The 32-bit RGB layouts the stream accepts (pipewire_linux.c offers them
// in this order of preference).
const (
	spaBGRx spaVideoFormat = C.SPA_VIDEO_FORMAT_BGRx
	spaBGRA spaVideoFormat = C.SPA_VIDEO_FORMAT_BGRA
	spaRGBx spaVideoFormat = C.SPA_VIDEO_FORMAT_RGBx
	spaRGBA spaVideoFormat = C.SPA_VIDEO_FORMAT_RGBA
	spaXRGB spaVideoFormat = C.SPA_VIDEO_FORMAT_xRGB
	spaARGB spaVideoFormat = C.SPA_VIDEO_FORMAT_ARGB
	spaXBGR spaVideoFormat = C.SPA_VIDEO_FORMAT_xBGR
	spaABGR spaVideoFormat = C.SPA_VIDEO_FORMAT_ABGR
)

// convertRows is the stream's row conversion (parlo_pw_copy_rows), for
// tests: src holds h rows of w pixels, stride bytes apart; dst gets w*h*4
// bytes of BGRX.
func convertRows(dst, src []byte, w, h, stride int, f spaVideoFormat) {
	if w <= 0 || h <= 0 || len(dst) < w*h*4 || len(src) < (h-1)*stride+w*4 {
		return
	}
	C.parlo_pw_copy_rows((*C.uint8_t)(unsafe.Pointer(&dst[0])), (*C.uint8_t)(unsafe.Pointer(&src[0])),
		C.int(w), C.int(h), C.int(stride), C.uint32_t(f))
}

// dupFD returns a descriptor of f's file that the caller owns.
func dupFD(f *os.File) (int, error) {
	sc, err := f.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var dupErr error
	if err := sc.Control(func(raw uintptr) {
		syscall.ForkLock.RLock()
		defer syscall.ForkLock.RUnlock()
		if fd, dupErr = syscall.Dup(int(raw)); dupErr == nil {
			syscall.CloseOnExec(fd)
		}
	}); err != nil {
		return -1, err
	}
	return fd, dupErr
}

// state is the stream's state and negotiated size.
func (g *pipeWireGrabber) state() (state, w, h int) {
	var cw, ch C.int
	s := C.parlo_pw_state(g.pw, &cw, &ch)
	return int(s), int(cw), int(ch)
}

// fetch copies the newest picture into buf, if there is one newer.
func (g *pipeWireGrabber) fetch() error {
	if g.closed.Load() {
		return ErrClosed
	}
	if st, _, _ := g.state(); st == C.PARLO_PW_GONE {
		return fmt.Errorf("%w: the screencast stream ended", ErrMonitorGone)
	}
	for {
		seq := C.uint64_t(g.seq)
		var cw, ch C.int
		var r C.int
		if len(g.buf) > 0 {
			r = C.parlo_pw_copy(g.pw, (*C.uint8_t)(unsafe.Pointer(&g.buf[0])), C.size_t(len(g.buf)), &seq, &cw, &ch)
		} else {
			r = C.parlo_pw_copy(g.pw, nil, 0, &seq, &cw, &ch)
		}
		switch {
		case r == -1:
			g.buf = make([]byte, int(cw)*int(ch)*4)
		case r == 1:
			g.seq, g.w, g.h = uint64(seq), int(cw), int(ch)
			return nil
		case g.seq == 0 && !g.seeded:
			return errNoPictureYet
		default:
			return nil // nothing newer: the last picture stands
		}
	}
}

// Grab returns the newest picture's pixels in r (picture coordinates).
func (g *pipeWireGrabber) Grab(r image.Rectangle) (BGRAFrame, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.fetch(); err != nil {
		return BGRAFrame{}, err
	}
	r = r.Intersect(image.Rect(0, 0, g.w, g.h))
	if r.Empty() {
		return BGRAFrame{}, fmt.Errorf("%w: %v outside the %dx%d stream", ErrMonitorGone, r, g.w, g.h)
	}
	stride := g.w * 4
	off := r.Min.Y*stride + r.Min.X*4
	return BGRAFrame{Pix: g.buf[off:], Stride: stride, Width: r.Dx(), Height: r.Dy()}, nil
}

// Monitors lists the shared stream as the one monitor, at its current
// size: a compositor that resizes the stream (output mode change, shared
// window resized) changes it, and the Source ends the share as for an
// X11 monitor that changed.
func (g *pipeWireGrabber) Monitors() ([]Monitor, error) {
	if g.closed.Load() {
		return nil, ErrClosed
	}
	st, w, h := g.state()
	if st == C.PARLO_PW_GONE {
		return nil, fmt.Errorf("%w: the screencast stream ended", ErrMonitorGone)
	}
	m := g.mon
	if w > 0 && h > 0 {
		m.Width, m.Height = w, h
	}
	return []Monitor{m}, nil
}

// EnableDamage is always possible: the compositor sends a picture only
// when the screen changed (and at most max_fps a second).
func (g *pipeWireGrabber) EnableDamage() error { return nil }

// Damaged reports the whole picture when a new one arrived since the last
// call.
func (g *pipeWireGrabber) Damaged() ([]image.Rectangle, error) {
	if st, _, _ := g.state(); st == C.PARLO_PW_GONE {
		return nil, fmt.Errorf("%w: the screencast stream ended", ErrMonitorGone)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	seq := C.uint64_t(g.seq)
	var cw, ch C.int
	// Peek only: a copy into nil fails with -1 when something is newer.
	if C.parlo_pw_copy(g.pw, nil, 0, &seq, &cw, &ch) == 0 && g.damaged == g.seq {
		return nil, nil
	}
	g.damaged = g.seq
	return []image.Rectangle{g.mon.Rect().Sub(g.mon.Rect().Min)}, nil
}

// DamageNotify is signalled on each new picture and when the stream ends.
func (g *pipeWireGrabber) DamageNotify() <-chan struct{} { return g.notify }

// Close stops the stream and ends the portal session; idempotent.
func (g *pipeWireGrabber) Close() error {
	g.closeMu.Lock()
	defer g.closeMu.Unlock()
	if !g.closed.CompareAndSwap(false, true) {
		return nil
	}
	C.parlo_pw_close(g.pw)
	g.handle.Delete()
	g.mu.Lock()
	if (g.seq > 0 || g.seeded) && len(g.buf) >= g.w*g.h*4 {
		g.mon.portal.keep(g.buf[:g.w*g.h*4], g.w, g.h)
	}
	g.buf = nil
	g.mu.Unlock()
	return g.portal.Close()
}
