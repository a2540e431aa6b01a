package directory

import (
	"errors"
	"testing"
)

func TestRulesApply(t *testing.T) {
	france := Rules{{Prefix: "+33", Replace: "0"}, {Prefix: "+", Replace: "00"}}
	outside := Rules{{Prefix: "", Replace: "0", MinDigits: 7}}
	tests := []struct {
		name  string
		rules Rules
		in    string
		want  string
	}{
		{"international to national", france, "+33 1 23 45 67 89", "0123456789"},
		{"other country to 00", france, "+44 20 7946 0000", "00442079460000"},
		{"national unchanged but compact", france, "01-23-45-67-89", "0123456789"},
		{"first matching rule wins", Rules{{Prefix: "+", Replace: "00"}, {Prefix: "+33", Replace: "0"}}, "+33123456789", "0033123456789"},
		{"outside line for long numbers", outside, "0123456789", "00123456789"},
		{"extension keeps its form", outside, "201", "201"},
		{"star code untouched by min", outside, "*97", "*97"},
		{"SIP URI untouched", france, "sip:+33123456789@pbx.example.com", "sip:+33123456789@pbx.example.com"},
		{"name untouched", france, "alice", "alice"},
		{"no rules: unchanged", nil, "+33 1 23", "+33 1 23"},
		{"parentheses", france, "+33 (0)1 23", "00123"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.rules.Apply(tt.in); got != tt.want {
				t.Fatalf("Apply(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseRules(t *testing.T) {
	tests := []struct {
		text    string
		want    Rules
		wantErr bool
	}{
		{"+33=0\n+=00\n", Rules{{Prefix: "+33", Replace: "0"}, {Prefix: "+", Replace: "00"}}, false},
		{"# comment\n\n =0;min=7 ", Rules{{Prefix: "", Replace: "0", MinDigits: 7}}, false},
		{"+33", nil, true},
		{"a=0", nil, true},
		{"3+3=0", nil, true},
		{"=", nil, true},
		{"=0;min=x", nil, true},
		{"=0;max=3", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got, err := ParseRules(tt.text)
			if tt.wantErr {
				if !errors.Is(err, ErrBadRule) {
					t.Fatalf("err = %v, want ErrBadRule", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != tt.want.String() {
				t.Fatalf("got %q, want %q", got.String(), tt.want.String())
			}
			again, err := ParseRules(got.String())
			if err != nil || again.String() != got.String() {
				t.Fatalf("round trip: %q, %v", again.String(), err)
			}
		})
	}
}
