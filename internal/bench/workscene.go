package bench

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// desktopSeed picks the wallpaper every scene paints, so Parlo and the
// reference capture the same desktop.
const desktopSeed = 4

// ErrScene is returned when a work scene's programs do not come up.
var ErrScene = errors.New("bench: work scene did not start")

// WorkKind is a class of screen content that looks like work.
type WorkKind int

// Work scene kinds. Text is real text: xterm rendering DejaVu Sans Mono
// through Xft, anti-aliased, the way an editor or terminal looks.
const (
	WorkStatic      WorkKind = iota // desktop + a terminal full of code, nothing changes
	WorkTyping                      // the terminal gets 10 characters a second typed at its cursor
	WorkScrolling                   // a large terminal scrolling a long text, 20 lines a second
	WorkWindowDrag                  // the terminal window dragged across the desktop at 30 Hz
	WorkVideo                       // a 640x360 video (ffplay testsrc2, 30 fps) playing in a window
	WorkCursor                      // static desktop, the pointer circling at 60 Hz
	WorkFullMotion                  // a whole-screen picture scrolling 4 rows at 60 Hz
	WorkClockTyping                 // typing as in WorkTyping while a panel clock elsewhere ticks every second
)

// AllWorkKinds lists every kind in report order.
var AllWorkKinds = []WorkKind{WorkStatic, WorkTyping, WorkClockTyping, WorkScrolling, WorkWindowDrag, WorkVideo, WorkCursor, WorkFullMotion}

func (k WorkKind) String() string {
	return [...]string{"static", "typing", "scrolling text", "window drag", "video in a window", "cursor motion", "full motion", "clock + typing"}[k]
}

// HasText reports whether Text is meaningful for the kind (a legibility
// region that stays in place).
func (k WorkKind) HasText() bool {
	return k == WorkStatic || k == WorkTyping || k == WorkScrolling || k == WorkCursor || k == WorkClockTyping
}

// sceneText is what the terminal shows and types: real source code.
//
//go:embed report.go
var sceneText string

// terminalScript prints the text file given as its argument in one of three
// ways: "page" prints the first rows at once and then waits; "type" prints
// the first rows and then types the rest one character every 100 ms;
// "scroll" prints one line every 50 ms, round and round. "clock" ignores
// the file and shows the time of day, rewritten in place every second, as
// a desktop panel's clock does.
const terminalScript = `$|=1; my ($mode,$file,$rows)=@ARGV; open(F,'<',$file) or die; my @l=<F>; close F;
print @l[0..$rows-1];
if ($mode eq 'page') { sleep 100000 }
if ($mode eq 'type') { my $t=join('',@l[$rows..$#l]); while (1) { for my $c (split //, $t) { print $c; select(undef,undef,undef,0.1) } } }
if ($mode eq 'scroll') { while (1) { for my $s (@l) { print $s; select(undef,undef,undef,0.05) } } }
if ($mode eq 'clock') { while (1) { my @t=localtime; printf "\r%02d:%02d:%02d", $t[2], $t[1], $t[0]; sleep 1 } }`

// WorkScene is one content class on its own Xvfb: the server, a painter for
// the wallpaper and animations, and the programs (xterm, ffplay) it runs.
// Close stops them all.
type WorkScene struct {
	Kind WorkKind
	W, H int
	// Text is the terminal's rectangle on screen (even coordinates, for
	// cropping 4:2:0 pictures), empty when the kind has no fixed text.
	Text image.Rectangle

	x       *Xvfb
	painter *XPainter
	procs   []*exec.Cmd
	dir     string
}

