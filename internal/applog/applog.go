// Package applog sets up Parlo's logs: structured (slog text) records in a
// size-rotated file under the user's state directory, and with debug on, a
// trace of every SIP message with credentials redacted.
package applog

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"gopkg.in/natefinch/lumberjack.v2"
)

// Options configure Open.
type Options struct {
	// Path of the log file (default DefaultPath()).
	Path string
	// Debug logs at debug level and traces SIP messages.
	Debug bool
	// MaxSizeMB is the size at which the file rotates (default 5).
	MaxSizeMB int
	// MaxBackups is how many rotated files are kept (default 3).
	MaxBackups int
	// Also receives every record too (e.g. os.Stderr); nil: none.
	Also io.Writer
}

// Log is an open log.
type Log struct {
	*slog.Logger
	// Path is where the file is (Settings shows it).
	Path string
	file *lumberjack.Logger
}

// DefaultPath is parlo.log in Parlo's directory of the user's state dir
// ($XDG_STATE_HOME, default ~/.local/state; logs are state, not data, in
// the XDG base directory spec).
func DefaultPath() (string, error) {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("applog: no state directory: %w", err)
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "parlo", "parlo.log"), nil
}

// Open opens (creating its directory) the rotating log file. Every record
// passes through the redactor first, so no handler sees a password.
func Open(opts Options) (*Log, error) {
	if opts.Path == "" {
		p, err := DefaultPath()
		if err != nil {
			return nil, err
		}
		opts.Path = p
	}
	if opts.MaxSizeMB == 0 {
		opts.MaxSizeMB = 5
	}
	if opts.MaxBackups == 0 {
		opts.MaxBackups = 3
	}
	if err := os.MkdirAll(filepath.Dir(opts.Path), 0o700); err != nil {
		return nil, fmt.Errorf("applog: %w", err)
	}
	f := &lumberjack.Logger{Filename: opts.Path, MaxSize: opts.MaxSizeMB, MaxBackups: opts.MaxBackups}
	var w io.Writer = f
	if opts.Also != nil {
		w = io.MultiWriter(f, opts.Also)
	}
	level := slog.LevelInfo
	if opts.Debug {
		level = slog.LevelDebug
	}
	h := NewRedactingHandler(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
	return &Log{Logger: slog.New(h), Path: opts.Path, file: f}, nil
}

// Close closes the file. Idempotent.
func (l *Log) Close() error { return l.file.Close() }
