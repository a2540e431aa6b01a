package testpeers

import (
	"bufio"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// How the X servers are started, and why:
//
//   - Both Xvfb and Xorg get -displayfd: the server picks a free display
//     number itself and writes it to the pipe, so parallel test processes
//     (and other X servers on the machine) never race for one.
//   - Xorg only accepts an absolute -config or -logfile when it runs as root
//     (or is not setuid); as another user the Debian Xorg wrapper insists on
//     paths relative to /etc/X11. CI runs as root; elsewhere run the tests
//     as root or install the config under /etc/X11.
//   - -novtswitch -sharevts and the ServerFlags in xorg-dummy.conf keep Xorg
//     off the virtual terminals and input devices, so it runs on a headless
//     machine with no VT and no udev.
//   - Xvfb cannot fake two monitors (+xinerama reports a 0x0 head), hence Xorg + dummy for
//     StartDummyTwoMonitors.

//go:embed testdata/xorg-dummy.conf
var xorgDummyConf string

// ErrNoWindow is returned when a window did not appear before the deadline.
var ErrNoWindow = errors.New("testpeers: window did not appear")

// Monitor is one RandR monitor as xrandr --listmonitors reports it.
type Monitor struct {
	Name                string
	X, Y, Width, Height int
}

// Display is a running X server.
type Display struct {
	num     int
	dir     string
	proc    *process
	logPath string

	mu      sync.Mutex
	windows []*process
	nextWin int
}

// StartXvfb starts Xvfb with one w x h x 24 screen and waits until it accepts
// clients. It is stopped by tb.Cleanup.
func StartXvfb(tb testing.TB, w, h int) *Display {
	tb.Helper()
	Require(tb, "Xvfb", "xdpyinfo")
	dir := tb.TempDir()
	d := startXServer(tb, "Xvfb", dir, []string{
		"-screen", "0", fmt.Sprintf("%dx%dx24", w, h),
		"-nolisten", "tcp", "-noreset",
	})
	return d
}

// StartDummyTwoMonitors starts Xorg with the dummy driver and sets up two
// RandR monitors, DUMMY0 1920x1080 at (0,0) and DUMMY1 1280x720 at (1920,0),
// on one 3200x1080 screen. It is stopped by tb.Cleanup.
func StartDummyTwoMonitors(tb testing.TB) *Display {
	tb.Helper()
	Require(tb, "Xorg", "xrandr", "xdpyinfo")
	dir := tb.TempDir()
	conf := filepath.Join(dir, "xorg.conf")
	if err := os.WriteFile(conf, []byte(xorgDummyConf), 0o644); err != nil {
		tb.Fatalf("testpeers: %v", err)
	}
	logPath := filepath.Join(dir, "xorg.log")
	d := startXServer(tb, "Xorg", dir, []string{
		"-noreset", "-nolisten", "tcp",
		"-config", conf, "-logfile", logPath,
		"-novtswitch", "-sharevts",
	})
	d.logPath = logPath

	steps := [][]string{
		{"--newmode", "1280x720_60", "74.50", "1280", "1344", "1472", "1664", "720", "723", "728", "748", "-hsync", "+vsync"},
		{"--addmode", "DUMMY1", "1280x720_60"},
		{"--output", "DUMMY0", "--mode", "1920x1080", "--pos", "0x0",
			"--output", "DUMMY1", "--mode", "1280x720_60", "--pos", "1920x0"},
	}
	for _, args := range steps {
		if out, err := d.command("xrandr", args...).CombinedOutput(); err != nil {
			tb.Fatalf("testpeers: xrandr %s: %v\n%s\n--- Xorg log ---\n%s", strings.Join(args, " "), err, out, d.Log())
		}
	}
	return d
}

// startXServer runs bin with -displayfd and waits until xdpyinfo connects.
func startXServer(tb testing.TB, bin, dir string, args []string) *Display {
	tb.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		tb.Fatalf("testpeers: %v", err)
	}
	defer r.Close()
	// The write end becomes fd 3 in the child (the first of ExtraFiles).
	args = append([]string{"-displayfd", "3"}, args...)
	proc, err := startProcessWithFiles(bin, args, dir, os.Environ(), []*os.File{w})
	_ = w.Close() // the child holds its own copy
	if err != nil {
		tb.Fatalf("testpeers: %v", err)
	}
	d := &Display{num: -1, dir: dir, proc: proc}
	tb.Cleanup(d.Close)

	numCh := make(chan int, 1)
	go func() {
		// Ends when the server writes its number or exits (EOF).
		line, _ := bufio.NewReader(r).ReadString('\n')
		n, err := strconv.Atoi(strings.TrimSpace(line))
		if err != nil {
			n = -1
		}
		numCh <- n
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	select {
	case n := <-numCh:
		d.num = n
	case <-ctx.Done():
	}
	if d.num < 0 {
		_ = r.Close()
		tb.Fatalf("testpeers: %s did not report a display number\n--- %s log ---\n%s", bin, bin, d.Log())
	}
	// -displayfd is written once the server listens; still, check that a
	// client really gets through before handing the display out.
	for {
		if err := d.command("xdpyinfo").Run(); err == nil {
			break
		}
		if proc.exited() {
			tb.Fatalf("testpeers: %s exited: %v\n%s", bin, proc.err, d.Log())
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("testpeers: %s on %s not ready\n%s", bin, d.Name(), d.Log())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return d
}

// Name is the display name, ":N", for DISPLAY.
func (d *Display) Name() string { return ":" + strconv.Itoa(d.num) }

// Env is os.Environ() with DISPLAY set to this display, for child processes.
// Tests must not set DISPLAY in their own environment: parallel tests would
// see each other's display.
func (d *Display) Env() []string {
	env := make([]string, 0, len(os.Environ())+1)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DISPLAY=") {
			env = append(env, kv)
		}
	}
	return append(env, "DISPLAY="+d.Name())
}

func (d *Display) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = d.Env()
	return cmd
}

