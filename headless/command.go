package headless

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/parlo-voip/parlo/callengine"
)

// Fields a command may carry besides "id" and "cmd".
const (
	fieldTo      = "to"      // call: the target URI or number
	fieldCall    = "call"    // the sipCallId of the call a command acts on
	fieldCode    = "code"    // reject: the SIP status code (default 486)
	fieldMonitor = "monitor" // share: the monitor's index, as listed by monitors
	fieldPath    = "path"    // snapshot: where the PNG is written

	fieldTones       = "tones"       // dtmf: the keypad tones to send
	fieldConsult     = "consult"     // atxfer-complete/-cancel: the consultation call's sipCallId; merge: the other call
	fieldFormat      = "format"      // record: "ogg" (default) or "wav"
	fieldContentType = "contentType" // message: the body's MIME type (default text/plain)
	fieldBody        = "body"        // message: the body, as text
	fieldText        = "text"        // chat: the chat text
	fieldContent     = "content"     // signal: any JSON value
	fieldIntervalMs  = "intervalMs"  // monitor: sample period in ms, 0 stops

	// account: the new account, as the --account flags give it ("" for
	// direct mode); the password comes from passwordFile or $PARLO_PASSWORD,
	// never from the line.
	fieldAccount      = "account"
	fieldRegistrar    = "registrar"
	fieldUsername     = "username"
	fieldTransport    = "transport"
	fieldCAFile       = "caFile"
	fieldPasswordFile = "passwordFile"
)

// maxMonitorIntervalMs bounds monitor's intervalMs (an hour): far beyond any
// useful period, and far from overflowing a time.Duration.
const maxMonitorIntervalMs = 3_600_000

// command is one parsed stdin line.
type command struct {
	// ID is the driver's "id", echoed in the reply: a string or a
	// json.Number, nil when absent or unreadable.
	ID   any
	Name string
	To   string
	Call string
	Code int // 0 when not given
	// Monitor is share's monitor index (≥ 0).
	Monitor int
	// Path is snapshot's output file, relative to the working directory
	// of the process unless absolute.
	Path string
	// Tones are dtmf's keypad tones, already checked to be 0-9 * # A-D.
	Tones string
	// Consult is the consultation call of an attended transfer.
	Consult string
	// ContentType and Body are message's; Body may be empty.
	ContentType string
	Body        string
	// Text is chat's text.
	Text string
	// Content is signal's JSON value, passed on verbatim.
	Content json.RawMessage
	// IntervalMs is monitor's period; 0 (or absent) stops monitoring.
	IntervalMs int
	// Account is account's new account, as its flags would give it.
	Account rawAccountFlags
	// Format is record's file format.
	Format callengine.RecordingFormat
	// Lamp holds the lamp commands' fields (lampcommands.go).
	Lamp lampFields
	// Directory commands' fields (directorycmd.go).
	Query, ContactName, Number, ContactID string
}

// parseCommand parses one line against the command table. On error the
// returned command still carries the id when it could be read, so the error
// reply can name it.
func parseCommand(line []byte, table map[string]commandSpec) (command, commandSpec, error) {
	var c command
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return c, commandSpec{}, fmt.Errorf("%w: empty line (one JSON object per line expected)", ErrBadJSON)
	}
	// A map keeps key matching exact (encoding/json matches struct fields
	// case-insensitively, which would let {"CMD":…} through).
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(line, &obj); err != nil {
		return c, commandSpec{}, fmt.Errorf("%w: %w", ErrBadJSON, err)
	}
	if obj == nil {
		return c, commandSpec{}, fmt.Errorf("%w: a JSON object is expected, got null", ErrBadJSON)
	}
	if raw, ok := obj["id"]; ok {
		id, err := parseID(raw)
		if err != nil {
			return c, commandSpec{}, err
		}
		c.ID = id
	}
	raw, ok := obj["cmd"]
	if !ok {
		return c, commandSpec{}, fmt.Errorf("%w %q", ErrMissingField, "cmd")
	}
	if err := json.Unmarshal(raw, &c.Name); err != nil {
		return c, commandSpec{}, fmt.Errorf("%w: \"cmd\" must be a string", ErrBadField)
	}
	spec, ok := table[c.Name]
	if !ok {
		return c, commandSpec{}, fmt.Errorf("%w %q (known: %s)", ErrUnknownCommand, c.Name, strings.Join(commandNames(table), ", "))
	}
	for _, f := range spec.required {
		if _, ok := obj[f]; !ok {
			return c, spec, fmt.Errorf("%w %q for %s", ErrMissingField, f, c.Name)
		}
	}
	for _, f := range append(append([]string(nil), spec.required...), spec.optional...) {
		raw, ok := obj[f]
		if !ok {
			continue
		}
		if err := c.setField(f, raw); err != nil {
			return c, spec, err
		}
	}
	return c, spec, nil
}

// parseID accepts a string or a number, the two things a driver can match
// a reply by.
func parseID(raw json.RawMessage) (any, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil && n != "" {
		return n, nil
	}
	return nil, fmt.Errorf("%w: \"id\" must be a string or a number", ErrBadField)
}

