package testpeers

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// ErrProcessExited is returned by waits that end because the peer process
// exited before it became ready.
var ErrProcessExited = errors.New("testpeers: process exited")

// logBuffer collects a child's stdout and stderr; it is safe for concurrent
// use because exec copies both streams from their own goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// process is a peer running as a child in its own process group, so that
// stopping it also stops the workers it forked (Kamailio forks several) and
// nothing outlives the test.
type process struct {
	name string
	cmd  *exec.Cmd
	log  *logBuffer
	done chan struct{} // closed when Wait returns
	err  error         // Wait's result, valid after done is closed

	stopOnce sync.Once
}

// startProcess starts name with args; its output goes to the returned
// process's log.
func startProcess(name string, args []string, dir string, env []string) (*process, error) {
	return startProcessWithFiles(name, args, dir, env, nil)
}

// startProcessWithFiles is startProcess with extra open files for the child,
// numbered from 3.
func startProcessWithFiles(name string, args []string, dir string, env []string, files []*os.File) (*process, error) {
	cmd := exec.Command(name, args...)
	cmd.ExtraFiles = files
	cmd.Dir = dir
	cmd.Env = env
	lb := &logBuffer{}
	cmd.Stdout = lb
	cmd.Stderr = lb
	return launch(name, cmd, lb)
}

// launch starts cmd in its own process group (so stop reaches its
// workers) and owns its Wait.
func launch(name string, cmd *exec.Cmd, lb *logBuffer) (*process, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	// Forked grandchildren may keep the output pipes open; do not let Wait
	// hang on them once the main process has gone.
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, log: lb, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has exited.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the main process, waits up to grace, then kills the
// whole process group. Only the main process gets SIGTERM: Kamailio's main
// process stops its own workers, and workers terminated behind its back make
// it stall. It is idempotent.
func (p *process) stop(grace time.Duration) {
	p.stopOnce.Do(func() {
		if !p.exited() {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
		}
		p.waitOrKill(grace)
	})
}

// waitOrKill waits up to grace for the process to exit by itself, then kills
// its whole process group.
func (p *process) waitOrKill(grace time.Duration) {
	pgid := p.cmd.Process.Pid
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
	// Workers of the group may survive their parent's exit; make sure none
	// keeps a port bound into the next test.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// startProcessPipes is startProcess with the child's stdin and stdout
// connected to the given files (stderr still goes to the log).
func startProcessPipes(name string, args []string, dir string, env []string, stdin, stdout *os.File) (*process, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = env
	lb := &logBuffer{}
	cmd.Stdin = stdin
	cmd.Stdout = stdout
	cmd.Stderr = lb
	return launch(name, cmd, lb)
}

// waitOrKillOnce waits up to grace for a process that was asked to stop by
// other means (its stdin closed), then kills its group. Idempotent.
func (p *process) waitOrKillOnce(grace time.Duration) {
	p.stopOnce.Do(func() { p.waitOrKill(grace) })
}
