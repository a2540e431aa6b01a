package headless

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/parlo-voip/parlo/internal/applog"
)

// newLogger is the headless log: slog JSON on w, through the same redactor
// as the desktop app's log file, so no password, Authorization header or
// SDES key reaches it from our code or a library.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(applog.NewRedactingHandler(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})))
}

// Exit codes of `parlo headless`.
const (
	ExitOK    = 0 // quit, end of input or SIGINT/SIGTERM, after a clean shutdown
	ExitError = 1 // the phone could not start (port in use, no sound device…)
	ExitUsage = 2 // a bad flag or flag value
)

// Main is `parlo headless`: it parses args (the arguments after
// "headless"), logs to stderr as slog JSON, serves the JSON-lines protocol
// on stdin and stdout, and returns the process exit code. SIGINT and SIGTERM
// shut down like quit; a second signal during shutdown kills the process.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cfg, err := ParseArgs(args, os.Getenv)
	switch {
	case errors.Is(err, flag.ErrHelp):
		Usage(stderr)
		return ExitOK
	case err != nil:
		fmt.Fprintf(stderr, "parlo headless: %v\n(run `parlo headless -h` for the flags)\n", err)
		return ExitUsage
	}
	log := newLogger(stderr, cfg.LogLevel)
	// The media layer logs through slog.Default: make it JSON on stderr too,
	// and never on stdout, which belongs to the protocol.
	slog.SetDefault(log)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// Restore the default handlers once the first signal (or the end of
		// Main) cancels ctx, so a second Ctrl-C is not swallowed.
		<-ctx.Done()
		stop()
	}()
	if err := Run(ctx, cfg, stdin, stdout, log); err != nil {
		log.Error("cannot start", "error", err)
		fmt.Fprintf(stderr, "parlo headless: %v\n", err)
		return ExitError
	}
	return ExitOK
}
