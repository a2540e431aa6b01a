package headless

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/parlo-voip/parlo/callengine"
	"github.com/parlo-voip/parlo/callengine/audio"
	"github.com/parlo-voip/parlo/internal/directory"
)

// Shutdown bounds: each step waits at most this long, so a dead peer cannot
// keep the process alive.
const (
	shutdownHangupTimeout = 5 * time.Second
	shutdownEventTimeout  = 2 * time.Second
)

// Run starts a phone as cfg says and serves the JSON-lines protocol on in and
// out until quit, the end of in, a write error on out, or ctx (a signal) is
// done. Every way out hangs up all calls and unregisters before Run returns.
// It returns an error only when the phone cannot start.
//
// A read blocked on in cannot be interrupted in general; when Run returns
// for another reason than the end of in, its reader goroutine ends at the
// next line or at the end of in (the process exits first in production).
func Run(ctx context.Context, cfg Config, in io.Reader, out io.Writer, log *slog.Logger) error {
	if log == nil {
		log = slog.Default()
	}
	phoneLog := log // the engine adds its own component attribute
	log = log.With("component", "headless")
	var voice *audio.VoiceIO
	if cfg.AudioIn.Kind == AudioDevice || cfg.AudioOut.Kind == AudioDevice {
		// One device stage for microphone and speaker, so the echo
		// canceller hears what the speaker plays.
		voice = audio.NewVoiceIO(audio.VoiceIOOptions{Processing: audio.DefaultProcessing(), Logger: phoneLog})
		defer voice.Close()
	}
	if err := probeDevices(cfg, voice); err != nil {
		return err
	}
	dirCfg := cfg.Directory
	dirCfg.Logger = log
	dir, err := directory.Open(dirCfg)
	if err != nil {
		return err
	}
	phone, err := callengine.NewPhone(callengine.Options{
		Listen:         cfg.Listen,
		Account:        cfg.Account,
		User:           cfg.User,
		AutoAnswer:     cfg.AutoAnswer,
		TransferPolicy: cfg.TransferPolicy,
		NewAudioIn:     cfg.AudioIn.NewSource(voice),
		NewAudioOut:    cfg.AudioOut.NewSink(voice),
		Display:        cfg.Display,
		ShareFPS:       cfg.ShareFPS,
		RecordingsDir:  cfg.RecordingsDir,
		Logger:         phoneLog,
		RingTimeout:    cfg.RingTimeout,
		MaxRinging:     cfg.MaxRinging,

		MediaTimeout:      cfg.MediaTimeout,
		SessionExpires:    cfg.SessionExpires,
		KeepAliveInterval: cfg.KeepAlive,
	})
	if err != nil {
		return err
	}
	s := newServer(enginePhone{phone}, phone.Subscribe(), cfg.Account != nil, out, log)
	s.d.addDirectoryCommands(dir)
	listen := make([]string, 0, len(phone.Listeners()))
	for _, l := range phone.Listeners() {
		listen = append(listen, l.String())
	}
	// ready is the first line, before any other event, so a driver learns
	// the bound ports (--listen …:0) before anything else happens.
	s.out.event("ready", nil, map[string]any{"listen": listen, "contact": phone.ContactURI()})
	attrs := []any{"listen", listen, "contact", phone.ContactURI(), "audioIn", cfg.AudioIn.String(), "audioOut", cfg.AudioOut.String(), "autoAnswer", cfg.AutoAnswer, "transferPolicy", cfg.TransferPolicy, "display", cfg.Display, "shareFPS", cfg.ShareFPS}
	if a := cfg.Account; a != nil {
		// Never the password.
		attrs = append(attrs, "account", a.URI, "registrar", a.Registrar)
	}
	log.Info("ready", attrs...)
	return s.serve(ctx, enginePhone{phone}, in)
}

// probeDevices opens and closes the sound devices once when --audio-in or
// --audio-out asks for them, so a machine without a sound card fails at
// start with the flag's name rather than at the first call.
func probeDevices(cfg Config, voice *audio.VoiceIO) error {
	if cfg.AudioIn.Kind == AudioDevice {
		src, err := cfg.AudioIn.NewSource(voice)()
		if err != nil {
			return fmt.Errorf("--audio-in device: %w", err)
		}
		_ = src.Close()
	}
	if cfg.AudioOut.Kind == AudioDevice {
		sink, err := cfg.AudioOut.NewSink(voice)()
		if err != nil {
			return fmt.Errorf("--audio-out device: %w", err)
		}
		_ = sink.Close()
	}
	return nil
}

