package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The harness re-executes this test binary for the processes it measures
// alone; childEnv names the role.
const childEnv = "PARLO_BENCH_CHILD"

func TestMain(m *testing.M) {
	switch role := os.Getenv(childEnv); role {
	case "":
		os.Exit(m.Run())
	case "pipeline":
		o := PipelineOptions{Display: os.Getenv("PARLO_BENCH_DISPLAY"), CPUProfile: os.Getenv("PARLO_BENCH_CPUPROFILE"),
			Polling: os.Getenv("PARLO_BENCH_POLLING") != ""}
		if js := os.Getenv("PARLO_BENCH_SETTINGS"); js != "" {
			if err := json.Unmarshal([]byte(js), &o.Encoder); err != nil {
				exitChild(err)
			}
		}
		err := RunPipelineChild(o, os.Stdin, os.Stdout)
		exitChild(err)
	case "y4menc":
		var s EncoderSettings
		err := json.Unmarshal([]byte(os.Getenv("PARLO_BENCH_SETTINGS")), &s)
		if err == nil {
			err = RunY4MEncodeChild(os.Getenv("PARLO_BENCH_Y4M"), os.Getenv("PARLO_BENCH_IVF"), s, os.Stdout)
		}
		exitChild(err)
	case "sharer":
		err := RunSharerChild(SharerOptions{
			Display: os.Getenv("PARLO_BENCH_DISPLAY"), Target: os.Getenv("PARLO_BENCH_TARGET"),
		}, os.Stdin, os.Stdout)
		exitChild(err)
	default:
		fmt.Fprintf(os.Stderr, "bench: unknown child role %q\n", role)
		os.Exit(2)
	}
}