// Log is the server's output and, for Xorg, its log file.
func (d *Display) Log() string {
	out := d.proc.log.String()
	if d.logPath != "" {
		if b, err := os.ReadFile(d.logPath); err == nil {
			out += "\n--- " + d.logPath + " ---\n" + string(b)
		}
	}
	return out
}

var monitorLine = regexp.MustCompile(`^\s*\d+:\s+\+?\*?(\S+)\s+(\d+)/\d+x(\d+)/\d+\+(-?\d+)\+(-?\d+)`)

// Monitors lists the active RandR monitors (xrandr --listmonitors).
func (d *Display) Monitors() ([]Monitor, error) {
	out, err := d.command("xrandr", "--listmonitors").Output()
	if err != nil {
		return nil, fmt.Errorf("testpeers: xrandr --listmonitors: %w", err)
	}
	var ms []Monitor
	for _, line := range strings.Split(string(out), "\n") {
		m := monitorLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		w, _ := strconv.Atoi(m[2])
		h, _ := strconv.Atoi(m[3])
		x, _ := strconv.Atoi(m[4])
		y, _ := strconv.Atoi(m[5])
		ms = append(ms, Monitor{Name: m[1], X: x, Y: y, Width: w, Height: h})
	}
	return ms, nil
}

// Unplug turns an output off (xrandr --output NAME --off), as when a monitor
// is unplugged.
func (d *Display) Unplug(output string) error {
	if out, err := d.command("xrandr", "--output", output, "--off").CombinedOutput(); err != nil {
		return fmt.Errorf("testpeers: unplug %s: %w: %s", output, err, out)
	}
	return nil
}

// ShowImage shows pngPath in a borderless window with its top-left corner at
// (x, y) and waits until the window is mapped. The window lives until the
// test ends.
func (d *Display) ShowImage(tb testing.TB, x, y int, pngPath string) {
	tb.Helper()
	d.showFFplay(tb, x, y, []string{"-loop", "0", pngPath})
}

// ShowTestPattern shows a moving test picture (lavfi testsrc2) of w x h in a
// borderless window at (x, y) and waits until the window is mapped.
func (d *Display) ShowTestPattern(tb testing.TB, x, y, w, h int) {
	tb.Helper()
	d.showFFplay(tb, x, y, []string{"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=s=%dx%d:r=30", w, h)})
}

func (d *Display) showFFplay(tb testing.TB, x, y int, input []string) {
	tb.Helper()
	Require(tb, "ffplay", "xwininfo")
	d.mu.Lock()
	d.nextWin++
	title := fmt.Sprintf("testpeers-%d-%d", d.num, d.nextWin)
	d.mu.Unlock()
	args := append([]string{
		"-hide_banner", "-loglevel", "warning", "-nostats",
		"-an", "-noborder", "-left", strconv.Itoa(x), "-top", strconv.Itoa(y),
		"-window_title", title,
	}, input...)
	env := append(d.Env(), "SDL_AUDIODRIVER=dummy")
	proc, err := startProcess("ffplay", args, d.dir, env)
	if err != nil {
		tb.Fatalf("testpeers: %v", err)
	}
	d.mu.Lock()
	d.windows = append(d.windows, proc)
	d.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.waitWindow(ctx, title, proc); err != nil {
		tb.Fatalf("testpeers: ffplay window on %s: %v\n--- ffplay log ---\n%s", d.Name(), err, proc.log.String())
	}
}

// waitWindow polls xwininfo until a viewable window with that title exists.
func (d *Display) waitWindow(ctx context.Context, title string, p *process) error {
	for {
		out, err := d.command("xwininfo", "-name", title).Output()
		if err == nil && strings.Contains(string(out), "IsViewable") {
			return nil
		}
		if p.exited() {
			return fmt.Errorf("%w: %w", ErrProcessExited, p.err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %s: %w", ErrNoWindow, title, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Close stops the windows and the X server; idempotent, registered with
// tb.Cleanup.
func (d *Display) Close() {
	d.mu.Lock()
	wins := d.windows
	d.windows = nil
	d.mu.Unlock()
	for _, w := range wins {
		w.stop(2 * time.Second)
	}
	d.proc.stop(5 * time.Second)
}
