package bench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// ErrGUI is returned when the desktop app does not start or does not do
// what it was asked within its deadline.
var ErrGUI = errors.New("bench: desktop app")

// GUIOptions configure StartGUIApp.
type GUIOptions struct {
	Bin     string // the parlo binary
	Display string // ":N"
	Home    string // a fresh home directory (preferences, sockets)
	Listen  string // SIP listen address, e.g. udp:127.0.0.1:5062
	// Preferences is the Fyne preferences file's JSON (settings a user
	// would have saved), or "" for a new user's defaults.
	Preferences string
}

// GUIApp is the real `parlo` desktop app running on an X display, driven
// the way a user drives it: keys typed with xdotool (no window manager
// runs, so focus follows the pointer, which it puts on the window).
type GUIApp struct {
	o   GUIOptions
	cmd *exec.Cmd
	win string // X window id

	mu        sync.Mutex
	log       bytes.Buffer
	done      chan struct{}
	closeOnce sync.Once
}

// StartGUIApp starts the app and waits (up to 90 s: the first start under
// load spends tens of seconds on GL and fonts) for its window.
func StartGUIApp(o GUIOptions) (*GUIApp, error) {
	if o.Preferences != "" {
		dir := filepath.Join(o.Home, ".config", "fyne", "io.parlo.Parlo")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, "preferences.json"), []byte(o.Preferences), 0o600); err != nil {
			return nil, err
		}
	}
	a := &GUIApp{o: o, done: make(chan struct{})}
	a.cmd = exec.Command(o.Bin, "--listen", o.Listen)
	a.cmd.Env = append(os.Environ(), "DISPLAY="+o.Display, "HOME="+o.Home, "XDG_CONFIG_HOME="+o.Home+"/.config",
		"XDG_DATA_HOME="+o.Home+"/.local/share", "XDG_STATE_HOME="+o.Home+"/.local/state",
		"XDG_RUNTIME_DIR="+o.Home+"/run", "DBUS_SESSION_BUS_ADDRESS=disabled:", "LANG=C.UTF-8", "SDL_AUDIODRIVER=dummy")
	a.cmd.Stdout, a.cmd.Stderr = a, a
	if err := os.MkdirAll(o.Home+"/run", 0o700); err != nil {
		return nil, err
	}
	if err := a.cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrGUI, err)
	}
	go func() { _ = a.cmd.Wait(); close(a.done) }()
	err := a.WaitFor("its window", 90*time.Second, func() bool {
		out, err := a.x("xdotool", "search", "--onlyvisible", "--name", "^Parlo")
		if err != nil {
			return false
		}
		a.win = strings.Fields(out)[0]
		return true
	})
	if err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// Write collects the app's output (its log) for error messages.
func (a *GUIApp) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.log.Len() < 1<<20 {
		a.log.Write(p)
	}
	return len(p), nil
}

// Log is the app's output so far.
func (a *GUIApp) Log() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.log.String()
}

// Pid is the app's process id.
func (a *GUIApp) Pid() int { return a.cmd.Process.Pid }

func (a *GUIApp) x(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+a.o.Display)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%w: %s %s: %w: %s", ErrGUI, name, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// Focus puts the pointer on the window and gives it the keyboard.
func (a *GUIApp) Focus() error {
	if _, err := a.x("xdotool", "mousemove", "--window", a.win, "200", "200"); err != nil {
		return err
	}
	_, err := a.x("xdotool", "windowfocus", "--sync", a.win)
	return err
}

// Keys presses key combinations (xdotool names) in the window.
func (a *GUIApp) Keys(combos ...string) error {
	_, err := a.x("xdotool", append([]string{"key", "--clearmodifiers", "--delay", "60"}, combos...)...)
	return err
}

// Type types s.
func (a *GUIApp) Type(s string) error {
	_, err := a.x("xdotool", "type", "--delay", "15", s)
	return err
}

// Place moves and resizes the window (no window manager: at once).
func (a *GUIApp) Place(x, y, w, h int) error {
	if _, err := a.x("xdotool", "windowmove", a.win, fmt.Sprint(x), fmt.Sprint(y)); err != nil {
		return err
	}
	_, err := a.x("xdotool", "windowsize", a.win, fmt.Sprint(w), fmt.Sprint(h))
	return err
}

// Title is the window's title ("" when it cannot be read).
func (a *GUIApp) Title() string {
	out, err := a.x("xprop", "-id", a.win, "_NET_WM_NAME")
	if err != nil {
		return ""
	}
	if i := strings.Index(out, "= \""); i >= 0 {
		return strings.TrimSuffix(out[i+3:], "\"")
	}
	return out
}

// WaitFor polls cond every 100 ms until it holds, the app exits or timeout
// passes.
func (a *GUIApp) WaitFor(what string, timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		select {
		case <-a.done:
			return fmt.Errorf("%w exited waiting for %s:\n%s", ErrGUI, what, a.Log())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: no %s after %s (title %q):\n%s", ErrGUI, what, timeout, a.Title(), a.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

// Close kills the app and waits for it. It is idempotent.
func (a *GUIApp) Close() {
	a.closeOnce.Do(func() {
		_ = a.cmd.Process.Kill()
		<-a.done
	})
}
