package media

import (
	"errors"
	"testing"
)

func TestChoosePath(t *testing.T) {
	const v = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
	const webrtcAttrs = "a=ice-ufrag:abcd\r\na=ice-pwd:abcdabcdabcdabcdabcdabcd\r\na=fingerprint:sha-256 AA:BB\r\n"
	cases := []struct {
		name string
		sdp  string
		want Path
		err  error
	}{
		{"webrtc bundle audio+video", v + "a=group:BUNDLE 0 1\r\n" + webrtcAttrs +
			"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\n", PathWebRTC, nil},
		{"webrtc single line, no bundle (baresip audio)", v + webrtcAttrs +
			"m=audio 4000 UDP/TLS/RTP/SAVPF 111\r\n", PathWebRTC, nil},
		{"dtls without bundle, two lines", v + webrtcAttrs +
			"m=audio 4000 UDP/TLS/RTP/SAVPF 111\r\nm=video 4002 UDP/TLS/RTP/SAVPF 96\r\n", PathClassic, nil},
		{"sdes", v + "m=audio 4000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n", PathClassic, nil},
		{"plain", v + "m=audio 4000 RTP/AVP 0 8\r\n", PathClassic, nil},
		{"savpf without fingerprint", v + "a=ice-ufrag:abcd\r\na=ice-pwd:abcdabcdabcdabcdabcdabcd\r\nm=audio 4000 UDP/TLS/RTP/SAVPF 111\r\n", PathClassic, nil},
		{"all lines rejected", v + "m=audio 0 RTP/AVP 0\r\n", "", ErrBadSDP},
		{"garbage", "hello", "", ErrBadSDP},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ChoosePath([]byte(tc.sdp))
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
