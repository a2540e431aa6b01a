package headless

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// runInProcess starts Run on a real phone listening on loopback, with stdin
// fed through a pipe. It returns the stdin writer, the output and a channel
// that yields Run's result.
func runInProcess(ctx context.Context, t *testing.T) (io.WriteCloser, *syncBuffer, <-chan error) {
	t.Helper()
	cfg, err := ParseArgs([]string{"--listen", "udp:127.0.0.1:0"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	inR, inW := io.Pipe()
	t.Cleanup(func() { inW.Close() })
	out := &syncBuffer{}
	done := make(chan error, 1)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	go func() { done <- Run(ctx, cfg, inR, out, log) }()
	return inW, out, done
}

// waitLines polls the output until it has n lines or the deadline passes;
// it fails at once if Run returns meanwhile.
func waitLines(t *testing.T, out *syncBuffer, n int, done <-chan error) []map[string]any {
	t.Helper()
	// Generous: a loaded 2-core CI machine running -race is slow to start.
	deadline := time.Now().Add(15 * time.Second)
	for {
		lines := out.lines(t)
		if len(lines) >= n {
			return lines
		}
		select {
		case err := <-done:
			t.Fatalf("Run returned %v with %d lines written, want %d", err, len(lines), n)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("want %d output lines, have %v", n, lines)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitRun(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
}

func TestRunReadyThenCommandsThenEOF(t *testing.T) {
	in, out, done := runInProcess(context.Background(), t)
	lines := waitLines(t, out, 1, done)
	ready := lines[0]
	listen, _ := ready["listen"].([]any)
	if ready["event"] != "ready" || len(listen) != 1 || strings.HasSuffix(listen[0].(string), ":0") {
		t.Fatalf("first line must be ready with the bound port, got %v", ready)
	}
	if c, _ := ready["contact"].(string); !strings.HasPrefix(c, "sip:parlo@127.0.0.1:") {
		t.Fatalf("ready contact = %v", ready["contact"])
	}
	_, _ = io.WriteString(in, "not json\n"+`{"id":"1","cmd":"calls"}`+"\n"+`{"id":"2","cmd":"hangup","call":"nope"}`+"\n")
	lines = waitLines(t, out, 4, done)
	if lines[1]["ok"] != false || lines[1]["id"] != nil {
		t.Errorf("malformed line: %v", lines[1])
	}
	if lines[2]["id"] != "1" || lines[2]["ok"] != true {
		t.Errorf("calls after a malformed line: %v", lines[2])
	}
	if lines[3]["id"] != "2" || lines[3]["ok"] != false || !strings.Contains(lines[3]["error"].(string), "no such call") {
		t.Errorf("hangup of an unknown call: %v", lines[3])
	}
	in.Close() // end of input
	waitRun(t, done)
	if n := len(out.lines(t)); n != 4 {
		t.Errorf("nothing should follow the end of input, got %d lines", n)
	}
}

func TestRunQuitRepliesLast(t *testing.T) {
	in, out, done := runInProcess(context.Background(), t)
	waitLines(t, out, 1, done)
	_, _ = io.WriteString(in, `{"id":"q","cmd":"quit"}`+"\n"+`{"id":"late","cmd":"calls"}`+"\n")
	waitRun(t, done)
	lines := out.lines(t)
	last := lines[len(lines)-1]
	if last["id"] != "q" || last["ok"] != true {
		t.Fatalf("quit reply should be the last line, got %v", lines)
	}
	for _, l := range lines {
		if l["id"] == "late" {
			t.Errorf("a line after quit was handled: %v", l)
		}
	}
}

func TestRunSignalShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	_, out, done := runInProcess(ctx, t)
	waitLines(t, out, 1, done)
	cancel() // what SIGINT/SIGTERM do through signal.NotifyContext
	waitRun(t, done)
}
