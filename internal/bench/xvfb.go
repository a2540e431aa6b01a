package bench

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/jezek/xgb"
)

// ErrXvfb is returned when the X server or a window on it does not come up.
var ErrXvfb = errors.New("bench: Xvfb did not start")

// Xvfb is a virtual 24-bit screen on a random high display number.
//
// Why not testpeers.StartXvfb: its -displayfd makes Xvfb take the lowest free
// number (:0, :1). On a machine where other sandboxes share /tmp but not the
// PID namespace, their X servers see our lock file's PID as dead, take the
// same number and delete /tmp/.X11-unix/X0 under us; xgb (hence Parlo's
// capture) connects only through that file and then fails mid-run. A random
// number in 1000–60999 makes such a collision unlikely.
type Xvfb struct {
	display string
	srv     *exec.Cmd
	log     bytes.Buffer

	closeOnce sync.Once
}

// StartXvfb starts a w x h x 24 server and waits until a client connects.
func StartXvfb(w, h int) (*Xvfb, error) {
	var n int
	for range 50 {
		n = 1000 + rand.IntN(60000)
		_, e1 := os.Stat(fmt.Sprintf("/tmp/.X%d-lock", n))
		_, e2 := os.Stat(fmt.Sprintf("/tmp/.X11-unix/X%d", n))
		if os.IsNotExist(e1) && os.IsNotExist(e2) {
			break
		}
	}
	x := &Xvfb{display: fmt.Sprintf(":%d", n)}
	x.srv = exec.Command("Xvfb", x.display, "-screen", "0", fmt.Sprintf("%dx%dx24", w, h), "-nolisten", "tcp", "-noreset")
	x.srv.Stdout, x.srv.Stderr = &x.log, &x.log
	if err := x.srv.Start(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrXvfb, err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := xgb.NewConnDisplay(x.display); err == nil {
			c.Close()
			return x, nil
		}
		if time.Now().After(deadline) {
			x.Close()
			return nil, fmt.Errorf("%w: %s after 10 s: %s", ErrXvfb, x.display, x.log.String())
		}
	}
}

// Name is the display name, ":N".
func (x *Xvfb) Name() string { return x.display }

// Close stops the server. It is idempotent.
func (x *Xvfb) Close() {
	x.closeOnce.Do(func() {
		_ = x.srv.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = x.srv.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			_ = x.srv.Process.Kill()
			<-done
		}
	})
}

// Env is DISPLAY for a child process.
func (x *Xvfb) Env() []string { return []string{"DISPLAY=" + x.display} }
