package testpeers

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// How the Wayland desktop of StartSway is put together, and why:
//
//   - sway 1.7 runs on wlroots' headless backend with the pixman renderer:
//     no GPU, no /dev/dri, no input devices, one output HEADLESS-1 of the
//     requested size. wlroots cannot make a GL renderer without a DRM
//     device, so llvmpipe is no way round pixman.
//   - sway will not run as root: as root it runs as nobody, with a runtime
//     directory of its own. Everything else runs as the test process's user,
//     because xdg-desktop-portal serves only callers of its own user (it
//     reads the caller's /proc entry) and the test is the caller.
//   - A private D-Bus session bus, PipeWire and WirePlumber (which links the
//     consumer's stream to the screencast node), xdg-desktop-portal and its
//     wlroots back end xdg-desktop-portal-wlr 0.7, configured with
//     chooser_type=none: the output is picked without a person.
//   - xdg-desktop-portal-wlr 0.7 cannot start a screencast without a
//     DMA-BUF capable renderer (testdata/xdpw-shm-only.c says why and how
//     the preloaded shim works round it); the shim is compiled with gcc,
//     a build dependency, into the test's directory.

//go:embed testdata/xdpw-shm-only.c
var xdpwShmOnlySource string

// ErrNoPortal is returned when the screencast portal did not come up.
var ErrNoPortal = errors.New("testpeers: screencast portal not ready")

const (
	swayOutput         = "HEADLESS-1"
	portalBusName      = "org.freedesktop.portal.Desktop"
	portalImplBusName  = "org.freedesktop.impl.portal.desktop.wlr"
	xdgPortalBinary    = "/usr/libexec/xdg-desktop-portal"
	xdgPortalWlrBinary = "/usr/libexec/xdg-desktop-portal-wlr"
	nobodyID           = 65534
)

// SwayOptions configures StartSway.
type SwayOptions struct {
	// Width and Height are the output's size; default 640x480.
	Width, Height int
	// Background is the output's solid colour ("#rrggbb"); default red.
	Background string
	// Decline makes the portal's output chooser choose nothing, as a
	// person who dismisses the dialog: SelectSources answers "cancelled".
	Decline bool
	// StockPortal runs xdg-desktop-portal-wlr without the shim
	// (testdata/xdpw-shm-only.c), to show that it still needs it.
	StockPortal bool
}

// Sway is a headless Wayland desktop with a ScreenCast portal.
type Sway struct {
	opts     SwayOptions
	dir      string
	swayRun  string // sway's XDG_RUNTIME_DIR (its own user)
	run      string // everyone else's XDG_RUNTIME_DIR
	wayland  string // absolute path of the Wayland socket
	ipc      string // sway's IPC socket
	bus      string // session bus address
	procs    []*process
	procName []string
}

