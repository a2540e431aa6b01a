package main

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine"
	"github.com/parlo-voip/parlo/internal/testpeers"
)

// desktopApp is the real parlo binary running under an X server.
type desktopApp struct {
	t     *testing.T
	d     *testpeers.Display
	cmd   *exec.Cmd
	log   bytes.Buffer
	win   string // X window id
	shots string // where to save screenshots ("" = nowhere)
}

func (a *desktopApp) x(name string, args ...string) string {
	a.t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = a.d.Env()
	out, err := cmd.CombinedOutput()
	if err != nil {
		a.t.Fatalf("%s %s: %v\n%s\n--- parlo log ---\n%s", name, strings.Join(args, " "), err, out, a.log.String())
	}
	return strings.TrimSpace(string(out))
}

// keys presses key combinations (xdotool names) in the window.
func (a *desktopApp) keys(combos ...string) {
	a.t.Helper()
	a.x("xdotool", append([]string{"key", "--clearmodifiers", "--delay", "60"}, combos...)...)
}

func (a *desktopApp) typeText(s string) {
	a.t.Helper()
	a.x("xdotool", "type", "--delay", "15", s)
}

func (a *desktopApp) title() string {
	if a.win == "" {
		return "(no window yet)"
	}
	out := a.x("xprop", "-id", a.win, "_NET_WM_NAME")
	if i := strings.Index(out, "= \""); i >= 0 {
		return strings.TrimSuffix(out[i+3:], "\"")
	}
	return out
}

func (a *desktopApp) waitFor(what string, timeout time.Duration, cond func() bool) {
	a.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			a.t.Fatalf("timed out waiting for %s; title %q\n--- parlo log ---\n%s", what, a.title(), a.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// screenshot grabs the window's area of the screen with ffmpeg x11grab.
func (a *desktopApp) screenshot(name string) image.Image {
	a.t.Helper()
	geo := map[string]int{}
	for _, l := range strings.Split(a.x("xdotool", "getwindowgeometry", "--shell", a.win), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			geo[k], _ = strconv.Atoi(v)
		}
	}
	path := filepath.Join(a.t.TempDir(), name+".png")
	a.x("ffmpeg", "-loglevel", "error", "-y", "-f", "x11grab", "-draw_mouse", "0",
		"-video_size", fmt.Sprintf("%dx%d", geo["WIDTH"], geo["HEIGHT"]),
		"-i", fmt.Sprintf("%s+%d,%d", a.d.Name(), geo["X"], geo["Y"]), "-frames:v", "1", path)
	b, err := os.ReadFile(path)
	if err != nil {
		a.t.Fatal(err)
	}
	if a.shots != "" && !strings.HasPrefix(name, "_") { // "_name": a check, not a document
		if err := os.WriteFile(filepath.Join(a.shots, "real-"+name+".png"), b, 0o644); err != nil {
			a.t.Fatal(err)
		}
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		a.t.Fatal(err)
	}
	return img
}

// buildParlo builds the real binary once for all the tests of this
// package (a Fyne link takes a minute on a loaded machine).
func buildParlo(t *testing.T) string {
	t.Helper()
	parloBuild.once.Do(func() {
		dir, err := os.MkdirTemp("", "parlo-e2e-")
		if err != nil {
			parloBuild.err = err
			return
		}
		parloBuild.bin = filepath.Join(dir, "parlo")
		if out, err := exec.Command("go", "build", "-o", parloBuild.bin, ".").CombinedOutput(); err != nil {
			parloBuild.err = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if parloBuild.err != nil {
		t.Fatal(parloBuild.err)
	}
	return parloBuild.bin
}

var parloBuild struct {
	once sync.Once
	bin  string
	err  error
}

// appEnv is the environment of a desktop app under test: its own home,
// XDG directories and runtime directory (so its single-instance socket is
// the test's, never a real Parlo's), no session bus.
func appEnv(d *testpeers.Display, home string) []string {
	return append(d.Env(), "HOME="+home, "XDG_CONFIG_HOME="+home+"/.config",
		"XDG_DATA_HOME="+home+"/.local/share", "XDG_STATE_HOME="+home+"/.local/state",
		"XDG_RUNTIME_DIR="+home+"/run", "DBUS_SESSION_BUS_ADDRESS=disabled:", "LANG=C.UTF-8")
}

// startDesktopApp runs bin under d with a fresh home (or home, when set)
// and extraEnv, waits for its window and gives it the keyboard.
func startDesktopApp(t *testing.T, d *testpeers.Display, bin string, home *string, extraEnv ...string) *desktopApp {
	t.Helper()
	a := &desktopApp{t: t, d: d, shots: os.Getenv("PARLO_SCREENSHOTS_DIR")}
	h := filepath.Join(t.TempDir(), "home")
	if home != nil {
		h = *home
	}
	a.cmd = exec.Command(bin, "--listen", "udp:127.0.0.1:0")
	a.cmd.Env = append(appEnv(d, h), extraEnv...)
	a.cmd.Stdout, a.cmd.Stderr = &a.log, &a.log
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = a.cmd.Process.Kill()
		_ = a.cmd.Wait()
	})
	// A first start under load (the CI machine runs other tests' peers)
	// can take tens of seconds: GL context, fonts, the phone's sockets.
	a.waitFor("the Parlo window", 90*time.Second, func() bool {
		cmd := exec.Command("xdotool", "search", "--onlyvisible", "--name", "^Parlo")
		cmd.Env = d.Env()
		out, err := cmd.Output()
		if err != nil {
			return false
		}
		a.win = strings.Fields(string(out))[0]
		return true
	})
	// No window manager: focus follows the pointer, so put it there.
	a.x("xdotool", "mousemove", "--window", a.win, "400", "300")
	a.x("xdotool", "windowfocus", "--sync", a.win)
	return a
}

// bannerRed counts pixels of the sharing banner's red (#D32F2F).
func bannerRed(img image.Image) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if near(r>>8, 0xD3) && near(g>>8, 0x2F) && near(bl>>8, 0x2F) {
				n++
			}
		}
	}
	return n
}

