package webrtcmedia

import (
	"errors"
	"io"
	"net"
)

// maxRTCPReadErrors ends an RTCP reader that gets nothing but errors, in
// case a closed stream ever reports itself with an error we do not know.
const maxRTCPReadErrors = 1000

// rtcpReadErrors tells an RTCP read loop when an error ends it. pion runs
// its interceptors (the NACK responder, the congestion controller, the
// reports) inside our reads, and a compound packet that does not parse
// fails the read: the peer's one malformed report must not stop the
// repairs and keyframe requests of the rest of the call. Only a closed
// stream ends the loop.
type rtcpReadErrors struct{ n int }

// end reports whether err ends the read loop.
func (e *rtcpReadErrors) end(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) || errors.Is(err, net.ErrClosed) {
		return true
	}
	e.n++
	return e.n >= maxRTCPReadErrors
}

// reset counts from zero again after a good read.
func (e *rtcpReadErrors) reset() { e.n = 0 }
