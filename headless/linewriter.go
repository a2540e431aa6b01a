package headless

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/parlo-voip/parlo/callengine"
)

// lineWriter writes one JSON object per line. Replies come from the reader
// loop and from command goroutines, events from the forwarder: the mutex
// keeps each line whole, and every line is written with one Write (and
// flushed, if the writer buffers) so a driver sees it at once.
type lineWriter struct {
	mu     sync.Mutex
	w      io.Writer
	err    error
	failed chan struct{} // closed at the first write error (driver gone)
}

func newLineWriter(w io.Writer) *lineWriter {
	return &lineWriter{w: w, failed: make(chan struct{})}
}

// reply is the answer to one command.
type reply struct {
	ID     any    `json:"id,omitempty"`
	OK     bool   `json:"ok"`
	Result any    `json:"result,omitempty"`
	Error  string `json:"error,omitempty"`
}

// reply writes {"id":…,"ok":true,"result":…} or {"id":…,"ok":false,"error":…}.
func (l *lineWriter) reply(id any, result any, err error) {
	r := reply{ID: id, OK: err == nil}
	if err != nil {
		r.Error = err.Error()
	} else {
		r.Result = result
		if r.Result == nil {
			r.Result = map[string]any{}
		}
	}
	b, merr := json.Marshal(r)
	if merr != nil {
		b, _ = json.Marshal(reply{ID: id, Error: "internal: cannot encode the result: " + merr.Error()})
	}
	l.writeLine(b)
}

// event writes {"event":name, "session":…, payload fields…}, with "event"
// first and the rest in a stable order, for people reading transcripts.
func (l *lineWriter) event(name string, session *callengine.CallSession, p any) {
	payload := payloadFields(p)
	var buf bytes.Buffer
	buf.WriteString(`{"event":`)
	writeValue(&buf, name)
	if session != nil {
		buf.WriteString(`,"session":`)
		writeValue(&buf, session)
	}
	keys := make([]string, 0, len(payload))
	for k := range payload {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		buf.WriteByte(',')
		writeValue(&buf, payloadKey(k))
		buf.WriteByte(':')
		v := payload[k]
		if e, ok := v.(error); ok {
			v = e.Error()
		}
		writeValue(&buf, v)
	}
	buf.WriteByte('}')
	l.writeLine(buf.Bytes())
}

// payloadFields returns an event payload's fields by their JSON names. A
// typed payload (callengine's …Payload structs) goes through its JSON form,
// whose struct tags are the SDK's field names, so the line reads exactly as
// the same fields in a map would; a map is used as it is.
func payloadFields(p any) map[string]any {
	switch p := p.(type) {
	case nil:
		return nil
	case map[string]any:
		return p
	}
	b, err := json.Marshal(p)
	if err != nil {
		return map[string]any{"payloadError": err.Error()}
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return map[string]any{"payload": json.RawMessage(b)}
	}
	fields := make(map[string]any, len(raw))
	for k, v := range raw {
		fields[k] = v
	}
	return fields
}

// payloadKey renames a payload field that clashes with the keys of the line
// itself, so that, for instance, the track "id" of onTrack is never taken
// for a reply's id: "id" becomes "payloadId".
func payloadKey(k string) string {
	switch k {
	case "event", "session", "id", "ok", "result":
		return "payload" + strings.ToUpper(k[:1]) + k[1:]
	}
	return k
}

// writeValue appends v as JSON, or as a JSON string of its Go formatting if
// it cannot be encoded: an event must never be lost to an odd payload.
func writeValue(buf *bytes.Buffer, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(fmt.Sprint(v))
	}
	buf.Write(b)
}

func (l *lineWriter) writeLine(b []byte) {
	line := make([]byte, 0, len(b)+1)
	line = append(append(line, b...), '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return
	}
	_, err := l.w.Write(line)
	if f, ok := l.w.(interface{ Flush() error }); ok && err == nil {
		err = f.Flush()
	}
	if err != nil {
		l.err = err
		close(l.failed)
	}
}

// Err is the first write error, if any.
func (l *lineWriter) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}