// StartSway starts the desktop and waits until the ScreenCast portal
// answers on the session bus. It is stopped by tb.Cleanup.
func StartSway(tb testing.TB, opts SwayOptions) *Sway {
	tb.Helper()
	Require(tb, "sway", "swaymsg", "swaybg", "dbus-daemon", "pipewire", "wireplumber", "gcc",
		xdgPortalBinary, xdgPortalWlrBinary)
	if opts.Width <= 0 || opts.Height <= 0 {
		opts.Width, opts.Height = 640, 480
	}
	if opts.Background == "" {
		opts.Background = "#ff0000"
	}
	// Not tb.TempDir: its parent is private to the test's user, and sway
	// (as nobody) must reach its configuration and runtime directory.
	dir, err := os.MkdirTemp("", "parlo-sway-")
	if err != nil {
		tb.Fatalf("testpeers: %v", err)
	}
	s := &Sway{opts: opts, dir: dir, swayRun: filepath.Join(dir, "sway-run"), run: filepath.Join(dir, "run")}
	tb.Cleanup(func() {
		s.Close()
		_ = os.RemoveAll(dir)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.start(ctx); err != nil {
		tb.Fatalf("testpeers: sway desktop: %v\n%s", err, s.Log())
	}
	return s
}

func (s *Sway) start(ctx context.Context) error {
	if err := os.Chmod(s.dir, 0o755); err != nil {
		return err
	}
	for _, d := range []string{s.swayRun, s.run, filepath.Join(s.dir, "config", "xdg-desktop-portal-wlr")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	asNobody := os.Geteuid() == 0
	if asNobody {
		if err := os.Chown(s.swayRun, nobodyID, nobodyID); err != nil {
			return err
		}
	}
	swayConf := filepath.Join(s.dir, "sway.conf")
	conf := fmt.Sprintf("output %s resolution %dx%d position 0 0 bg %s solid_color\n", swayOutput, s.opts.Width, s.opts.Height, s.opts.Background)
	if err := os.WriteFile(swayConf, []byte(conf), 0o644); err != nil {
		return err
	}
	xdpwConf := "[screencast]\nchooser_type=none\noutput_name=" + swayOutput + "\nmax_fps=30\n"
	if s.opts.Decline {
		// A "simple" chooser prints the chosen output; nothing is a no.
		xdpwConf = "[screencast]\nchooser_type=simple\nchooser_cmd=true\nmax_fps=30\n"
	}
	if err := os.WriteFile(filepath.Join(s.dir, "config", "xdg-desktop-portal-wlr", "config"), []byte(xdpwConf), 0o644); err != nil {
		return err
	}
	shim, err := s.buildShim(ctx)
	if err != nil {
		return err
	}

	base := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + s.dir, "LANG=C.UTF-8"}
	swayEnv := append(base[:len(base):len(base)], "XDG_RUNTIME_DIR="+s.swayRun,
		"WLR_BACKENDS=headless", "WLR_LIBINPUT_NO_DEVICES=1", "WLR_RENDERER=pixman", "WLR_HEADLESS_OUTPUTS=1")
	cmd := exec.Command("sway", "-d", "-c", swayConf)
	cmd.Dir, cmd.Env = s.dir, swayEnv
	if asNobody {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobodyID, Gid: nobodyID}}
	}
	if err := s.launch("sway", cmd); err != nil {
		return err
	}
	if err := s.waitFor(ctx, "the Wayland socket", func() bool {
		m, _ := filepath.Glob(filepath.Join(s.swayRun, "wayland-[0-9]"))
		ipc, _ := filepath.Glob(filepath.Join(s.swayRun, "sway-ipc.*.sock"))
		if len(m) == 0 || len(ipc) == 0 {
			return false
		}
		s.wayland, s.ipc = m[0], ipc[0]
		return true
	}); err != nil {
		return err
	}

	busFile := filepath.Join(s.run, "bus")
	if err := s.launch("dbus-daemon", s.command(base, "dbus-daemon", "--session", "--nofork", "--nopidfile",
		"--address=unix:path="+busFile)); err != nil {
		return err
	}
	s.bus = "unix:path=" + busFile
	if err := s.waitFor(ctx, "the session bus", func() bool {
		c, err := dbus.Connect(s.bus)
		if err != nil {
			return false
		}
		_ = c.Close()
		return true
	}); err != nil {
		return err
	}
	env := s.env(base)
	if err := s.launch("pipewire", s.command(env, "pipewire")); err != nil {
		return err
	}
	if err := s.waitFor(ctx, "the PipeWire socket", func() bool {
		_, err := os.Stat(filepath.Join(s.run, "pipewire-0"))
		return err == nil
	}); err != nil {
		return err
	}
	if err := s.launch("wireplumber", s.command(env, "wireplumber")); err != nil {
		return err
	}
	xdpwEnv := env
	if !s.opts.StockPortal {
		xdpwEnv = append(env[:len(env):len(env)], "LD_PRELOAD="+shim)
	}
	if err := s.launch("xdg-desktop-portal-wlr", s.command(xdpwEnv, xdgPortalWlrBinary, "-l", "DEBUG")); err != nil {
		return err
	}
	if err := s.waitName(ctx, portalImplBusName); err != nil {
		return err
	}
	if err := s.launch("xdg-desktop-portal", s.command(env, xdgPortalBinary, "-v")); err != nil {
		return err
	}
	return s.waitName(ctx, portalBusName)
}

// buildShim compiles testdata/xdpw-shm-only.c.
func (s *Sway) buildShim(ctx context.Context) (string, error) {
	src := filepath.Join(s.dir, "xdpw-shm-only.c")
	lib := filepath.Join(s.dir, "xdpw-shm-only.so")
	if err := os.WriteFile(src, []byte(xdpwShmOnlySource), 0o644); err != nil {
		return "", err
	}
	out, err := exec.CommandContext(ctx, "gcc", "-shared", "-fPIC", "-O2", "-Wall", "-o", lib, src, "-ldl").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("gcc xdpw-shm-only.c: %w\n%s", err, out)
	}
	return lib, nil
}

// env is the environment of a client of this desktop: its Wayland
// display, session bus, PipeWire and the portal's desktop name.
func (s *Sway) env(base []string) []string {
	return append(base[:len(base):len(base)],
		"XDG_RUNTIME_DIR="+s.run,
		"WAYLAND_DISPLAY="+s.wayland,
		"DBUS_SESSION_BUS_ADDRESS="+s.bus,
		"XDG_CURRENT_DESKTOP=sway",
		"XDG_SESSION_TYPE=wayland",
		"XDG_CONFIG_HOME="+filepath.Join(s.dir, "config"),
	)
}