// closablePhone is the whole of what the server needs of the phone.
type closablePhone interface {
	phoneAPI
	Close() error
}

// server is one headless session: the dispatcher, the event forwarder and
// the shutdown sequence. It owns the command goroutines (through the
// dispatcher), the forwarder and the registration goroutine.
type server struct {
	log        *slog.Logger
	out        *lineWriter
	fwd        *eventForwarder
	d          *dispatcher
	hasAccount bool
	cancel     context.CancelFunc
	bg         sync.WaitGroup // start-up registration
}

func newServer(p phoneAPI, sub *callengine.Subscription, hasAccount bool, out io.Writer, log *slog.Logger) *server {
	lw := newLineWriter(out)
	ctx, cancel := context.WithCancel(context.Background())
	return &server{
		log:        log,
		out:        lw,
		fwd:        newEventForwarder(sub, lw),
		d:          newDispatcher(ctx, p, hasAccount, lw),
		hasAccount: hasAccount,
		cancel:     cancel,
	}
}

type lineOrErr struct {
	line []byte
	err  error
}

func (s *server) serve(ctx context.Context, phone closablePhone, in io.Reader) error {
	go s.fwd.run()
	if s.hasAccount {
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			s.registerAtStart(phone)
		}()
	}

	lines := make(chan lineOrErr)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		lr := newLineReader(in)
		for {
			line, err := lr.next()
			select {
			case lines <- lineOrErr{line, err}:
			case <-stop:
				return
			}
			if err != nil && !errors.Is(err, ErrLineTooLong) {
				return
			}
		}
	}()

	var quit *command
loop:
	for {
		select {
		case <-ctx.Done():
			s.log.Info("signal: shutting down")
			break loop
		case <-s.out.failed:
			s.log.Warn("stdout closed: shutting down", "error", s.out.Err())
			break loop
		case l := <-lines:
			switch {
			case l.err == nil:
				if quit = s.d.handleLine(l.line); quit != nil {
					break loop
				}
			case errors.Is(l.err, ErrLineTooLong):
				s.d.out.reply(nil, nil, l.err)
			case errors.Is(l.err, io.EOF):
				s.log.Info("end of input: shutting down")
				break loop
			default:
				s.log.Warn("reading stdin failed: shutting down", "error", l.err)
				break loop
			}
		}
	}
	s.shutdown(phone)
	if quit != nil {
		s.d.replyQuit(quit)
	}
	return nil
}

// registerAtStart registers the --account. The engine reports the outcome
// as onRegistered or onRegistrationFailed; an error it did not report as an
// event (the phone closing meanwhile, say) is reported here the same way.
func (s *server) registerAtStart(p phoneAPI) {
	ctx, cancel := context.WithTimeout(s.d.ctx, commandTimeout)
	defer cancel()
	err := p.Register(ctx)
	if err != nil && !errors.Is(err, callengine.ErrRegistration) {
		s.out.event(callengine.EventRegistrationFailed, nil, map[string]any{"error": err.Error()})
	}
}

// shutdown hangs up every call and unregisters, waiting until the driver
// has been sent onCallEnded and onUnRegistered, then closes the phone and
// lets in-flight commands reply. Phone.Close would hang up and unregister
// too, but it closes the subscriptions right after, and events still queued
// then would be lost.
func (s *server) shutdown(phone closablePhone) {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownHangupTimeout)
	defer cancel()
	var ids []string
	var wg sync.WaitGroup
	for _, c := range phone.Calls() {
		ids = append(ids, c.SipCallID)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := phone.Hangup(ctx, c.SipCallID); err != nil {
				s.log.Warn("hangup at shutdown failed", "call", c.SipCallID, "error", err)
			}
		}()
	}
	wg.Wait()
	if !s.fwd.waitEnded(ids, shutdownEventTimeout) {
		s.log.Warn("not every onCallEnded was forwarded before shutdown", "calls", ids)
	}
	if s.hasAccount {
		err := phone.Unregister(ctx)
		switch {
		case errors.Is(err, callengine.ErrNotRegistered):
			// Never registered, or unregistered by command: nothing to do.
		case err != nil:
			s.log.Warn("unregister at shutdown failed", "error", err)
		case !s.fwd.waitUnregistered(shutdownEventTimeout):
			s.log.Warn("onUnRegistered was not forwarded before shutdown")
		}
	}
	_ = phone.Close()
	s.cancel()
	s.d.wait()
	s.bg.Wait()
	<-s.fwd.done
}
