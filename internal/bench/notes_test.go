package bench

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// docs/benchmarks-notes.md is hand-written, so it must hold methods only:
// a result quoted there goes stale at the next run and contradicts the
// generated table. The patterns are the shapes results take in the report.
func TestBenchmarkNotesHoldNoResults(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(moduleRoot(t), "docs", "benchmarks-notes.md"))
	if err != nil {
		t.Fatal(err)
	}
	results := []struct {
		what string
		re   *regexp.Regexp
	}{
		{"a ratio", regexp.MustCompile(`\d\s?×`)},
		{"a percentile", regexp.MustCompile(`(?i)\bp(50|95)\b[^.\n]{0,20}\d`)},
		{"a memory figure", regexp.MustCompile(`\d\s?(MB|MiB|GB)\b`)},
		{"a frame rate", regexp.MustCompile(`\d\s?fps\b`)},
		{"a quality score", regexp.MustCompile(`\b0\.9\d{2,}|\d\s?dB\b`)},
		{"a CPU share", regexp.MustCompile(`\d\s?% of (a|one) core`)},
		{"a latency or time", regexp.MustCompile(`\d\s?ms\b`)},
	}
	for _, r := range results {
		t.Run(r.what, func(t *testing.T) {
			if m := r.re.Find(b); m != nil {
				t.Fatalf("benchmarks-notes.md quotes %s (%q): results belong in the generated benchmarks.md", r.what, m)
			}
		})
	}
}
