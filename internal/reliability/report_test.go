package main

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		figures map[string]string
		results int
	}{
		{"figure", "    liveness_integration_test.go:130: FIGURE vanished.classic.nftdrop: 20.9 s (media-timeout)\n",
			map[string]string{"vanished.classic.nftdrop": "20.9 s (media-timeout)"}, 0},
		{"verdicts", "--- PASS: TestSoakIntegration (49.32s)\n    --- FAIL: TestX/sub (1.00s)\n", map[string]string{}, 2},
		{"noise", "2026/12/04 INFO remote track\nok  \tpkg\t1.0s\n", map[string]string{}, 0},
		{"pipe in value", "x_test.go:1: FIGURE a.b: 1 | 2\n", map[string]string{"a.b": "1 | 2"}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := parse(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if len(r.figures) != len(tc.figures) {
				t.Fatalf("figures %v, want %v", r.figures, tc.figures)
			}
			for k, v := range tc.figures {
				if r.figures[k] != v {
					t.Fatalf("%s = %q, want %q", k, r.figures[k], v)
				}
			}
			if len(r.results) != tc.results {
				t.Fatalf("results %v, want %d", r.results, tc.results)
			}
		})
	}
}

func TestRenderMarksMissingFigures(t *testing.T) {
	var b strings.Builder
	r := run{figures: map[string]string{"vanished.webrtc.kill9": "6.6 s (ice-failed)", "new.key": "1 | 2"}}
	if err := render(&b, r, time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	doc := b.String()
	for _, want := range []string{"| WebRTC path (ICE, DTLS-SRTP), kill -9 | 6.6 s (ice-failed) |", "not measured in this run", "| new.key | 1 \\| 2 |"} {
		if !strings.Contains(doc, want) {
			t.Fatalf("document lacks %q:\n%s", want, doc)
		}
	}
}
