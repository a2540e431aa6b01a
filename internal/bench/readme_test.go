package bench

import (
	"errors"
	"testing"
)

func TestReplaceHighlights(t *testing.T) {
	tests := []struct {
		name, readme, body, want string
		err                      error
	}{
		{"replaces between the markers", "a\n" + HighlightsStart + "\nold\n" + HighlightsEnd + "\nb\n", "new\n",
			"a\n" + HighlightsStart + "\nnew\n" + HighlightsEnd + "\nb\n", nil},
		{"empty section", HighlightsStart + HighlightsEnd, "x", HighlightsStart + "\nx\n" + HighlightsEnd, nil},
		{"no markers", "a\nb\n", "x", "", ErrNoHighlightsSection},
		{"markers reversed", HighlightsEnd + HighlightsStart, "x", "", ErrNoHighlightsSection},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReplaceHighlights(tt.readme, tt.body)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}
