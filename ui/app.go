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
	"github.com/parlo-voip/parlo/callengine/audio"
	"github.com/parlo-voip/parlo/internal/history"
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

	// History, when set, backs the History window; HistoryChanged (from
	// history.Recorder.Changed) makes an open one reload. The recorder is
	// the phone owner's: it must see the hangups of Phone.Close.
	History        *history.Store
	HistoryChanged <-chan struct{}
	// SoundOutput opens the device the ringtone and call tones play on
	// (default audio.OpenDefaultOutput; without a device they stay silent).
	SoundOutput func() (audio.Sink, error)
	// Devices are the phone's sound devices (SystemDevices on the VoiceIO
	// the phone's calls use), for Settings; nil offers only the default.
	Devices AudioDevices
	// LogPath is shown in Settings and About.
	LogPath string
	// Version is shown in About (e.g. "0.1.0 (build 1)").
	Version string
	// AccountProblem, when set, says why the saved account is not in use;
	// the window runs in direct mode and shows it with "Add account".
	AccountProblem string
	// Links are call links (or "" to only show the window) from later
	// launches of Parlo; each is shown in the dial field for the user to
	// confirm. Nil when the app is not the single instance.
	Links <-chan string
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
		desktop: desktopOptions{
			history: cfg.History, historyChanged: cfg.HistoryChanged, soundOut: cfg.SoundOutput, logPath: cfg.LogPath,
			version: cfg.Version, accountProblem: cfg.AccountProblem, devices: cfg.Devices,
		},
	})
	mw.start()
	mw.watchLinks(cfg.Links)
	mw.win.ShowAndRun()
	mw.stop()
	return nil
}

// SharingIcon is the tray icon while a screen is shared.
func SharingIcon() fyne.Resource {
	return fyne.NewStaticResource("IconSharing.png", assets.IconSharingPNG)
}
