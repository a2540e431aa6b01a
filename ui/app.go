// Package ui is Parlo's desktop GUI (Fyne). It drives the phone only through
// the Engine interface and redraws only from the engine's events, each
// applied on the UI goroutine through fyne.Do.
package ui

import (
	"errors"
	"log/slog"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/parlo-voip/parlo/assets"
	"github.com/parlo-voip/parlo/callengine"
)

// AppID is Parlo's application ID (FyneApp.toml, preferences, keyring).
const AppID = "io.parlo.Parlo"

// ErrNoEngine is returned by Run without a phone.
var ErrNoEngine = errors.New("ui: Config needs a Phone or an Engine")

// Config is what Run needs.
type Config struct {
	// Phone is the ready phone. Engine is used instead when Phone is nil.
	Phone  *callengine.Phone
	Engine Engine
	// App is the Fyne app; nil makes one with NewApp. Pass one made by NewApp
	// when settings must be read (LoadSettings) before the phone is built.
	App fyne.App
	// AccountURI, when set, makes the window register the account at start
	// and show registration state; empty means direct mode.
	AccountURI string
	// Secrets stores the account password (default: the OS keyring).
	Secrets SecretStore
	Logger  *slog.Logger
}

// NewApp makes the Fyne app with Parlo's ID and icon.
func NewApp() fyne.App {
	a := app.NewWithID(AppID)
	a.SetIcon(Icon())
	return a
}

// Icon is the application icon.
func Icon() fyne.Resource { return fyne.NewStaticResource("Icon.png", assets.IconPNG) }

// Run opens the main window and blocks until the user quits. It does not
// close the phone: its owner does.
func Run(cfg Config) error {
	eng := cfg.Engine
	if cfg.Phone != nil {
		eng = PhoneEngine(cfg.Phone)
	}
	if eng == nil {
		return ErrNoEngine
	}
	a := cfg.App
	if a == nil {
		a = NewApp()
	}
	mw := newMainWindow(a, eng, windowOptions{
		accountURI: cfg.AccountURI,
		secrets:    cfg.Secrets,
		log:        cfg.Logger,
	})
	mw.start()
	mw.win.ShowAndRun()
	mw.stop()
	return nil
}