// StartWorkScene starts a w x h Xvfb showing kind and waits until its
// windows are on screen.
func StartWorkScene(kind WorkKind, w, h int) (*WorkScene, error) {
	x, err := StartXvfb(w, h)
	if err != nil {
		return nil, err
	}
	s := &WorkScene{Kind: kind, W: w, H: h, x: x}
	if err := s.start(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Display is the scene's X display name.
func (s *WorkScene) Display() string { return s.x.Name() }

func (s *WorkScene) start() error {
	var err error
	if s.painter, err = NewXPainter(s.x.Name()); err != nil {
		return err
	}
	if err := s.painter.SetWallpaper(Desktop(s.W, s.H, desktopSeed)); err != nil {
		return err
	}
	if s.dir, err = os.MkdirTemp("", "parlo-bench-scene"); err != nil {
		return err
	}
	text := filepath.Join(s.dir, "text.go")
	if err := os.WriteFile(text, []byte(sceneText), 0o644); err != nil {
		return err
	}
	term := func(mode string, cols, rows, x, y int) (uint32, error) {
		title := fmt.Sprintf("parlo-bench-%s-%d", mode, time.Now().UnixNano())
		return s.run(title, "xterm", "-T", title, "-geometry", fmt.Sprintf("%dx%d+%d+%d", cols, rows, x, y),
			"-fa", "DejaVu Sans Mono", "-fs", "10", "-bg", "white", "-fg", "black", "+sb", "-bw", "0",
			"-e", "perl", "-e", terminalScript, mode, text, strconv.Itoa(rows-1))
	}
	switch s.Kind {
	case WorkStatic, WorkCursor, WorkTyping, WorkWindowDrag, WorkClockTyping:
		mode := "page"
		if s.Kind == WorkTyping || s.Kind == WorkClockTyping {
			mode = "type"
		}
		win, err := term(mode, 110, 34, 420, 240)
		if err != nil {
			return err
		}
		if err := s.setText(win); err != nil {
			return err
		}
		switch s.Kind {
		case WorkClockTyping:
			// The panel clock in the top right corner, away from the text.
			if _, err := term("clock", 9, 1, s.W-120, 6); err != nil {
				return err
			}
		case WorkCursor:
			s.painter.every(time.Second/60, func(n int) error {
				a := float64(n) * 0.05
				return s.painter.WarpPointer(s.W/2+int(float64(s.H/3)*math.Cos(a)), s.H/2+int(float64(s.H/3)*math.Sin(a)))
			})
		case WorkWindowDrag:
			s.Text = image.Rectangle{}
			r, _ := s.painter.Geometry(win)
			s.painter.every(time.Second/30, func(n int) error {
				// Bounce inside the screen, 12 px right and 6 px down a step.
				x := bounce(n*12, s.W-r.Dx())
				y := bounce(n*6, s.H-r.Dy())
				return s.painter.MoveWindow(win, x, y)
			})
		}
	case WorkScrolling:
		win, err := term("scroll", 200, 56, 100, 80)
		if err != nil {
			return err
		}
		if err := s.setText(win); err != nil {
			return err
		}
	case WorkVideo:
		title := fmt.Sprintf("parlo-bench-video-%d", time.Now().UnixNano())
		if _, err := s.run(title, "ffplay", "-hide_banner", "-loglevel", "error", "-an", "-noborder",
			"-window_title", title, "-left", "640", "-top", "360",
			"-f", "lavfi", "-i", "testsrc2=s=640x360:r=30"); err != nil {
			return err
		}
	case WorkFullMotion:
		if err := s.painter.StartScroller(Desktop(s.W, s.H, desktopSeed+1), 60, 4); err != nil {
			return err
		}
	}
	return nil
}

func (s *WorkScene) setText(win uint32) error {
	r, err := s.painter.Geometry(win)
	if err != nil {
		return err
	}
	r = r.Intersect(image.Rect(0, 0, s.W, s.H))
	s.Text = image.Rect(r.Min.X&^1, r.Min.Y&^1, r.Max.X&^1, r.Max.Y&^1)
	return nil
}

// run starts a program on the scene's display and waits until a window
// titled title is mapped (xdotool search --sync), returning its id.
func (s *WorkScene) run(title, name string, args ...string) (uint32, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), s.x.Env()...)
	cmd.Env = append(cmd.Env, "SDL_AUDIODRIVER=dummy")
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("%w: %s: %w", ErrScene, name, err)
	}
	s.procs = append(s.procs, cmd)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	search := exec.CommandContext(ctx, "xdotool", "search", "--sync", "--onlyvisible", "--name", "^"+title+"$")
	search.Env = cmd.Env
	out, err := search.Output()
	if err != nil {
		return 0, fmt.Errorf("%w: no %s window: %w (%s)", ErrScene, name, err, log.String())
	}
	id, err := strconv.ParseUint(strings.Fields(string(out))[0], 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%w: xdotool said %q", ErrScene, out)
	}
	return uint32(id), nil
}

// Close stops the programs, the painter and the X server. It is idempotent.
func (s *WorkScene) Close() {
	for _, c := range s.procs {
		if c.ProcessState == nil {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	}
	s.procs = nil
	if s.painter != nil {
		s.painter.Close()
	}
	if s.x != nil {
		s.x.Close()
	}
	if s.dir != "" {
		_ = os.RemoveAll(s.dir)
		s.dir = ""
	}
}

// bounce maps a growing position onto 0..limit and back.
func bounce(p, limit int) int {
	if limit <= 0 {
		return 0
	}
	p %= 2 * limit
	if p > limit {
		return 2*limit - p
	}
	return p
}
