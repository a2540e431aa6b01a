package directory

import "testing"

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+33 1 23 45 67 89", "+33123456789"},
		{"(01) 23-45.67/89", "0123456789"},
		{"tel:+33123456789;phone-context=x", "+33123456789"},
		{"sip:+33123456789@pbx.example.com;user=phone", "+33123456789"},
		{"sip:201;x=y@pbx", "201"},
		{"<sip:Alice@Example.COM>", ""},
		{"sip:Alice@Example.COM;transport=tcp", "alice@example.com"},
		{"*97", "*97"},
		{"alice", ""},
		{"+", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSameNumber(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"+33 1 23 45 67 89", "01 23 45 67 89", true},
		{"0033123456789", "+33123456789", true},
		{"sip:0123456789@pbx", "+33 1 23 45 67 89", true},
		{"201", "201", true},
		{"201", "1201", false}, // extensions match exactly
		{"0123456789", "0123456788", false},
		{"123456", "0123456", false}, // too short for a suffix match
		{"sip:alice@x", "sip:alice@x", true},
		{"sip:alice@x", "sip:bob@x", false},
		{"", "", false},
	}
	for _, tt := range tests {
		if got := SameNumber(tt.a, tt.b); got != tt.want {
			t.Errorf("SameNumber(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
