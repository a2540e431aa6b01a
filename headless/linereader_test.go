package headless

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestLineReader(t *testing.T) {
	long := strings.Repeat("x", MaxLineBytes+10)
	exact := strings.Repeat("y", MaxLineBytes)
	tests := []struct {
		name  string
		input string
		want  []string // "!" marks ErrLineTooLong
	}{
		{"lines", "a\nb\n", []string{"a", "b"}},
		{"last line without newline", "a\nb", []string{"a", "b"}},
		{"empty lines kept", "\n\na\n", []string{"", "", "a"}},
		{"crlf kept for the parser to trim", "a\r\n", []string{"a\r"}},
		{"too long then normal", long + "\nok\n", []string{"!", "ok"}},
		{"too long at eof", "ok\n" + long, []string{"ok", "!"}},
		{"exactly the limit", exact + "\n", []string{exact}},
		{"empty input", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lr := newLineReader(strings.NewReader(tt.input))
			var got []string
			for {
				line, err := lr.next()
				if errors.Is(err, io.EOF) {
					break
				}
				if errors.Is(err, ErrLineTooLong) {
					got = append(got, "!")
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, string(line))
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d lines, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("line %d = %.20q…, want %.20q…", i, got[i], tt.want[i])
				}
			}
		})
	}
}
