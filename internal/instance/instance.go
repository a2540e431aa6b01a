// Package instance keeps the desktop app to one running instance per user.
// The first instance listens on a Unix socket in the user's runtime
// directory; a later launch (a second double-click, or a sip: link opened
// by the browser) hands its request to it and exits, so links dial in the
// phone that is already registered and calls are never split between two
// windows.
package instance

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// Errors of Listen and Send.
var (
	// ErrRunning: another instance answers on the socket.
	ErrRunning = errors.New("instance: another Parlo is running")
	// ErrNotRunning: no instance listens on the socket.
	ErrNotRunning = errors.New("instance: no Parlo is running")
)

// maxRequest bounds one request; a link is at most a few hundred bytes.
const maxRequest = 4096

// Request is what a later launch asks of the running instance.
type Request struct {
	// Link is a call link to dial after the user confirms (empty: just
	// show the window).
	Link string `json:"link,omitempty"`
}

// SocketPath is the socket of this user's instance:
// $XDG_RUNTIME_DIR/parlo/instance.sock, else a per-user directory in the
// temporary directory. Only the user can enter either.
func SocketPath() string {
	dir := os.Getenv("XDG_RUNTIME_DIR")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "parlo-"+strconv.Itoa(os.Getuid()))
	} else {
		dir = filepath.Join(dir, "parlo")
	}
	return filepath.Join(dir, "instance.sock")
}

// Server is the running instance's end: Requests delivers what later
// launches asked. Close stops it and removes the socket.
type Server struct {
	ln        net.Listener
	path      string
	reqs      chan Request
	log       *slog.Logger
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// Listen makes this process the instance. It fails with ErrRunning when
// another instance answers; a socket left by a crashed instance is removed.
func Listen(path string, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.Default()
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("instance: %w", err)
	}
	if err := os.Chmod(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("instance: %w", err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		if c, derr := net.DialTimeout("unix", path, time.Second); derr == nil {
			c.Close()
			return nil, ErrRunning
		}
		// Nobody answers: a stale socket of an instance that died.
		if rerr := os.Remove(path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			return nil, fmt.Errorf("instance: stale socket: %w", rerr)
		}
		if ln, err = net.Listen("unix", path); err != nil {
			return nil, fmt.Errorf("instance: %w", err)
		}
	}
	s := &Server{ln: ln, path: path, reqs: make(chan Request, 8), log: log}
	s.wg.Add(1)
	go s.accept() // owner: Server; ends when Close closes ln
	return s, nil
}

// Requests delivers the requests of later launches; it closes after Close.
func (s *Server) Requests() <-chan Request { return s.reqs }

func (s *Server) accept() {
	defer s.wg.Done()
	defer close(s.reqs)
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.serve(c)
	}
}

// serve reads one request and answers "ok"; one at a time, bounded in size
// and time, so a stuck client cannot hold the instance.
func (s *Server) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReaderSize(c, maxRequest).ReadSlice('\n')
	if err != nil {
		s.log.Warn("instance request unreadable", "error", err)
		return
	}
	var r Request
	if err := json.Unmarshal(line, &r); err != nil {
		s.log.Warn("instance request malformed", "error", err)
		return
	}
	select {
	case s.reqs <- r:
		_, _ = c.Write([]byte("ok\n"))
	default:
		s.log.Warn("instance requests not being read; dropped one")
	}
}

// Close stops listening and removes the socket. Idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.ln.Close() // removes the socket file too (net.UnixListener unlinks)
		s.wg.Wait()
	})
	return nil
}

// Send hands r to the running instance and waits for its acknowledgement.
func Send(ctx context.Context, path string, r Request) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNotRunning, err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("instance: %w", err)
	}
	if _, err := c.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("instance: send: %w", err)
	}
	ack, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || ack != "ok\n" {
		return fmt.Errorf("instance: no acknowledgement: %w", errors.Join(err, errors.New(ack)))
	}
	return nil
}
