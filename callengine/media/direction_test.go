package media

import (
	"testing"

	"github.com/pion/sdp/v3"
)

func TestMediaDirection(t *testing.T) {
	attrs := func(keys ...string) []sdp.Attribute {
		var out []sdp.Attribute
		for _, k := range keys {
			out = append(out, sdp.Attribute{Key: k})
		}
		return out
	}
	tests := []struct {
		name       string
		sess, line []sdp.Attribute
		want       Direction
	}{
		{"none is sendrecv", nil, attrs("rtcp-mux"), SendRecv},
		{"media level", nil, attrs("rtpmap", "sendonly"), SendOnly},
		{"session level", attrs("recvonly"), attrs("rtpmap"), RecvOnly},
		{"media level wins", attrs("recvonly"), attrs("inactive"), Inactive},
		{"first of two", nil, attrs("sendonly", "inactive"), SendOnly},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sd := &sdp.SessionDescription{Attributes: tt.sess}
			md := &sdp.MediaDescription{Attributes: tt.line}
			if got := MediaDirection(sd, md); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	if _, ok := ParseDirection("sendrecvx"); ok {
		t.Error("ParseDirection took a non-direction")
	}
}
