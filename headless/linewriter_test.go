package headless

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/parlo-voip/parlo/callengine"
)

func TestEventLine(t *testing.T) {
	var out syncBuffer
	w := newLineWriter(&out)
	s := &callengine.CallSession{SipCallID: "c1", Type: "CallSession"}
	w.event("onTrack", s, map[string]any{"id": "t1", "kind": "audio", "error": errors.New("boom"), "odd": func() {}})
	w.event("onRegistered", nil, map[string]any{"expires": 300})
	lines := out.lines(t)
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got %v", lines)
	}
	ev := lines[0]
	if ev["event"] != "onTrack" || ev["kind"] != "audio" || ev["payloadId"] != "t1" || ev["error"] != "boom" {
		t.Errorf("payload not flattened as documented: %v", ev)
	}
	if _, clash := ev["id"]; clash {
		t.Errorf("a payload id must not look like a reply id: %v", ev)
	}
	if sess, _ := ev["session"].(map[string]any); sess["sipCallId"] != "c1" || len(sess) != 28 {
		t.Errorf("session should be the 28-key CallSession JSON, got %d keys: %v", len(sess), sess)
	}
	if _, ok := ev["odd"].(string); !ok {
		t.Errorf("an unencodable payload value should become a string: %v", ev)
	}
	if _, has := lines[1]["session"]; has || lines[1]["expires"] != float64(300) {
		t.Errorf("registration event: %v", lines[1])
	}
	out.mu.Lock()
	first := strings.SplitN(out.buf.String(), "\n", 2)[0]
	out.mu.Unlock()
	if !strings.HasPrefix(first, `{"event":"onTrack","session":`) {
		t.Errorf("event and session should come first: %s", first)
	}
}

// Lines written from many goroutines stay whole (run with -race).
func TestLineWriterConcurrent(t *testing.T) {
	var out syncBuffer
	w := newLineWriter(&out)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(2)
		go func() { defer wg.Done(); w.reply(i, map[string]any{"x": strings.Repeat("a", 500)}, nil) }()
		go func() { defer wg.Done(); w.event("onX", nil, map[string]any{"n": i}) }()
	}
	wg.Wait()
	if n := len(out.lines(t)); n != 100 {
		t.Fatalf("want 100 lines, got %d", n)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestLineWriterFailure(t *testing.T) {
	w := newLineWriter(failWriter{})
	w.reply("1", nil, nil)
	select {
	case <-w.failed:
	default:
		t.Fatal("failed not closed after a write error")
	}
	w.reply("2", nil, nil) // must not panic on a second failure
	if w.Err() == nil {
		t.Fatal("Err() is nil")
	}
}
