package capture

import (
	"fmt"
	"image"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

// xserver is an X server started by a test: Xvfb, or Xorg with the dummy
// driver for two monitors (Xvfb cannot fake them: +xinerama with two screens
// reports a 0x0 head and xrandr --setmonitor is ignored).
type xserver struct {
	Display string
	stopFn  func()
}

func (s *xserver) stop() { s.stopFn() }

// startX starts an X server on a free display number: it tries random numbers
// whose lock file and socket are absent, and waits until a client connects.
func startX(argsFor func(display string) (string, []string)) (*xserver, error) {
	lastErr := fmt.Errorf("no free display number among 300-899 after 100 tries (stale /tmp/.X*-lock files?)")
	for attempt := 0; attempt < 100; attempt++ {
		n := 300 + rand.IntN(600)
		if _, err := os.Stat(fmt.Sprintf("/tmp/.X%d-lock", n)); err == nil {
			continue
		}
		sock := fmt.Sprintf("/tmp/.X11-unix/X%d", n)
		if _, err := os.Stat(sock); err == nil {
			continue
		}
		display := fmt.Sprintf(":%d", n)
		bin, args := argsFor(display)
		cmd := exec.Command(bin, args...)
		out := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		// SIGTERM lets the server remove its lock file and socket; stale ones
		// pile up otherwise and crowd out the display numbers.
		kill := func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(3 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
		}
		if err := waitX(display, sock, exited); err != nil {
			kill()
			lastErr = fmt.Errorf("%s %s: %w: %s", bin, display, err, out.String())
			continue
		}
		return &xserver{Display: display, stopFn: kill}, nil
	}
	return nil, lastErr
}

func waitX(display, sock string, exited <-chan struct{}) error {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(sock); err == nil {
			if c, err := xgb.NewConnDisplay(display); err == nil {
				c.Close()
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("server exited")
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("no server after 15 s")
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startXvfb starts `Xvfb :N -screen 0 <screen> -nolisten tcp`.
func startXvfb(t testing.TB, screen string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: this test starts an X server")
	}
	s, err := startX(func(d string) (string, []string) {
		return "Xvfb", []string{d, "-screen", "0", screen, "-nolisten", "tcp", "-noreset"}
	})
	if err != nil {
		t.Fatalf("start Xvfb: %v", err)
	}
	t.Cleanup(s.stop)
	return s.Display
}

const dummyXorgConf = `Section "Device"
  Identifier "dummy"
  Driver "dummy"
  VideoRam 256000
EndSection
Section "Monitor"
  Identifier "mon"
  HorizSync 5.0-1000.0
  VertRefresh 5.0-200.0
EndSection
Section "Screen"
  Identifier "screen"
  Device "dummy"
  Monitor "mon"
  DefaultDepth 24
  SubSection "Display"
    Depth 24
    Virtual 3200 1080
  EndSubSection
EndSection
`

// startDualMonitorXorg starts Xorg with the dummy driver and lays out two
// monitors with xrandr: DUMMY0 1920x1080+0+0 (primary) and DUMMY1
// 1280x720+1920+0.
func startDualMonitorXorg(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: this test starts an X server")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "xorg.conf")
	if err := os.WriteFile(conf, []byte(dummyXorgConf), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := startX(func(d string) (string, []string) {
		return "Xorg", []string{d, "-noreset", "-config", conf, "-logfile", filepath.Join(dir, "xorg.log"), "-nolisten", "tcp"}
	})
	if err != nil {
		t.Fatalf("start Xorg dummy: %v", err)
	}
	t.Cleanup(s.stop)
	xrandr(t, s.Display, "--newmode", "1280x720_60", "74.50", "1280", "1344", "1472", "1664", "720", "723", "728", "748", "-hsync", "+vsync")
	xrandr(t, s.Display, "--addmode", "DUMMY1", "1280x720_60")
	xrandr(t, s.Display, "--output", "DUMMY0", "--mode", "1920x1080", "--pos", "0x0", "--primary",
		"--output", "DUMMY1", "--mode", "1280x720_60", "--pos", "1920x0")
	return s.Display
}

func xrandr(t testing.TB, display string, args ...string) {
	t.Helper()
	cmd := exec.Command("xrandr", append([]string{"-display", display}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("xrandr %v: %v: %s", args, err, out)
	}
}

// painter draws solid rectangles on the root window of a display.
type painter struct {
	t    testing.TB
	conn *xgb.Conn
	root xproto.Window
	gc   xproto.Gcontext
}

func newPainter(t testing.TB, display string) *painter {
	t.Helper()
	c, err := xgb.NewConnDisplay(display)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	root := xproto.Setup(c).DefaultScreen(c).Root
	gc, err := xproto.NewGcontextId(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := xproto.CreateGCChecked(c, gc, xproto.Drawable(root), 0, nil).Check(); err != nil {
		t.Fatal(err)
	}
	return &painter{t: t, conn: c, root: root, gc: gc}
}

// fill paints r with colour rgb (0xRRGGBB) and waits until the server has
// done it (a round trip).
func (p *painter) fill(r image.Rectangle, rgb uint32) {
	p.t.Helper()
	if err := p.fillErr(r, rgb); err != nil {
		p.t.Fatal(err)
	}
}

func (p *painter) fillErr(r image.Rectangle, rgb uint32) error {
	if err := xproto.ChangeGCChecked(p.conn, p.gc, xproto.GcForeground, []uint32{rgb}).Check(); err != nil {
		return err
	}
	return xproto.PolyFillRectangleChecked(p.conn, xproto.Drawable(p.root), p.gc, []xproto.Rectangle{{
		X: int16(r.Min.X), Y: int16(r.Min.Y), Width: uint16(r.Dx()), Height: uint16(r.Dy()),
	}}).Check()
}

// Shared servers for tests that only read them; started on first use.
var (
	sharedXvfbOnce sync.Once
	sharedXvfb     *xserver
	sharedXvfbErr  error
)

// sharedXvfbDisplay returns a 1920x1080 Xvfb shared by the read-only tests
// and benchmarks of this package.
func sharedXvfbDisplay(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: this test starts an X server")
	}
	sharedXvfbOnce.Do(func() {
		sharedXvfb, sharedXvfbErr = startX(func(d string) (string, []string) {
			return "Xvfb", []string{d, "-screen", "0", "1920x1080x24", "-nolisten", "tcp", "-noreset"}
		})
	})
	if sharedXvfbErr != nil {
		t.Fatalf("start Xvfb: %v", sharedXvfbErr)
	}
	return sharedXvfb.Display
}

func TestMain(m *testing.M) {
	// xgb logs every connection without ~/.Xauthority; keep test output readable.
	xgb.Logger = log.New(io.Discard, "", 0)
	code := m.Run()
	if sharedXvfb != nil {
		sharedXvfb.stop()
	}
	os.Exit(code)
}
