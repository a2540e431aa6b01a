package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// microBenchmarks are the in-function figures, by package; the regexp goes
// to `go test -bench`.
var microBenchmarks = `^Benchmark(BGRAToI420_1080p|I420ToRGBA|DiffRows_1080p|X11Grab_1080pShm|CapturePipeline_1080pStatic|VP8EncodeEngine_1080p|VP8Decode_1080p)`

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+(\d+)\s+([\d.]+) ns/op`)

// benchMicro runs the Go micro-benchmarks of capture/ and callengine/ once
// (benchstat-friendly output goes into the report) and puts the per-frame
// ones in the table against the 30-fps frame budget.
func benchMicro(b *testing.B, cfg config, rep *Report) {
	b.Helper()
	pattern, pkgs := microBenchmarks, []string{"./capture/", "./callengine/"}
	// The audio engineer's echo-canceller benchmark joins the run once it
	// exists in the tree.
	if hasBenchmark(filepath.Join(cfg.moduleRoot, "callengine", "audio"), "func BenchmarkAEC") {
		pattern = strings.TrimSuffix(pattern, ")") + "|AEC)"
		pkgs = append(pkgs, "./callengine/audio/")
	}
	// Likewise the per-frame cost of each voice codec (Opus, G.722, G.711).
	if hasBenchmark(filepath.Join(cfg.moduleRoot, "callengine", "audio"), "func BenchmarkCodec") {
		pattern = strings.TrimSuffix(pattern, ")") + "|Codec)"
		if !slices.Contains(pkgs, "./callengine/audio/") {
			pkgs = append(pkgs, "./callengine/audio/")
		}
	}
	args := append([]string{"test", "-run", "^$", "-bench", pattern, "-benchtime", "0.5s", "-count", "1"}, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Dir = cfg.moduleRoot
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	rep.Commands = append(rep.Commands, "go "+strings.Join(quoteArgs(args), " "))
	var keep []string
	nsop := map[string]float64{}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "goos:") || strings.HasPrefix(line, "goarch:") || strings.HasPrefix(line, "pkg:") ||
			strings.HasPrefix(line, "cpu:") || strings.HasPrefix(line, "Benchmark") {
			keep = append(keep, line)
		}
		if m := benchLine.FindStringSubmatch(line); m != nil {
			v, _ := strconv.ParseFloat(m[3], 64)
			nsop[m[1]] = v
		}
	}
	rep.SetRaw(strings.Join(keep, "\n"))
	rep.Note("**6.** The micro-benchmarks are wall-clock ns/op from `go test -bench` (%s each): with the load average at %s when they ended, "+
		"they include waiting for a core and are an upper bound, not the cost on an idle machine.", "0.5 s", LoadAverage())
	const budgetMs = 1000.0 / 30
	labels := []struct{ name, what string }{
		{"BenchmarkX11Grab_1080pShm", "MIT-SHM grab of a 1080p frame"},
		{"BenchmarkDiffRows_1080pStatic", "change detection, unchanged 1080p frame"},
		{"BenchmarkCapturePipeline_1080pStatic", "grab + change detection, static screen (one Source tick)"},
		{"BenchmarkBGRAToI420_1080p", "BGRA→I420 of a whole 1080p frame (libyuv ARGBToI420, the built-in path)"},
		{"BenchmarkBGRAToI420_1080pGo", "BGRA→I420 of a whole 1080p frame (Go fallback, all cores)"},
		{"BenchmarkVP8EncodeEngine_1080pMotion", "VP8 encode of one 1080p frame, engine settings, moving picture"},
		{"BenchmarkVP8EncodeEngine_1080pTyping", "VP8 encode of one 1080p frame, engine settings, one glyph changed, whole frame analysed (Encode)"},
		{"BenchmarkVP8EncodeEngine_1080pTypingActiveMap", "VP8 encode of one 1080p frame, engine settings, one glyph changed, active map of the dirty rows (EncodeFrame)"},
		{"BenchmarkVP8EncodeEngine_1080pRefresh", "VP8 encode of an unchanged 1080p frame, whole frame analysed (Encode)"},
		{"BenchmarkVP8EncodeEngine_1080pRefreshSettled", "VP8 encode of an unchanged, settled 1080p frame (EncodeFrame: no row analysed; libvpx's fixed cost)"},
		{"BenchmarkVP8Decode_1080pMotion", "VP8 decode of one 1080p frame (receiver)"},
		{"BenchmarkI420ToRGBA_1080p", "I420→RGBA of a decoded 1080p frame for the receiving window, 1:1 view (libyuv I420ToABGR)"},
		{"BenchmarkI420ToRGBA_1080pGo", "I420→RGBA of a decoded 1080p frame (Go fallback)"},
		{"BenchmarkI420ToRGBAFit_1080p", "I420 scaled to the fit view (0.62×, libyuv box filter) and converted to RGBA: the receiving window's work per frame"},
	}
	for name := range nsop {
		if strings.HasPrefix(name, "BenchmarkAEC") {
			labels = append(labels, struct{ name, what string }{name, "audio processing (" + strings.TrimPrefix(name, "Benchmark") + ", callengine/audio), per call"})
		}
	}
	for _, c := range []string{"opus", "G722", "PCMU"} {
		for _, op := range []string{"encode", "decode"} {
			name := "BenchmarkCodec/" + c + "_" + op
			if v, ok := nsop[name]; ok {
				ms := v / 1e6
				rep.Add(Row{Section: "6", Measure: fmt.Sprintf("voice codec %s %s of one 20 ms frame, with its resampling (ms/op)", c, op), Parlo: fmt.Sprintf("%.3f", ms),
					Reference: "20 ms frame budget: 20.0", Ratio: Ratio(ms, 20), Target: "—", Verdict: NoGoal})
			}
		}
	}
	for _, l := range labels {
		v, ok := nsop[l.name]
		if !ok {
			continue
		}
		ms := v / 1e6
		if strings.HasPrefix(l.name, "BenchmarkAEC") {
			rep.Add(Row{Section: "6", Measure: l.what + " (ms/op)", Parlo: fmt.Sprintf("%.3f", ms),
				Reference: "— (an op as the benchmark defines it)", Ratio: "—", Target: "—", Verdict: NoGoal})
			continue
		}
		rep.Add(Row{Section: "6", Measure: l.what + " (ms/op)", Parlo: fmt.Sprintf("%.3f", ms),
			Reference: fmt.Sprintf("30-fps frame budget: %.1f", budgetMs), Ratio: Ratio(ms, budgetMs), Target: "—", Verdict: NoGoal})
	}
}

// hasBenchmark reports whether a _test.go file in dir contains decl.
func hasBenchmark(dir, decl string) bool {
	files, _ := filepath.Glob(filepath.Join(dir, "*_test.go"))
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil && strings.Contains(string(b), decl) {
			return true
		}
	}
	return false
}

func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, "^$|()") {
			a = "'" + a + "'"
		}
		out[i] = a
	}
	return out
}