func (c *command) setField(name string, raw json.RawMessage) error {
	switch name {
	case fieldAccount, fieldRegistrar, fieldUsername, fieldTransport, fieldCAFile, fieldPasswordFile:
		// Empty is allowed ("account": "" is direct mode); buildAccount
		// checks the rest as it checks the flags.
		var s string
		if err := json.Unmarshal(raw, &s); err != nil || string(bytes.TrimSpace(raw)) == "null" {
			return fmt.Errorf("%w: %q must be a string", ErrBadField, name)
		}
		if strings.ContainsAny(s, "\r\n\x00") {
			return fmt.Errorf("%w: %q holds a line break or NUL", ErrBadField, name)
		}
		s = strings.TrimSpace(s)
		switch name {
		case fieldAccount:
			c.Account.account = s
		case fieldRegistrar:
			c.Account.registrar = s
		case fieldUsername:
			c.Account.username = s
		case fieldTransport:
			c.Account.transport = s
		case fieldCAFile:
			c.Account.caFile = s
		default:
			c.Account.passwordFile = s
		}
	case fieldTo, fieldCall, fieldPath, fieldConsult, fieldText, fieldContentType:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return fmt.Errorf("%w: %q must be a string", ErrBadField, name)
		}
		if strings.TrimSpace(s) == "" {
			return fmt.Errorf("%w: %q is empty", ErrBadField, name)
		}
		switch name {
		case fieldTo:
			c.To = s
		case fieldCall:
			c.Call = s
		case fieldConsult:
			c.Consult = s
		case fieldText:
			c.Text = s
		case fieldContentType:
			// A header value: a line break would end the header and let
			// the driver inject others (RFC 3261 §7.3.1).
			if strings.ContainsAny(s, "\r\n\x00") || !strings.Contains(s, "/") {
				return fmt.Errorf("%w: %q must be a MIME type like text/plain", ErrBadField, name)
			}
			c.ContentType = strings.TrimSpace(s)
		default:
			if strings.ContainsRune(s, 0) {
				return fmt.Errorf("%w: %q holds a NUL byte", ErrBadField, name)
			}
			c.Path = s
		}
	case fieldFormat:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return fmt.Errorf("%w: %q must be a string", ErrBadField, name)
		}
		f, err := callengine.ParseRecordingFormat(s)
		if err != nil {
			return fmt.Errorf("%w: %q must be \"ogg\" or \"wav\"", ErrBadField, name)
		}
		c.Format = f
	case fieldTones:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return fmt.Errorf("%w: %q must be a string", ErrBadField, name)
		}
		if s == "" {
			return fmt.Errorf("%w: %q is empty", ErrBadField, name)
		}
		for _, r := range s {
			if !strings.ContainsRune("0123456789*#ABCDabcd", r) {
				return fmt.Errorf("%w: %q holds %q, not a DTMF tone (0-9 * # A-D)", ErrBadField, name, r)
			}
		}
		c.Tones = strings.ToUpper(s)
	case fieldBody:
		// Any string, empty included: an empty MESSAGE is legal (RFC 3428 §4).
		if err := json.Unmarshal(raw, &c.Body); err != nil || string(bytes.TrimSpace(raw)) == "null" {
			return fmt.Errorf("%w: %q must be a string", ErrBadField, name)
		}
	case fieldContent:
		// Any JSON value; the line already parsed, so raw is valid JSON.
		c.Content = append(json.RawMessage(nil), bytes.TrimSpace(raw)...)
	case fieldQuery, fieldName, fieldNumber, fieldContactID:
		return c.setDirectoryField(name, raw)
	case fieldIntervalMs:
		var n int
		if err := json.Unmarshal(raw, &n); err != nil || n < 0 || n > maxMonitorIntervalMs || string(bytes.TrimSpace(raw)) == "null" {
			return fmt.Errorf("%w: %q must be an integer number of milliseconds, 0 to %d", ErrBadField, name, maxMonitorIntervalMs)
		}
		c.IntervalMs = n
	case fieldMonitor:
		// An index from the monitors reply: a JSON integer, not "1" or 1.5.
		// null would unmarshal to 0 and share monitor 0 unasked.
		var n int
		if err := json.Unmarshal(raw, &n); err != nil || n < 0 || string(bytes.TrimSpace(raw)) == "null" {
			return fmt.Errorf("%w: %q must be a monitor index, an integer ≥ 0 (see the monitors command)", ErrBadField, name)
		}
		c.Monitor = n
	case fieldCode:
		var n int
		if err := json.Unmarshal(raw, &n); err != nil {
			return fmt.Errorf("%w: %q must be an integer SIP status code", ErrBadField, name)
		}
		// A rejection is a final non-2xx answer: 4xx, 5xx or 6xx
		// (RFC 3261 §21.4–21.6).
		if n < 400 || n > 699 {
			return fmt.Errorf("%w: %q %d is not a 4xx, 5xx or 6xx status", ErrBadField, name, n)
		}
		c.Code = n
	default:
		return c.setLampField(name, raw)
	}
	return nil
}
