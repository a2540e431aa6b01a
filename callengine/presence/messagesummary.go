package presence

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// Counts are the messages of one class (RFC 3842 §5.2: new/old, and the
// urgent ones among them in parentheses).
type Counts struct {
	New, Old             int
	UrgentNew, UrgentOld int
}

// MessageSummary is one application/simple-message-summary body.
type MessageSummary struct {
	// Waiting is the Messages-Waiting line: the lamp.
	Waiting bool
	// Account is the Message-Account URI, if given.
	Account string
	// Voice counts voice-message; Other sums the other classes (fax,
	// text, multimedia, pager; RFC 3458).
	Voice, Other Counts
}

// maxCount bounds a message count: a lamp shows a few digits, and a
// hostile number must not overflow a sum.
const maxCount = 1_000_000

// ParseMessageSummary reads a message-summary body (RFC 3842 §5.2).
// Lines it does not know (extension headers, the optional message
// headers after a blank line) are skipped.
func ParseMessageSummary(body []byte) (MessageSummary, error) {
	var ms MessageSummary
	if len(body) > MaxBody {
		return ms, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(body), MaxBody)
	}
	sawWaiting := false
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 4096), MaxBody)
	lines := 0
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			if sawWaiting {
				break // §5.2: message headers of the optional body follow
			}
			continue
		}
		if lines++; lines > maxItems {
			return ms, fmt.Errorf("%w: more than %d lines", ErrMalformed, maxItems)
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		name = strings.ToLower(strings.TrimSpace(name))
		value = strings.TrimSpace(value)
		switch name {
		case "messages-waiting":
			switch strings.ToLower(value) {
			case "yes":
				ms.Waiting = true
			case "no":
				ms.Waiting = false
			default:
				return ms, fmt.Errorf("%w: Messages-Waiting %q", ErrMalformed, clean(value))
			}
			sawWaiting = true
		case "message-account":
			ms.Account = clean(value)
		case "voice-message", "fax-message", "pager-message", "multimedia-message", "text-message":
			c, err := parseCounts(value)
			if err != nil {
				return ms, err
			}
			if name == "voice-message" {
				ms.Voice = c
			} else {
				ms.Other = ms.Other.add(c)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return ms, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if !sawWaiting {
		return ms, fmt.Errorf("%w: no Messages-Waiting line", ErrMalformed)
	}
	return ms, nil
}

func (c Counts) add(o Counts) Counts {
	capped := func(a, b int) int { return min(a+b, maxCount) }
	return Counts{capped(c.New, o.New), capped(c.Old, o.Old), capped(c.UrgentNew, o.UrgentNew), capped(c.UrgentOld, o.UrgentOld)}
}

// parseCounts reads "2/8" or "2/8 (0/2)" (RFC 3842 §5.2 msg-summary-line).
func parseCounts(v string) (Counts, error) {
	var c Counts
	main, urgent, hasUrgent := strings.Cut(v, "(")
	var err error
	if c.New, c.Old, err = pair(main); err != nil {
		return c, err
	}
	if hasUrgent {
		u, ok := strings.CutSuffix(strings.TrimSpace(urgent), ")")
		if !ok {
			return c, fmt.Errorf("%w: urgent counts %q", ErrMalformed, clean(v))
		}
		if c.UrgentNew, c.UrgentOld, err = pair(u); err != nil {
			return c, err
		}
	}
	return c, nil
}

func pair(s string) (int, int, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return 0, 0, fmt.Errorf("%w: counts %q", ErrMalformed, clean(s))
	}
	n, err1 := strconv.Atoi(strings.TrimSpace(a))
	o, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || n < 0 || o < 0 || n > maxCount || o > maxCount {
		return 0, 0, fmt.Errorf("%w: counts %q", ErrMalformed, clean(s))
	}
	return n, o, nil
}

// String writes the body back (for a test publisher, and tests).
func (ms MessageSummary) String() string {
	w := "no"
	if ms.Waiting {
		w = "yes"
	}
	s := "Messages-Waiting: " + w + "\r\n"
	if ms.Account != "" {
		s += "Message-Account: " + ms.Account + "\r\n"
	}
	v := ms.Voice
	s += fmt.Sprintf("Voice-Message: %d/%d (%d/%d)\r\n", v.New, v.Old, v.UrgentNew, v.UrgentOld)
	return s
}