func (s *Sway) command(env []string, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env = s.dir, env
	return cmd
}

func (s *Sway) launch(name string, cmd *exec.Cmd) error {
	lb := &logBuffer{}
	cmd.Stdout, cmd.Stderr = lb, lb
	p, err := launch(name, cmd, lb)
	if err != nil {
		return err
	}
	s.procs = append(s.procs, p)
	s.procName = append(s.procName, name)
	return nil
}

// waitFor polls ok until it holds, a process exits or ctx ends.
func (s *Sway) waitFor(ctx context.Context, what string, ok func() bool) error {
	for !ok() {
		for i, p := range s.procs {
			if p.exited() {
				if p.err == nil {
					return fmt.Errorf("%w: %s exited before %s", ErrProcessExited, s.procName[i], what)
				}
				return fmt.Errorf("%w: %s exited before %s: %w", ErrProcessExited, s.procName[i], what, p.err)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// waitName waits until name has an owner on the session bus: a call made
// before would start a second copy through D-Bus activation, with the
// bus's environment.
func (s *Sway) waitName(ctx context.Context, name string) error {
	conn, err := dbus.Connect(s.bus)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNoPortal, err)
	}
	defer conn.Close()
	err = s.waitFor(ctx, name, func() bool {
		var has bool
		err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, name).Store(&has)
		return err == nil && has
	})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNoPortal, err)
	}
	return nil
}

// Env is os.Environ() with this desktop's variables (WAYLAND_DISPLAY,
// XDG_SESSION_TYPE=wayland, DBUS_SESSION_BUS_ADDRESS, XDG_RUNTIME_DIR for
// PipeWire) in place of the caller's, for a client process.
func (s *Sway) Env() []string {
	own := s.env(nil)
	replaced := map[string]bool{"DISPLAY": true}
	for _, kv := range own {
		k, _, _ := strings.Cut(kv, "=")
		replaced[k] = true
	}
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !replaced[k] {
			env = append(env, kv)
		}
	}
	return append(env, own...)
}

// BusAddress is the session bus the portal listens on.
func (s *Sway) BusAddress() string { return s.bus }

// WaylandDisplay is the absolute path of the compositor's socket.
func (s *Sway) WaylandDisplay() string { return s.wayland }

// Output is the name of the one output.
func (s *Sway) Output() string { return swayOutput }

// SetBackground paints the whole output in colour ("#rrggbb"): what a
// screencast of it must show.
func (s *Sway) SetBackground(ctx context.Context, colour string) error {
	out, err := exec.CommandContext(ctx, "swaymsg", "-s", s.ipc, "output", swayOutput, "bg", colour, "solid_color").CombinedOutput()
	if err != nil {
		return fmt.Errorf("testpeers: swaymsg bg: %w: %s", err, out)
	}
	return nil
}

// StopPortalBackend stops xdg-desktop-portal-wlr, which ends every
// screencast it serves: their PipeWire nodes go away. (wlroots 0.15's
// headless backend cannot switch its output off to end them.)
func (s *Sway) StopPortalBackend() {
	for i, name := range s.procName {
		if name == "xdg-desktop-portal-wlr" {
			s.procs[i].stop(3 * time.Second)
		}
	}
}

// ShowImage fills the output with the PNG at path (swaybg, "fill" mode: a
// picture of the output's size is shown pixel for pixel). The file is
// copied where sway, which may run as another user, can read it.
func (s *Sway) ShowImage(ctx context.Context, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("testpeers: %w", err)
	}
	f, err := os.CreateTemp(s.dir, "bg-*.png")
	if err != nil {
		return fmt.Errorf("testpeers: %w", err)
	}
	_, werr := f.Write(b)
	cerr := f.Close()
	if err := errors.Join(werr, cerr, os.Chmod(f.Name(), 0o644)); err != nil {
		return fmt.Errorf("testpeers: %w", err)
	}
	out, err := exec.CommandContext(ctx, "swaymsg", "-s", s.ipc, "output", swayOutput, "bg", f.Name(), "fill").CombinedOutput()
	if err != nil {
		return fmt.Errorf("testpeers: swaymsg bg: %w: %s", err, out)
	}
	return nil
}

// Log is every process's output, in start order.
func (s *Sway) Log() string {
	var b strings.Builder
	for i, p := range s.procs {
		fmt.Fprintf(&b, "--- %s ---\n%s\n", s.procName[i], p.log.String())
	}
	return b.String()
}

// Close stops everything, the portal first and sway last; idempotent.
func (s *Sway) Close() {
	for i := len(s.procs) - 1; i >= 0; i-- {
		s.procs[i].stop(3 * time.Second)
	}
}
