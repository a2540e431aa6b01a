package testpeers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// RTPEngineOptions configures StartRTPEngine. The zero value is a userspace
// media relay on 127.0.0.1 with an ng control port chosen freely.
type RTPEngineOptions struct {
	// IP is the address rtpengine relays media on and writes into the SDP it
	// rewrites; 127.0.0.1 when empty.
	IP string
	// NGPort is the ng control port (UDP, on 127.0.0.1); a free one when zero.
	NGPort int
	// PortMin and PortMax bound the relayed media ports; 40000..40999 when zero.
	PortMin, PortMax int
	// ReadyTimeout bounds the wait for the first ng ping reply; 10 s when zero.
	ReadyTimeout time.Duration
}

// RTPEngine is a running Sipwise rtpengine (the rtpengine-daemon package),
// userspace only: --table=-1 keeps it away from the kernel forwarding
// module, which needs DKMS and kernel headers CI does not have.
type RTPEngine struct {
	opts RTPEngineOptions
	proc *process
}

// StartRTPEngine starts rtpengine in the foreground and waits until it
// answers an ng "ping". It is stopped by tb.Cleanup.
func StartRTPEngine(tb testing.TB, opts RTPEngineOptions) *RTPEngine {
	tb.Helper()
	Require(tb, "rtpengine")
	if opts.IP == "" {
		opts.IP = "127.0.0.1"
	}
	if opts.NGPort == 0 {
		opts.NGPort = FreeUDPPort(tb)
	}
	if opts.PortMin == 0 {
		opts.PortMin, opts.PortMax = 40000, 40999
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 10 * time.Second
	}
	dir := tb.TempDir()
	args := []string{
		"--foreground", "--log-stderr",
		"--config-file=none",
		"--table=-1", // userspace forwarding only
		"--interface=" + opts.IP,
		"--listen-ng=127.0.0.1:" + strconv.Itoa(opts.NGPort),
		"--port-min=" + strconv.Itoa(opts.PortMin),
		"--port-max=" + strconv.Itoa(opts.PortMax),
		"--pidfile=" + filepath.Join(dir, "rtpengine.pid"),
		"--log-level=6",
		// A deleted call stays queryable for a moment: tests look at its
		// packet counters after the BYE.
		"--delete-delay=5",
	}
	proc, err := startProcess("rtpengine", args, dir, os.Environ())
	if err != nil {
		tb.Fatalf("testpeers: %v", err)
	}
	r := &RTPEngine{opts: opts, proc: proc}
	tb.Cleanup(r.Close)
	ctx, cancel := context.WithTimeout(context.Background(), opts.ReadyTimeout)
	defer cancel()
	for {
		if proc.exited() {
			tb.Fatalf("testpeers: rtpengine: %v: %v\n%s", ErrProcessExited, proc.err, r.Log())
		}
		pctx, pcancel := context.WithTimeout(ctx, 200*time.Millisecond)
		resp, err := r.NG(pctx, "d7:command4:pinge")
		pcancel()
		if err == nil && strings.Contains(resp, "pong") {
			return r
		}
		if ctx.Err() != nil {
			tb.Fatalf("testpeers: rtpengine ng on %s: %v: %v\n%s", r.NGAddr(), ErrNotReady, err, r.Log())
		}
	}
}

// NGAddr is "127.0.0.1:port" of the ng control socket.
func (r *RTPEngine) NGAddr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.opts.NGPort))
}

// IP is the media address rtpengine writes into the SDP.
func (r *RTPEngine) IP() string { return r.opts.IP }

// PortRange is the range of media ports rtpengine allocates from.
func (r *RTPEngine) PortRange() (lo, hi int) { return r.opts.PortMin, r.opts.PortMax }

