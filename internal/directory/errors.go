package directory

import "errors"

// Sentinel errors, wrapped with %w by the functions that return them.
var (
	// ErrNotFound: no contact has that number (Lookup) or ID (Local).
	ErrNotFound = errors.New("directory: not found")
	// ErrUnreachable: a server did not answer in time or refused the
	// connection. The message names the source.
	ErrUnreachable = errors.New("directory: server unreachable")
	// ErrServer: a server answered with an error or with something that
	// is not a valid answer.
	ErrServer = errors.New("directory: server error")
	// ErrConfig: a source's settings are incomplete or invalid.
	ErrConfig = errors.New("directory: invalid settings")
	// ErrBadRule: a number rewriting rule does not parse.
	ErrBadRule = errors.New("directory: invalid rewriting rule")
	// ErrTooLarge: a server's answer is larger than Parlo accepts.
	ErrTooLarge = errors.New("directory: server answer too large")
	// ErrInvalidContact: a contact has no name and no number.
	ErrInvalidContact = errors.New("directory: a contact needs a name or a number")
)
