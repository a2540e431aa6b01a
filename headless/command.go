package headless

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Fields a command may carry besides "id" and "cmd".
const (
	fieldTo   = "to"   // call: the target URI or number
	fieldCall = "call" // the sipCallId of the call a command acts on
	fieldCode = "code" // reject: the SIP status code (default 486)
)

// command is one parsed stdin line.
type command struct {
	// ID is the driver's "id", echoed in the reply: a string or a
	// json.Number, nil when absent or unreadable.
	ID   any
	Name string
	To   string
	Call string
	Code int // 0 when not given
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
		return c, commandSpec{}, fmt.Errorf("%w: %v", ErrBadJSON, err)
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
	case fieldTo, fieldCall:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return fmt.Errorf("%w: %q must be a string", ErrBadField, name)
		}
		if strings.TrimSpace(s) == "" {
			return fmt.Errorf("%w: %q is empty", ErrBadField, name)
		}
		if name == fieldTo {
			c.To = s
		} else {
			c.Call = s
		}
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
	}
	return nil
}