func near(v uint32, want int) bool { d := int(v) - want; return d > -6 && d < 6 }

// TestDesktopAppSharesScreenEndToEnd runs the real parlo window on a
// two-monitor Xorg and drives it only with keys (xdotool): Ctrl+L, the
// peer's URI, Ctrl+Enter calls a second phone (in this process, answering
// at once); Ctrl+Shift+S opens the picker and Enter shares the primary
// monitor; the peer decodes frames; the red banner is on screen and the
// title says "● Sharing"; Ctrl+Shift+S again stops, and both go away.
func TestDesktopAppSharesScreenEndToEnd(t *testing.T) {
	testpeers.Require(t, "xdotool", "xprop", "ffmpeg", "Xorg")
	d := testpeers.StartDummyTwoMonitors(t)

	peer, err := callengine.NewPhone(callengine.Options{
		Listen: []string{"udp:127.0.0.1:0"}, User: "bob", AutoAnswer: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()

	a := startDesktopApp(t, d, buildParlo(t), nil)
	time.Sleep(300 * time.Millisecond) // first frame; the screenshot below is a document, not an assertion
	a.screenshot("idle")

	a.keys("ctrl+l")
	a.typeText(peer.ContactURI())
	a.keys("ctrl+Return")
	var callID string
	a.waitFor("the peer to answer", 20*time.Second, func() bool {
		for _, s := range peer.Calls() {
			if s.IsEstablished() {
				callID = s.SipCallID
				return true
			}
		}
		return false
	})
	a.waitFor("the window to show the call", 10*time.Second, func() bool {
		return strings.Contains(a.title(), "bob") || strings.Contains(a.title(), peer.ContactURI())
	})
	before := bannerRed(a.screenshot("active-call"))

	a.keys("ctrl+shift+s")
	time.Sleep(1500 * time.Millisecond) // picker thumbnails load; screenshot only
	a.screenshot("share-picker")
	a.keys("Return")
	a.waitFor("the peer to decode shared frames", 30*time.Second, func() bool {
		st, err := peer.Stats(callID)
		return err == nil && st.Video.Received.FramesDecoded > 0
	})
	a.waitFor("the ● Sharing title", 10*time.Second, func() bool { return strings.HasPrefix(a.title(), "● Sharing") })
	var during int
	a.waitFor("the red banner on screen", 10*time.Second, func() bool {
		during = bannerRed(a.screenshot("sharing"))
		return during > before+3000
	})
	st, _ := peer.Stats(callID)
	t.Logf("peer decoded %d frames %dx%d; banner red pixels %d (before %d)",
		st.Video.Received.FramesDecoded, st.Video.Received.Width, st.Video.Received.Height, during, before)

	a.keys("ctrl+shift+s") // stop sharing
	a.waitFor("the title without ● Sharing", 10*time.Second, func() bool { return !strings.HasPrefix(a.title(), "● Sharing") })
	a.waitFor("the banner gone", 10*time.Second, func() bool { return bannerRed(a.screenshot("_stopped")) < before+500 })

	a.keys("ctrl+shift+e") // hang up
	a.waitFor("the call to end at the peer", 10*time.Second, func() bool { return len(peer.Calls()) == 0 })
}

// TestMain removes the shared build of buildParlo after the package's tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if parloBuild.bin != "" {
		os.RemoveAll(filepath.Dir(parloBuild.bin))
	}
	os.Exit(code)
}
