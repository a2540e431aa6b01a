package headless_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// transcript records every line that crosses the stdin/stdout of the
// processes under test, in the order the test saw them.
type transcript struct {
	mu    sync.Mutex
	start time.Time
	lines []string
}

func (tr *transcript) add(who, dir, line string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.lines = append(tr.lines, fmt.Sprintf("%6.3fs %s%s %s", time.Since(tr.start).Seconds(), who, dir, line))
}

func (tr *transcript) String() string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return strings.Join(tr.lines, "\n") + "\n"
}

// driver runs one `parlo headless` process and talks to it through its
// stdin and stdout only.
type driver struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr bytes.Buffer
	tr     *transcript

	mu     sync.Mutex
	lines  []map[string]any // every stdout object, in order
	cursor int              // events before cursor were consumed by waitEvent
	notify chan struct{}    // closed and replaced on every line
	eof    bool
	nextID int
	exited chan struct{}
	err    error // Wait's result
}

func startDriver(t *testing.T, bin, name string, tr *transcript, args ...string) *driver {
	t.Helper()
	return startDriverEnv(t, bin, name, tr, nil, args...)
}

// startDriverEnv is startDriver with extra environment variables.
func startDriverEnv(t *testing.T, bin, name string, tr *transcript, env []string, args ...string) *driver {
	t.Helper()
	d := &driver{t: t, name: name, tr: tr, notify: make(chan struct{}), exited: make(chan struct{})}
	d.cmd = exec.Command(bin, append([]string{"headless"}, args...)...)
	d.cmd.Env = append(os.Environ(), env...)
	d.cmd.Stderr = &syncWriter{w: &d.stderr, mu: &d.mu}
	var err error
	if d.stdin, err = d.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := d.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tr.add(name, " $", "parlo headless "+strings.Join(args, " "))
	go d.readLoop(stdout)
	t.Cleanup(func() {
		select {
		case <-d.exited:
		default:
			_ = d.cmd.Process.Kill()
			<-d.exited
		}
		if t.Failed() {
			d.mu.Lock()
			t.Logf("%s stderr (tail):\n%s", d.name, tail(d.stderr.String(), 4000))
			d.mu.Unlock()
		}
	})
	return d
}

type syncWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

func (d *driver) readLoop(stdout io.Reader) {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		d.tr.add(d.name, "<", line)
		var obj map[string]any
		if err := json.Unmarshal([]byte(line), &obj); err != nil {
			obj = map[string]any{"_invalid": line, "_error": err.Error()}
		}
		d.mu.Lock()
		d.lines = append(d.lines, obj)
		close(d.notify)
		d.notify = make(chan struct{})
		d.mu.Unlock()
	}
	err := d.cmd.Wait()
	d.mu.Lock()
	d.eof = true
	d.err = err
	close(d.notify)
	d.notify = make(chan struct{})
	d.mu.Unlock()
	close(d.exited)
}

// send writes one command line and returns the id it used.
func (d *driver) send(cmd map[string]any) string {
	d.t.Helper()
	d.mu.Lock()
	d.nextID++
	id := fmt.Sprintf("%s%d", strings.ToLower(d.name), d.nextID)
	d.mu.Unlock()
	cmd["id"] = id
	b, err := json.Marshal(cmd)
	if err != nil {
		d.t.Fatal(err)
	}
	d.tr.add(d.name, ">", string(b))
	if _, err := d.stdin.Write(append(b, '\n')); err != nil {
		d.t.Fatalf("%s: writing %s: %v", d.name, b, err)
	}
	return id
}

// waitFor polls the lines seen so far (from index from) for one matching
// match, until deadline.
func (d *driver) waitFor(what string, from int, timeout time.Duration, match func(map[string]any) bool) (int, map[string]any) {
	d.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		d.mu.Lock()
		for i := from; i < len(d.lines); i++ {
			if _, bad := d.lines[i]["_invalid"]; bad {
				d.mu.Unlock()
				d.t.Fatalf("%s wrote a line that is not JSON: %v", d.name, d.lines[i])
			}
			if match(d.lines[i]) {
				obj := d.lines[i]
				d.mu.Unlock()
				return i, obj
			}
		}
		eof, ch := d.eof, d.notify
		d.mu.Unlock()
		if eof {
			d.t.Fatalf("%s: stdout closed while waiting for %s", d.name, what)
		}
		select {
		case <-ch:
		case <-deadline.C:
			d.t.Fatalf("%s: no %s within %v", d.name, what, timeout)
		}
	}
}

