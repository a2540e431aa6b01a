package headless

import "errors"

// Sentinel errors of the headless front end. Returned errors wrap them with
// detail; the text of a wrapped error is what a driver reads in an error
// reply or what the user reads on stderr.
var (
	// ErrUsage means the command line is wrong: a bad flag value, an
	// unknown flag, a missing required flag. Main exits 2 for it.
	ErrUsage = errors.New("bad command line")
	// ErrBadJSON means a stdin line is not one JSON object.
	ErrBadJSON = errors.New("bad JSON")
	// ErrLineTooLong means a stdin line exceeded MaxLineBytes.
	ErrLineTooLong = errors.New("line too long")
	// ErrUnknownCommand means "cmd" names no command.
	ErrUnknownCommand = errors.New("unknown command")
	// ErrMissingField means a command lacks a field it needs.
	ErrMissingField = errors.New("missing field")
	// ErrBadField means a field has the wrong type or an invalid value.
	ErrBadField = errors.New("bad field")
	// ErrNoAccount means register/unregister was sent without --account.
	ErrNoAccount = errors.New("no account: start with --account to use register/unregister")
	// ErrShuttingDown means a command arrived after quit, end of input or
	// a signal started the shutdown.
	ErrShuttingDown = errors.New("shutting down")
)
