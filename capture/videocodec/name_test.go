package videocodec

import "testing"

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Name
		ok   bool
	}{
		{"VP8", VP8, true},
		{"vp8", VP8, true},
		{"video/VP8", VP8, true},
		{"H264", H264, true},
		{"video/h264", H264, true},
		{"VP9", "", false},
		{"", "", false},
		{"video/", "", false},
		{"audio/opus", "", false},
	}
	for _, tt := range tests {
		got, ok := Parse(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Parse(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestMimeTypeRoundTrip(t *testing.T) {
	for _, n := range All() {
		if got, ok := Parse(n.MimeType()); !ok || got != n {
			t.Errorf("Parse(%q) = %q, %v", n.MimeType(), got, ok)
		}
	}
}
