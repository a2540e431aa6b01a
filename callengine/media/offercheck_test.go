package media

import (
	"errors"
	"strings"
	"testing"
)

const webrtcOffer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\n" +
	"a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=setup:actpass\r\na=rtcp-mux\r\n" +
	"a=fingerprint:sha-256 AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB\r\n"

const sdesOffer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
	"m=audio 40000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNk|2^20\r\n"

func TestCheckOffer(t *testing.T) {
	cases := []struct {
		name   string
		offer  string
		policy SRTPPolicy
		want   Path
		err    error
	}{
		{"webrtc", webrtcOffer, "", PathWebRTC, nil},
		{"sdes", sdesOffer, "", PathClassic, nil},
		{"sdes AES-256 key length checked", strings.Replace(sdesOffer, "AES_CM_128", "AES_256_CM", 1), "", "", ErrBadSDP},
		{"plain RTP, SRTP optional", strings.Replace(sdesOffer, "RTP/SAVP", "RTP/AVP", 1), SRTPOptional, PathClassic, nil},
		{"plain RTP without crypto, required", strings.Replace(strings.Replace(sdesOffer, "RTP/SAVP", "RTP/AVP", 1), "a=crypto", "a=x", 1), "", "", ErrNoCommonCodec},
		{"SDES with SRTP off", sdesOffer, SRTPOff, "", ErrNoCommonCodec},
		{"second audio line usable", strings.Replace(sdesOffer, "m=audio 40000 RTP/SAVP 0\r\n", "m=audio 40000 RTP/AVP 18\r\nm=audio 40002 RTP/SAVP 0\r\n", 1), "", PathClassic, nil},
		{"MKI on the only crypto line", strings.Replace(sdesOffer, "|2^20", "|1:4", 1), "", "", ErrNoCommonCodec},
		{"16 lines", sdesOffer + strings.Repeat("m=video 0 RTP/AVP 96\r\n", 15), "", PathClassic, nil},
		{"17 lines", sdesOffer + strings.Repeat("m=video 0 RTP/AVP 96\r\n", 16), "", "", ErrBadSDP},
		{"65 candidates", strings.Replace(webrtcOffer, "a=rtcp-mux\r\n", "a=rtcp-mux\r\n"+strings.Repeat("a=candidate:1 1 udp 1 192.0.2.1 5000 typ host\r\n", 65), 1), "", "", ErrBadSDP},
		{"64 candidates", strings.Replace(webrtcOffer, "a=rtcp-mux\r\n", "a=rtcp-mux\r\n"+strings.Repeat("a=candidate:1 1 udp 1 192.0.2.1 5000 typ host\r\n", 64), 1), "", PathWebRTC, nil},
		{"513 attributes", sdesOffer + strings.Repeat("a=x\r\n", 512), "", "", ErrBadSDP},
		{"RTP to port 53 without ICE", strings.Replace(sdesOffer, "m=audio 40000", "m=audio 53", 1), "", "", ErrBadSDP},
		{"port 9 with ICE (JSEP placeholder)", webrtcOffer, "", PathWebRTC, nil},
		{"no media", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n", "", "", ErrBadSDP},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path, err := CheckOffer([]byte(tc.offer), OfferCheck{SRTP: tc.policy, Classic: true})
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || path != tc.want {
				t.Fatalf("path %q err %v, want %q", path, err, tc.want)
			}
		})
	}
}

// FuzzCheckOffer: no input panics, and an offer CheckOffer passes is one
// ChoosePath also takes.
func FuzzCheckOffer(f *testing.F) {
	f.Add(webrtcOffer)
	f.Add(sdesOffer)
	f.Add(strings.Replace(sdesOffer, "inline:", "inline:;", 1))
	f.Add("v=0\r\nm=audio 1/2 RTP/AVP 0\r\n")
	f.Fuzz(func(t *testing.T, offer string) {
		path, err := CheckOffer([]byte(offer), OfferCheck{Classic: true})
		if err != nil {
			if !errors.Is(err, ErrBadSDP) && !errors.Is(err, ErrNoCommonCodec) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		if p2, err := ChoosePath([]byte(offer)); err != nil || p2 != path {
			t.Fatalf("CheckOffer said %q, ChoosePath %q %v", path, p2, err)
		}
	})
}
