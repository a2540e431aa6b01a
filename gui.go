package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"sync"
	"time"

	"github.com/parlo-voip/parlo/callengine"
	"github.com/parlo-voip/parlo/callengine/audio"
	"github.com/parlo-voip/parlo/internal/applog"
	"github.com/parlo-voip/parlo/internal/calllink"
	"github.com/parlo-voip/parlo/internal/history"
	"github.com/parlo-voip/parlo/internal/instance"
	"github.com/parlo-voip/parlo/ui"
)

// fyneAppTOML is the app's metadata; About shows its version. Embedded
// because only `fyne package` injects metadata, and a plain `go build` must
// know its version too.
//
//go:embed FyneApp.toml
var fyneAppTOML string

// appVersion is "Version (build Build)" from FyneApp.toml.
func appVersion() string {
	v := regexp.MustCompile(`(?m)^Version\s*=\s*"([^"]+)"`).FindStringSubmatch(fyneAppTOML)
	b := regexp.MustCompile(`(?m)^Build\s*=\s*(\d+)`).FindStringSubmatch(fyneAppTOML)
	if v == nil {
		return ""
	}
	if b == nil {
		return v[1]
	}
	return v[1] + " (build " + b[1] + ")"
}

// guiFlags are the few start-up choices of the desktop app; everything else
// is in Settings.
type guiFlags struct {
	listen string
	debug  bool
	link   string // a call link to offer for dialling ("" for none)
	// Liveness (zero: the engine's defaults; negative: off).
	mediaTimeout, sessionExpires, keepAlive time.Duration
}

func parseGUIFlags(args []string, stderr io.Writer) (guiFlags, error) {
	fs := flag.NewFlagSet("parlo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f guiFlags
	fs.StringVar(&f.listen, "listen", "udp:0.0.0.0:5060", "local SIP address (transport:ip:port); a busy port falls back to a free one")
	fs.BoolVar(&f.debug, "debug", false, "debug logging, with a trace of every SIP message (credentials redacted)")
	fs.DurationVar(&f.mediaTimeout, "media-timeout", 0, "end a call that receives no media for `DURATION` while not on hold (default 20s; negative: never)")
	fs.DurationVar(&f.sessionExpires, "session-expires", 0, "RFC 4028 session interval `DURATION` asked for (default 30m0s; negative: no session timer)")
	fs.DurationVar(&f.keepAlive, "keepalive", 0, "probe the registrar with OPTIONS every `DURATION` (default 30s; negative: never)")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	switch fs.NArg() {
	case 0:
	case 1:
		f.link = fs.Arg(0)
		if _, err := calllink.Parse(f.link); err != nil {
			fmt.Fprintln(stderr, "parlo:", err)
			return f, err
		}
	default:
		fmt.Fprintln(stderr, "parlo: at most one call link")
		return f, errors.New("parlo: too many arguments")
	}
	return f, nil
}

// handOff gives the request of this launch (show the window, dial a link)
// to the Parlo already running for this user, if any: then this process
// is done. Otherwise it becomes that instance and returns the links later
// launches send. Without a usable socket it runs alone (logged).
func handOff(link string, log *slog.Logger) (done bool, links <-chan string, stop func()) {
	path := instance.SocketPath()
	for attempt := 0; attempt < 2; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := instance.Send(ctx, path, instance.Request{Link: link})
		cancel()
		if err == nil {
			log.Info("handed over to the running Parlo", "link", link != "")
			return true, nil, func() {}
		}
		srv, err := instance.Listen(path, log)
		if errors.Is(err, instance.ErrRunning) {
			continue // another launch won the race: hand over to it
		}
		if err != nil {
			log.Warn("single-instance socket unavailable; running alone", "error", err)
			return false, nil, func() {}
		}
		out := make(chan string, 4)
		if link != "" {
			out <- link
		}
		forwarded := make(chan struct{})
		go func() { // owner: the returned stop, which closes srv, ending this, and waits
			defer close(forwarded)
			defer close(out)
			for r := range srv.Requests() {
				select {
				case out <- r.Link:
				default:
					log.Warn("window not taking call links; dropped one")
				}
			}
		}()
		return false, out, func() { srv.Close(); <-forwarded }
	}
	return false, nil, func() {}
}