func exitChild(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench child:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// config holds the fixed durations of a run. The defaults make the whole
// run take about five minutes on 2 cores; environment variables shorten them
// for a smoke run (the table then says so through the sample counts).
type config struct {
	warmup       time.Duration  // excluded from every timed window
	measure      time.Duration  // each capture/latency window
	calls        int            // call set-ups per pair
	shares       int            // share→first-frame runs
	memWindow    time.Duration  // how long the sharer shares before its RSS is read
	clipFrames   int            // frames recorded per content class for the encoder pairs
	repeats      int            // interleaved rounds per pair
	liveRepeats  int            // interleaved rounds of the live pipelines on the headline classes (static, typing, full motion)
	moreRepeats  int            // interleaved rounds of the other live classes and the polling rows
	liveWindow   time.Duration  // window of each live pipeline run (after 1 s of warm-up)
	impairWindow time.Duration  // each impairment condition's window (after the warm-up)
	g2gWindow    time.Duration  // each content class's window of the GUI glass-to-glass run
	only         *regexp.Regexp // scenarios to run (all when nil)
	out          string         // docs/benchmarks.md, or "-" for none
	moduleRoot   string
}

func loadConfig(b *testing.B) config {
	b.Helper()
	dur := func(k string, d time.Duration) time.Duration {
		if v := os.Getenv(k); v != "" {
			s, err := strconv.ParseFloat(v, 64)
			if err != nil {
				b.Fatalf("%s=%q: %v", k, v, err)
			}
			return time.Duration(s * float64(time.Second))
		}
		return d
	}
	num := func(k string, n int) int {
		if v := os.Getenv(k); v != "" {
			i, err := strconv.Atoi(v)
			if err != nil {
				b.Fatalf("%s=%q: %v", k, v, err)
			}
			return i
		}
		return n
	}
	root := moduleRoot(b)
	c := config{
		warmup:       dur("PARLO_BENCH_WARMUP", 2*time.Second),
		measure:      dur("PARLO_BENCH_SECONDS", 6*time.Second),
		calls:        num("PARLO_BENCH_CALLS", 10),
		shares:       num("PARLO_BENCH_SHARES", 5),
		memWindow:    dur("PARLO_BENCH_MEM_SECONDS", 15*time.Second),
		clipFrames:   num("PARLO_BENCH_CLIP_FRAMES", 60),
		repeats:      num("PARLO_BENCH_REPEATS", 5),
		liveRepeats:  num("PARLO_BENCH_LIVE_REPEATS", 5),
		moreRepeats:  num("PARLO_BENCH_MORE_REPEATS", 5),
		liveWindow:   dur("PARLO_BENCH_LIVE_SECONDS", 2*time.Second),
		impairWindow: dur("PARLO_BENCH_IMPAIR_SECONDS", 3*time.Second),
		g2gWindow:    dur("PARLO_BENCH_G2G_SECONDS", 10*time.Second),
		out:          os.Getenv("PARLO_BENCH_OUT"),
		moduleRoot:   root,
	}
	if v := os.Getenv("PARLO_BENCH_ONLY"); v != "" {
		c.only = regexp.MustCompile(v)
	}
	if c.out == "" {
		c.out = filepath.Join(root, "docs", "benchmarks.md")
	}
	return c
}

func moduleRoot(tb testing.TB) string {
	tb.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		tb.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// BenchmarkParlo is the whole `make bench` run. Run it once:
//
//	go test -run '^$' -bench '^BenchmarkParlo$' -benchtime 1x -timeout 20m ./internal/bench/
//
// Each sub-benchmark starts its own X server and peers, which its cleanup
// stops, so no scenario's load leaks into the next one.
func BenchmarkParlo(b *testing.B) {
	cfg := loadConfig(b)
	rep := NewReport(ThisMachine(), time.Now())
	rep.LoadStart = LoadAverage()
	if out, err := exec.Command("git", "-C", cfg.moduleRoot, "describe", "--always", "--dirty").Output(); err == nil {
		rep.Revision = strings.TrimSpace(string(out))
	}
	rep.Commands = []string{
		"make bench   # = scripts/deps.sh bench, then scripts/isolated.sh go test -run '^$' -bench '^BenchmarkParlo$' -benchtime 1x -timeout 40m ./internal/bench/",
		fmt.Sprintf("# durations: warm-up %s excluded, latency windows %s, %d calls per pair, %d shares, memory/CPU window %s; "+
			"encoder pairs: %d frames a clip, %d rounds; live pipelines: %s windows, %d rounds on the goal classes, %d on the others and the polling rows; impairment windows %s; GUI glass-to-glass windows %s",
			cfg.warmup, cfg.measure, cfg.calls, cfg.shares, cfg.memWindow, cfg.clipFrames, cfg.repeats, cfg.liveWindow, cfg.liveRepeats, cfg.moreRepeats, cfg.impairWindow, cfg.g2gWindow),
		"# smoke run: PARLO_BENCH_ONLY='encoderPairs/typing 1080p' PARLO_BENCH_CLIP_FRAMES=30 PARLO_BENCH_REPEATS=1 PARLO_BENCH_OUT=/tmp/b.md (see loadConfig for every knob)",
		"# one scenario: PARLO_BENCH_ONLY='^glassToGlass$' (or '^impairment$', '^decoderLatency') PARLO_BIN=$PWD/parlo PARLO_BENCH_OUT=$PWD/bin/g.md scripts/isolated.sh go test -run '^$' -bench '^BenchmarkParlo$' -benchtime 1x ./internal/bench/",
		"# the glass-to-glass scenario with PARLO_BENCH_PERF=dir also keeps a system-wide `perf record` of each window and a screenshot of the receiving screen; PARLO_BENCH_LOGS=dir keeps both apps' logs",
	}
	scenarios := []struct {
		name, section string
		run           func(*testing.B, config, *Report)
	}{
		{"encoderPairs", "1", benchEncoderPairs},
		{"live", "1", benchLivePipelines},
		{"glassToGlass", "2", benchGUIGlassToGlass},
		{"decoderLatency/typing", "2", func(b *testing.B, c config, r *Report) { benchDecoderLatency(b, c, r, false) }},
		{"decoderLatency/fullMotion", "2", func(b *testing.B, c config, r *Report) { benchDecoderLatency(b, c, r, true) }},
		{"impairment", "2", benchImpairment},
		{"shareToFirstFrame", "3", benchShareToFirstFrame},
		{"callSetup", "4", benchCallSetup},
		{"memory/sharing", "5", benchMemorySharing},
		{"memory/idleGUI", "5", benchMemoryIdleGUI},
		{"micro", "6", benchMicro},
	}
	var took []string
	for _, s := range scenarios {
		if cfg.only != nil && !cfg.only.MatchString(s.name) && !strings.HasPrefix(cfg.only.String(), s.name+"/") {
			continue
		}
		t0 := time.Now()
		ok := b.Run(s.name, func(b *testing.B) { s.run(b, cfg, rep) })
		took = append(took, fmt.Sprintf("%s %s (load %s)", s.name, time.Since(t0).Round(time.Second), LoadAverage()))
		if !ok {
			rep.Fail(s.section, s.name+" failed; see the `go test` log")
		}
	}
	rep.Commands = append(rep.Commands, "# time per scenario (1/5/15-min load average at its end): "+strings.Join(took, ", "))
	rep.Finished = time.Now()
	rep.LoadEnd = LoadAverage()
	fmt.Println()
	fmt.Println(rep.Table())
	if cfg.out != "-" {
		if err := rep.WriteFile(cfg.out); err != nil {
			b.Fatalf("write %s: %v", cfg.out, err)
		}
		fmt.Println("written to", cfg.out)
	}
	// The README's highlights follow the report only on a run that writes
	// the real report (not a smoke run into /tmp).
	if cfg.out == filepath.Join(cfg.moduleRoot, "docs", "benchmarks.md") {
		if err := rep.UpdateReadme(filepath.Join(cfg.moduleRoot, "README.md")); err != nil {
			b.Fatalf("README highlights: %v", err)
		}
		fmt.Println("README.md highlights rewritten")
	}
}

// child is a re-executed copy of this test binary in one of the TestMain
// roles, talking JSON lines.
type child struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	stderr bytes.Buffer
}

func startChild(tb testing.TB, role string, env ...string) *child {
	tb.Helper()
	exe, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	c := &child{cmd: exec.Command(exe, "-test.run=^$")}
	c.cmd.Env = append(append(os.Environ(), childEnv+"="+role), env...)
	c.cmd.Stderr = &c.stderr
	if c.in, err = c.cmd.StdinPipe(); err != nil {
		tb.Fatal(err)
	}
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	c.out = bufio.NewReader(stdout)
	if err := c.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.stop)
	return c
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// read decodes the child's next line into v, failing after timeout.
func (c *child) read(tb testing.TB, v any, timeout time.Duration) {
	tb.Helper()
	type result struct {
		line string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		line, err := c.out.ReadString('\n')
		ch <- result{line, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			tb.Fatalf("child %s: %v\n%s", c.cmd.Env[len(c.cmd.Env)-1], r.err, c.stderr.String())
		}
		if err := json.Unmarshal([]byte(r.line), v); err != nil {
			tb.Fatalf("child line %q: %v", r.line, err)
		}
	case <-time.After(timeout):
		_ = c.cmd.Process.Kill()
		tb.Fatalf("child did not answer within %s\n%s", timeout, c.stderr.String())
	}
}

func (c *child) send(line string) { _, _ = io.WriteString(c.in, line+"\n") }

// stop asks the child to quit and kills it if it does not within 10 s.
func (c *child) stop() {
	if c.cmd.ProcessState != nil {
		return
	}
	c.send("quit")
	_ = c.in.Close()
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}

func filepathExecutable() (string, error) { return os.Executable() }
