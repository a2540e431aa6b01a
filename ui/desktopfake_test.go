package ui

import (
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"

	"github.com/parlo-voip/parlo/callengine"
	"github.com/parlo-voip/parlo/callengine/audio"
)

// trayApp is Fyne's test app with the desktop.App extension the real
// desktop driver has: it records the tray menu and icon, and every
// notification (the test app keeps only the last).
type trayApp struct {
	fyne.App
	mu            sync.Mutex
	menu          *fyne.Menu
	icon          fyne.Resource
	notifications []*fyne.Notification
}

var _ desktop.App = (*trayApp)(nil)

func newTrayApp(a fyne.App) *trayApp { return &trayApp{App: a} }

func (a *trayApp) SetSystemTrayMenu(m *fyne.Menu) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.menu = m
}

func (a *trayApp) SetSystemTrayIcon(r fyne.Resource) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.icon = r
}

func (a *trayApp) SetSystemTrayWindow(fyne.Window) {}

func (a *trayApp) SendNotification(n *fyne.Notification) {
	a.mu.Lock()
	a.notifications = append(a.notifications, n)
	a.mu.Unlock()
	a.App.SendNotification(n)
}

func (a *trayApp) trayMenu() *fyne.Menu {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.menu
}

func (a *trayApp) trayIcon() fyne.Resource {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.icon
}

func (a *trayApp) sent() []fyne.Notification {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]fyne.Notification, len(a.notifications))
	for i, n := range a.notifications {
		out[i] = *n
	}
	return out
}

// recordingSink counts the frames and loud samples the sound player wrote.
type recordingSink struct {
	mu           sync.Mutex
	opened       int
	frames, loud int
	closed       int
}

func (r *recordingSink) open() (audio.Sink, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.opened++
	return recordingSinkHandle{r}, nil
}

type recordingSinkHandle struct{ r *recordingSink }

func (h recordingSinkHandle) WriteFrame(f []int16) error {
	h.r.mu.Lock()
	defer h.r.mu.Unlock()
	h.r.frames++
	for _, v := range f {
		if v > 2000 || v < -2000 {
			h.r.loud++
			break
		}
	}
	return nil
}

func (h recordingSinkHandle) Close() error {
	h.r.mu.Lock()
	defer h.r.mu.Unlock()
	h.r.closed++
	return nil
}

func (r *recordingSink) counts() (opened, frames, loud, closed int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.opened, r.frames, r.loud, r.closed
}

// emitGlobal sends an event without a session (registration events).
func (f *fakeEngine) emitGlobal(name string, payload callengine.EventPayload) {
	f.mu.Lock()
	subs := slices.Clone(f.subs)
	f.mu.Unlock()
	for _, sub := range subs {
		sub.push(callengine.Event{Name: name, Payload: payload})
	}
}

func testLogger(t *testing.T) *slog.Logger {
	t.Helper()
	return slog.New(slog.NewTextHandler(testWriter{t}, nil))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
