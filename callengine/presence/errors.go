package presence

import "errors"

// Sentinel errors; the parsers wrap them with detail.
var (
	// ErrTooLarge: a body larger than MaxBody.
	ErrTooLarge = errors.New("presence: body too large")
	// ErrMalformed: a body that is not the package's document.
	ErrMalformed = errors.New("presence: malformed body")
)

// MaxBody bounds every body the parsers read. A NOTIFY's body is already
// bounded by the phone's request limit; this keeps the package safe alone.
const MaxBody = 64 << 10

// maxItems bounds the dialogs, tuples or message classes one document may
// list: a BLF lamp needs a handful, a hostile notifier could send thousands.
const maxItems = 256
