package capture

import (
	"errors"
	"fmt"
)

var (
	// ErrNoDisplay means no display server could be reached (no $DISPLAY,
	// server gone, connection lost).
	ErrNoDisplay = errors.New("capture: no display")
	// ErrMonitorGone means the monitor being captured was unplugged, switched
	// off or changed position or size; the share must be restarted with a new
	// Monitor from Monitors().
	ErrMonitorGone = errors.New("capture: monitor gone or changed")
	// ErrWindowGone means the shared window was closed (destroyed). It
	// wraps ErrMonitorGone: a closed window ends a share as an unplugged
	// monitor does.
	ErrWindowGone = fmt.Errorf("capture: window closed: %w", ErrMonitorGone)
	// ErrNoDamage means the display cannot report which areas changed (no
	// DAMAGE/XFIXES extension); the Source falls back to polling.
	ErrNoDamage = errors.New("capture: display reports no damage")
	// ErrClosed is returned by methods called after Close.
	ErrClosed = errors.New("capture: closed")
	// ErrUnsupportedFormat means the display's pixel format is not 32-bit BGRX.
	ErrUnsupportedFormat = errors.New("capture: unsupported pixel format")
	// ErrFrameSize means a frame does not match the size the codec was set up for.
	ErrFrameSize = errors.New("capture: frame size mismatch")
	// ErrCodec wraps an error reported by a codec library (libvpx, x264,
	// libavcodec).
	ErrCodec = errors.New("capture: codec error")
	// ErrFrameTooLarge means a decoder refused a picture larger than
	// MaxFramePixels/MaxFrameSide, before allocating anything for it.
	ErrFrameTooLarge = errors.New("capture: picture too large")
)