// do sends a command and waits for its reply; it fails the test unless the
// reply is ok, and returns the result.
func (d *driver) do(cmd map[string]any) map[string]any {
	d.t.Helper()
	id := d.send(cmd)
	_, r := d.waitFor("reply to "+id, 0, 15*time.Second, func(o map[string]any) bool { return o["id"] == id })
	if r["ok"] != true {
		d.t.Fatalf("%s: %v failed: %v", d.name, cmd, r["error"])
	}
	res, _ := r["result"].(map[string]any)
	return res
}

// waitEvent waits for the named event about call id ("" for any), searching
// from the start of the output so an event that came early is not missed.
func (d *driver) waitEvent(name, callID string, timeout time.Duration) map[string]any {
	d.t.Helper()
	_, ev := d.waitFor("event "+name, 0, timeout, func(o map[string]any) bool {
		if o["event"] != name {
			return false
		}
		if callID == "" {
			return true
		}
		s, _ := o["session"].(map[string]any)
		return s != nil && s["sipCallId"] == callID
	})
	return ev
}

// waitExit closes stdin if asked and waits for the process to end.
func (d *driver) waitExit(timeout time.Duration) error {
	d.t.Helper()
	select {
	case <-d.exited:
	case <-time.After(timeout):
		d.t.Fatalf("%s did not exit within %v", d.name, timeout)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.err
}

// The binary is built once per test run, into binDir.
var (
	binDir    string
	buildOnce sync.Once
	buildErr  error
	buildOut  []byte
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// buildParlo builds the real binary from the module's main package.
func buildParlo(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "parlo-headless-test-")
		if buildErr != nil {
			return
		}
		buildOut, buildErr = exec.Command("go", "build", "-o", filepath.Join(binDir, "parlo"), "..").CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build: %v\n%s", buildErr, buildOut)
	}
	return filepath.Join(binDir, "parlo")
}

// signal sends sig to the process.
func (d *driver) signal(sig os.Signal) {
	d.t.Helper()
	d.tr.add(d.name, " !", sig.String())
	if err := d.cmd.Process.Signal(sig); err != nil {
		d.t.Fatalf("%s: signal %v: %v", d.name, sig, err)
	}
}

// closeStdin ends the process's input.
func (d *driver) closeStdin() {
	d.tr.add(d.name, " !", "end of input")
	_ = d.stdin.Close()
}

// stderrText is what the process logged so far.
func (d *driver) stderrText() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stderr.String()
}

// indexOf is the position of the first line matching match, or -1.
func (d *driver) indexOf(match func(map[string]any) bool) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, l := range d.lines {
		if match(l) {
			return i
		}
	}
	return -1
}

// events returns the lines seen so far of the named event about call id
// ("" for any), in order.
func (d *driver) events(name, callID string) []map[string]any {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []map[string]any
	for _, o := range d.lines {
		if o["event"] == name && (callID == "" || dig(o, "session.sipCallId") == callID) {
			out = append(out, o)
		}
	}
	return out
}

// num reads a number out of a decoded JSON object by dotted path.
func num(t *testing.T, obj map[string]any, path string) float64 {
	t.Helper()
	v := dig(obj, path)
	f, ok := v.(float64)
	if !ok {
		t.Fatalf("%s is %v (%T), not a number, in %v", path, v, v, obj)
	}
	return f
}

func dig(obj map[string]any, path string) any {
	var v any = obj
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func writeTranscriptIfAsked(t *testing.T, tr *transcript) {
	t.Helper()
	if p := os.Getenv("PARLO_TRANSCRIPT"); p != "" {
		header := "# " + t.Name() + ": a real session of `parlo headless` processes.\n" +
			"# Regenerate: cd headless && PARLO_TRANSCRIPT=$PWD/testdata/" + filepath.Base(p) + " go test -run '^" + t.Name() + "$' .\n" +
			"# Columns: seconds since start, process, direction: \"$\" command line, \">\" line written to its stdin,\n" +
			"# \"<\" line read from its stdout, \"!\" signal or end of input.\n"
		if err := os.WriteFile(p, []byte(header+tr.String()), 0o644); err != nil {
			t.Errorf("writing transcript: %v", err)
		}
	}
}
