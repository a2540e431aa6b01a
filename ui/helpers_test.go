package ui

import (
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/parlo-voip/parlo/callengine"
	"github.com/parlo-voip/parlo/callengine/audio"
	"github.com/parlo-voip/parlo/internal/testpeers"
)

// harness is a main window on the Fyne test driver. UI updates that the
// window's goroutines post (fyne.Do in production) are queued and run on
// the test goroutine by pump, so the test never races the widgets.
type harness struct {
	t       *testing.T
	app     *trayApp
	sink    *recordingSink
	w       *mainWindow
	queue   chan func()
	secrets *memSecrets
	clock   *fakeClock
}

type harnessOpts struct {
	theme      fyne.Theme
	accountURI string
	clock      *fakeClock
	desktop    desktopOptions
	// noSoundDevice makes opening the sound output fail, as on a machine
	// without a sound card.
	noSoundDevice bool
	// prefs are set before the window is built.
	prefs func(fyne.Preferences)
}

func newHarness(t *testing.T, eng Engine, o harnessOpts) *harness {
	t.Helper()
	h := &harness{t: t, app: newTrayApp(test.NewTempApp(t)), sink: &recordingSink{}, queue: make(chan func(), 4096), secrets: &memSecrets{}, clock: o.clock}
	opts := windowOptions{
		accountURI: o.accountURI,
		secrets:    h.secrets,
		do:         func(f func()) { h.queue <- f },
		desktop:    o.desktop,
		// Never the user's own contacts file.
		contactsPath: filepath.Join(t.TempDir(), "contacts.json"),
	}
	if opts.desktop.soundOut == nil {
		opts.desktop.soundOut = h.sink.open
		if o.noSoundDevice {
			opts.desktop.soundOut = func() (audio.Sink, error) { return nil, fmt.Errorf("%w: test machine", audio.ErrNoDevice) }
		}
	}
	if o.prefs != nil {
		o.prefs(h.app.Preferences())
	}
	if o.theme != nil {
		h.app.Settings().SetTheme(o.theme)
	}
	if o.clock != nil {
		opts.now = o.clock.now
	}
	h.w = newMainWindow(h.app, eng, opts)
	h.w.start()
	t.Cleanup(func() {
		done := make(chan struct{})
		go func() { h.w.stop(); close(done) }()
		for {
			select {
			case <-done:
				h.w.win.Close()
				return
			case <-h.queue: // drop UI work posted while stopping
			}
		}
	})
	return h
}

// pump runs the queued UI work.
func (h *harness) pump() {
	for {
		select {
		case f := <-h.queue:
			f()
		default:
			return
		}
	}
}

// waitFor pumps UI work until cond holds or the deadline passes.
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		h.pump()
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// settle pumps for a short while, for asserting that something does NOT
// happen after all queued events are applied.
func (h *harness) settle() {
	end := time.Now().Add(150 * time.Millisecond)
	for time.Now().Before(end) {
		h.pump()
		time.Sleep(5 * time.Millisecond)
	}
}

// shortcut types shortcut a on the window's canvas.
func (h *harness) shortcut(a action) {
	h.w.win.Canvas().(fyne.Shortcutable).TypedShortcut(defOf(a).shortcut())
}

// rowsText joins the call list's rows for error messages and matching.
func (h *harness) rowsText() string {
	var rows []string
	for _, r := range h.w.list.rowTexts() {
		rows = append(rows, strings.Join(r, " | "))
	}
	return strings.Join(rows, "\n")
}

// fakeClock is a settable clock for durations.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// newDisplayPhone is a real phone on loopback that shares from d's
// monitors, answering at once when auto is set; closed with the test.
func newDisplayPhone(t *testing.T, d *testpeers.Display, auto bool) *callengine.Phone {
	t.Helper()
	p, err := callengine.NewPhone(callengine.Options{
		Listen: []string{"udp:127.0.0.1:0"}, AutoAnswer: auto, Display: d.Name(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}
