package webrtcmedia

import (
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
)

// TestRTCPReadErrors: a closed stream ends the read loop at once; a packet
// that fails (a report the interceptors reject) does not, unless nothing
// but failures come, and a good read starts the count again.
func TestRTCPReadErrors(t *testing.T) {
	bad := errors.New("gcc: invalid feedback")
	tests := []struct {
		name  string
		errs  []error // before the one judged
		reset bool    // a good read before the one judged
		err   error
		want  bool
	}{
		{"EOF", nil, false, io.EOF, true},
		{"sender stopped", nil, false, io.ErrClosedPipe, true},
		{"socket closed, wrapped", nil, false, fmt.Errorf("read: %w", net.ErrClosed), true},
		{"one bad packet", nil, false, bad, false},
		{"nothing but bad packets", repeat(bad, maxRTCPReadErrors-1), false, bad, true},
		{"bad packets with a good read between", repeat(bad, maxRTCPReadErrors-1), true, bad, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var e rtcpReadErrors
			for _, err := range tc.errs {
				if e.end(err) {
					t.Fatalf("ended early on %v", err)
				}
			}
			if tc.reset {
				e.reset()
			}
			if got := e.end(tc.err); got != tc.want {
				t.Errorf("end(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func repeat(err error, n int) []error {
	out := make([]error, n)
	for i := range out {
		out[i] = err
	}
	return out
}
