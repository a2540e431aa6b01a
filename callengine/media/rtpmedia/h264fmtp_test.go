package rtpmedia

import "testing"

func TestH264FmtpUsable(t *testing.T) {
	tests := []struct {
		fmtp string
		want bool
	}{
		{H264Fmtp, true},
		{"packetization-mode=1;profile-level-id=42001f", true},
		{"profile-level-id=42E01F; packetization-mode=1", true},
		{"packetization-mode=1", true},
		{"packetization-mode=0;profile-level-id=42e01f", false}, // baresip's mode-0 variant
		{"profile-level-id=42e01f", false},                      // absent means mode 0
		{"", false},
		{"packetization-mode=1;profile-level-id=640c1f", false}, // high profile
		{"packetization-mode=1;profile-level-id=42", false},
	}
	for _, tt := range tests {
		if got := H264FmtpUsable(tt.fmtp); got != tt.want {
			t.Errorf("H264FmtpUsable(%q) = %v, want %v", tt.fmtp, got, tt.want)
		}
	}
}