// NG sends one bencoded ng request and returns the bencoded reply without
// its cookie.
func (r *RTPEngine) NG(ctx context.Context, bencoded string) (string, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp4", r.NGAddr())
	if err != nil {
		return "", err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	cookie := hex.EncodeToString(b[:])
	if _, err := c.Write([]byte(cookie + " " + bencoded)); err != nil {
		return "", err
	}
	buf := make([]byte, 65535)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return "", err
		}
		if resp, ok := strings.CutPrefix(string(buf[:n]), cookie+" "); ok {
			return resp, nil
		}
	}
}

// ErrNG is an ng reply that is not "ok" or not bencode.
var ErrNG = errors.New("testpeers: rtpengine ng")

// RTPLegs asks rtpengine (ng "query") how many RTP packets it received from
// each leg (SIP tag) of a call. An unknown call is an ErrNG.
func (r *RTPEngine) RTPLegs(ctx context.Context, callID string) (map[string]int64, error) {
	resp, err := r.NG(ctx, fmt.Sprintf("d7:call-id%d:%s7:command5:querye", len(callID), callID))
	if err != nil {
		return nil, err
	}
	v, rest, err := bdecode(resp)
	if err != nil || rest != "" {
		return nil, fmt.Errorf("%w: bad reply %q", ErrNG, resp)
	}
	top, _ := v.(map[string]any)
	if top["result"] != "ok" {
		return nil, fmt.Errorf("%w: %v: %v", ErrNG, top["result"], top["error-reason"])
	}
	legs := map[string]int64{}
	tags, _ := top["tags"].(map[string]any)
	for tag, tv := range tags {
		tm, _ := tv.(map[string]any)
		medias, _ := tm["medias"].([]any)
		for _, mv := range medias {
			mm, _ := mv.(map[string]any)
			streams, _ := mm["streams"].([]any)
			for _, sv := range streams {
				sm, _ := sv.(map[string]any)
				stats, _ := sm["stats"].(map[string]any)
				if n, ok := stats["packets"].(int64); ok {
					legs[tag] += n
				}
			}
		}
	}
	return legs, nil
}

// bdecode decodes one bencoded value (BEP 3), the ng protocol's encoding:
// strings, int64, []any and map[string]any.
func bdecode(s string) (any, string, error) {
	if s == "" {
		return nil, "", ErrNG
	}
	switch c := s[0]; {
	case c == 'i':
		end := strings.IndexByte(s, 'e')
		if end < 0 {
			return nil, "", ErrNG
		}
		n, err := strconv.ParseInt(s[1:end], 10, 64)
		return n, s[end+1:], err
	case c == 'l' || c == 'd':
		var list []any
		rest := s[1:]
		for rest != "" && rest[0] != 'e' {
			var v any
			var err error
			if v, rest, err = bdecode(rest); err != nil {
				return nil, "", err
			}
			list = append(list, v)
		}
		if rest == "" {
			return nil, "", ErrNG
		}
		if c == 'l' {
			return list, rest[1:], nil
		}
		if len(list)%2 != 0 {
			return nil, "", ErrNG
		}
		m := make(map[string]any, len(list)/2)
		for i := 0; i < len(list); i += 2 {
			k, ok := list[i].(string)
			if !ok {
				return nil, "", ErrNG
			}
			m[k] = list[i+1]
		}
		return m, rest[1:], nil
	case c >= '0' && c <= '9':
		colon := strings.IndexByte(s, ':')
		if colon < 0 {
			return nil, "", ErrNG
		}
		n, err := strconv.Atoi(s[:colon])
		if err != nil || n < 0 || colon+1+n > len(s) {
			return nil, "", ErrNG
		}
		return s[colon+1 : colon+1+n], s[colon+1+n:], nil
	}
	return nil, "", ErrNG
}

// List is the raw ng "list" reply: the Call-IDs rtpengine relays.
func (r *RTPEngine) List(ctx context.Context) (string, error) {
	return r.NG(ctx, "d7:command4:liste")
}

// Log is what rtpengine printed so far, for failure messages.
func (r *RTPEngine) Log() string { return r.proc.log.String() }

// Close stops rtpengine; it is idempotent and registered with tb.Cleanup.
func (r *RTPEngine) Close() { r.proc.stop(2 * time.Second) }
