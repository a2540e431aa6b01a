package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/parlo-voip/parlo/callengine"
	"github.com/parlo-voip/parlo/callengine/audio"
	"github.com/parlo-voip/parlo/ui"
)

// guiFlags are the few start-up choices of the desktop app; everything else
// is in Settings.
type guiFlags struct {
	listen string
	debug  bool
}

func parseGUIFlags(args []string, stderr io.Writer) (guiFlags, error) {
	fs := flag.NewFlagSet("parlo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f guiFlags
	fs.StringVar(&f.listen, "listen", "udp:0.0.0.0:5060", "local SIP address (transport:ip:port); a busy port falls back to a free one")
	fs.BoolVar(&f.debug, "debug", false, "debug logging")
	err := fs.Parse(args)
	return f, err
}

// runGUI starts the desktop phone: settings → phone → window.
func runGUI(args []string) int {
	f, err := parseGUIFlags(args, os.Stderr)
	if err != nil {
		return 2
	}
	level := slog.LevelInfo
	if f.debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log)

	a := ui.NewApp()
	settings, err := ui.LoadSettings(a.Preferences(), ui.KeyringSecrets{})
	if err != nil {
		// The window still opens in direct mode; Settings shows the problem.
		log.Warn("loading settings", "error", err)
	}
	opts := callengine.Options{
		Listen:      []string{f.listen},
		Account:     settings.Account(),
		NewAudioIn:  deviceOr(audio.OpenDefaultInput, func() (audio.Source, error) { return audio.Silence(), nil }, log),
		NewAudioOut: deviceOr(audio.OpenDefaultOutput, func() (audio.Sink, error) { return audio.Null(), nil }, log),
		ShareFPS:    settings.ShareFPS,
		Logger:      log,
	}
	phone, err := callengine.NewPhone(opts)
	if errors.Is(err, callengine.ErrBadListenAddr) {
		// Port 5060 is often taken (another phone); any free port will do in
		// direct mode, and a registrar learns it from our Contact.
		l, perr := callengine.ParseListenAddr(f.listen)
		if perr == nil && l.Port != 0 {
			log.Warn("SIP port busy, using a free one", "listen", f.listen, "error", err)
			l.Port = 0
			opts.Listen = []string{l.String()}
			phone, err = callengine.NewPhone(opts)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "parlo:", err)
		return 1
	}
	defer phone.Close()
	if err := ui.Run(ui.Config{Phone: phone, App: a, AccountURI: settings.AccountURI, Logger: log}); err != nil {
		fmt.Fprintln(os.Stderr, "parlo:", err)
		return 1
	}
	return 0
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