// openLog opens the rotating log file (also to stderr with --debug); if the
// state directory is not writable, logs go to stderr alone.
func openLog(debug bool) (*slog.Logger, string, func()) {
	var also io.Writer
	if debug {
		also = os.Stderr
	}
	l, err := applog.Open(applog.Options{Debug: debug, Also: also})
	if err != nil {
		level := slog.LevelInfo
		if debug {
			level = slog.LevelDebug
		}
		log := slog.New(applog.NewRedactingHandler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
		log.Warn("no log file, logging to stderr", "error", err)
		return log, "", func() {}
	}
	return l.Logger, l.Path, func() { l.Close() }
}

// runGUI starts the desktop phone: logs → settings → phone → history →
// window.
func runGUI(args []string) int {
	f, err := parseGUIFlags(args, os.Stderr)
	if err != nil {
		return 2
	}
	log, logPath, closeLog := openLog(f.debug)
	defer closeLog()
	slog.SetDefault(log)
	if f.debug {
		applog.EnableSIPTrace(log)
	}
	done, links, stopInstance := handOff(f.link, log)
	if done {
		return 0
	}
	defer stopInstance()
	log.Info("Parlo starting", "version", appVersion(), "log", logPath)

	a := ui.NewApp()
	settings, err := ui.LoadSettings(a.Preferences(), ui.KeyringSecrets{})
	if err != nil {
		// The window still opens; Settings shows the problem.
		log.Warn("loading settings", "error", err)
	}
	// One device stage for every call: the echo canceller hears what the
	// speaker plays, and Settings changes devices and processing live.
	voice := audio.NewVoiceIO(audio.VoiceIOOptions{
		Processing: settings.Processing(), Microphone: settings.AudioIn, Speaker: settings.AudioOut, Logger: log,
		OnNotice: func(n audio.DeviceNotice) {
			log.Warn("audio device lost, using the system default", "kind", n.Kind.String(), "lost", n.Lost, "error", n.Err)
		},
	})
	defer voice.Close()
	opts := callengine.Options{
		Listen:           []string{f.listen},
		Account:          settings.Account(),
		DoNotDisturb:     settings.DoNotDisturb,
		AutoAnswer:       settings.AutoAnswer,
		HonourAnswerMode: settings.HonourAnswerMode,
		NewAudioIn:       deviceOr(voice.OpenInput, func() (audio.Source, error) { return audio.Silence(), nil }, log),
		NewAudioOut:      deviceOr(voice.OpenOutput, func() (audio.Sink, error) { return audio.Null(), nil }, log),
		ShareFPS:         settings.ShareFPS,
		ShareMaxKbps:     settings.ShareMaxKbps,
		Logger:           log,

		MediaTimeout:      f.mediaTimeout,
		SessionExpires:    f.sessionExpires,
		KeepAliveInterval: f.keepAlive,
	}
	accountURI := settings.AccountURI
	var accountProblem string
	phone, err := newPhone(opts, f.listen, log)
	if errors.Is(err, callengine.ErrBadAccount) {
		// A bad saved account must not lock the user out: start in direct
		// mode and say what is wrong, with the way to fix it.
		log.Warn("account not usable, starting in direct mode", "error", err)
		accountProblem = ui.ExplainAccountError(err)
		opts.Account, accountURI = nil, ""
		phone, err = newPhone(opts, f.listen, log)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "parlo:", err)
		return 1
	}

	var (
		store   *history.Store
		changed <-chan struct{}
		recWG   sync.WaitGroup
	)
	if path, perr := history.DefaultPath(); perr != nil {
		log.Warn("no call history", "error", perr)
	} else if store, err = history.Open(path); err != nil {
		log.Warn("no call history", "error", err)
		store = nil
	} else {
		if n := store.Recovered(); n > 0 {
			log.Info("calls open at the last exit marked interrupted", "count", n)
		}
		rec := history.NewRecorder(store, log)
		changed = rec.Changed()
		sub := phone.Subscribe()
		recWG.Add(1)
		go func() { // owner: runGUI; ends when phone.Close closes sub
			defer recWG.Done()
			rec.Run(context.Background(), sub.C())
		}()
	}

	err = ui.Run(ui.Config{
		Phone: phone, App: a, AccountURI: accountURI, Logger: log,
		History: store, HistoryChanged: changed, LogPath: logPath,
		Version: appVersion(), AccountProblem: accountProblem,
		Devices:     ui.SystemDevices{VoiceIO: voice},
		SoundOutput: ringOutput(func() string { s, _ := ui.LoadSettings(a.Preferences(), nil); return s.AudioRing }),
		Links:       links,
	})
	phone.Close() // hangs up: the recorder writes those ends, then its channel closes
	recWG.Wait()
	store.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "parlo:", err)
		return 1
	}
	return 0
}

// newPhone makes the phone; when the SIP port is busy (another phone), any
// free port will do in direct mode, and a registrar learns it from Contact.
func newPhone(opts callengine.Options, listen string, log *slog.Logger) (*callengine.Phone, error) {
	phone, err := callengine.NewPhone(opts)
	if errors.Is(err, callengine.ErrBadListenAddr) {
		l, perr := callengine.ParseListenAddr(listen)
		if perr == nil && l.Port != 0 {
			log.Warn("SIP port busy, using a free one", "listen", listen, "error", err)
			l.Port = 0
			opts.Listen = []string{l.String()}
			phone, err = callengine.NewPhone(opts)
		}
	}
	return phone, err
}

// deviceOr opens the real device for each call, and falls back (once
// logged) to the given stand-in on a machine without one, so a call still
// connects and the user sees why there is no sound.
func deviceOr[T any](open func() (T, error), fallback func() (T, error), log *slog.Logger) func() (T, error) {
	return func() (T, error) {
		d, err := open()
		if err == nil {
			return d, nil
		}
		log.Warn("audio device unavailable, call continues without it", "error", err)
		return fallback()
	}
}

// ringOutput opens the ringing device as saved now (Settings may change
// it): the chosen one, else the default.
func ringOutput(chosen func() string) func() (audio.Sink, error) {
	return func() (audio.Sink, error) {
		id := chosen()
		if id == "" {
			return audio.OpenDefaultOutput()
		}
		s, err := audio.OpenOutputDevice(id)
		if err != nil {
			return audio.OpenDefaultOutput()
		}
		return s, nil
	}
}
