package classic

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/parlo-voip/parlo/callengine/media"
)

const (
	fpLine  = "a=fingerprint:sha-256 11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00\r\n"
	iceLine = "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host\r\n"
	head    = "v=0\r\no=peer 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
	key     = "inline:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNk"
)

// One offer of each kind → the path ChoosePath picks and, on the classic
// path, what our answer says (or the refusal).
func TestNegotiationTable(t *testing.T) {
	for _, tc := range []struct {
		name    string
		offer   string
		policy  media.SRTPPolicy
		path    media.Path
		want    []string // substrings of the answer
		wantErr string
	}{
		{
			name: "webrtc bundle",
			offer: head + "a=group:BUNDLE 0 1\r\n" +
				"m=audio 40000 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\na=rtcp-mux\r\na=setup:actpass\r\n" + fpLine + iceLine +
				"m=video 40000 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=rtpmap:96 VP8/90000\r\na=rtcp-mux\r\na=setup:actpass\r\n" + fpLine + iceLine,
			path: media.PathWebRTC,
		},
		{
			name: "dtls no bundle",
			offer: head +
				"m=audio 40000 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\na=rtcp-mux\r\na=setup:actpass\r\n" + fpLine + iceLine +
				"m=video 40002 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\na=rtcp-mux\r\na=setup:actpass\r\n" + fpLine + iceLine,
			policy: media.SRTPRequired, path: media.PathClassic,
			want: []string{"m=audio", "UDP/TLS/RTP/SAVPF 111", "a=setup:active", "a=fingerprint:sha-256 ", "a=ice-ufrag:", "a=candidate:", "m=video", "a=rtpmap:96 VP8/90000"},
		},
		{
			name: "sdes",
			offer: head + "m=audio 40000 RTP/SAVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n" +
				"a=crypto:1 AES_CM_128_HMAC_SHA1_32 " + key + "\r\n",
			policy: media.SRTPRequired, path: media.PathClassic,
			want: []string{"RTP/SAVP 0 101", "a=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:", "a=rtpmap:101 telephone-event/8000", "a=sendrecv"},
		},
		{
			name:   "plain",
			offer:  head + "m=audio 40000 RTP/AVP 8 0\r\n",
			policy: media.SRTPOptional, path: media.PathClassic,
			want: []string{"m=audio", "RTP/AVP 8\r\n", "a=rtpmap:8 PCMA/8000"},
		},
		{
			// A desk phone: G.722 first, static payload type 9 with its
			// 8000 Hz rtpmap clock (RFC 3551 §4.5.2).
			name:   "desk phone g722",
			offer:  head + "m=audio 40000 RTP/AVP 9 0 8 101\r\na=rtpmap:9 G722/8000\r\na=rtpmap:101 telephone-event/8000\r\n",
			policy: media.SRTPOptional, path: media.PathClassic,
			want: []string{"RTP/AVP 9 101\r\n", "a=rtpmap:9 G722/8000", "a=rtpmap:101 telephone-event/8000"},
		},
		{
			// RFC 3264 §6.1 lets the answerer prefer: Opus over G.722
			// over G.711 whatever the offer's order.
			name:   "our preference",
			offer:  head + "m=audio 40000 RTP/AVP 0 9 111\r\na=rtpmap:111 opus/48000/2\r\n",
			policy: media.SRTPOptional, path: media.PathClassic,
			want: []string{"RTP/AVP 111\r\n", "a=rtpmap:111 opus/48000/2"},
		},
		{
			name:   "g722 over g711",
			offer:  head + "m=audio 40000 RTP/AVP 8 0 9\r\n",
			policy: media.SRTPOptional, path: media.PathClassic,
			want: []string{"RTP/AVP 9\r\n", "a=rtpmap:9 G722/8000"},
		},
		{
			name:   "g722 without rtpmap",
			offer:  head + "m=audio 40000 RTP/AVP 9\r\n",
			policy: media.SRTPOptional, path: media.PathClassic,
			want: []string{"RTP/AVP 9\r\n", "a=rtpmap:9 G722/8000"},
		},
		{
			name:   "g722 at 16000 is not G.722",
			offer:  head + "m=audio 40000 RTP/AVP 9\r\na=rtpmap:9 G722/16000\r\n",
			policy: media.SRTPOff, path: media.PathClassic,
			wantErr: "no audio codec in common",
		},
		{
			name: "h264 only, modes 0 and 1 (baresip's avcodec)",
			offer: head + "m=audio 40000 RTP/AVP 0\r\n" +
				"m=video 40002 RTP/AVP 97 98\r\na=rtpmap:97 H264/90000\r\na=fmtp:97 packetization-mode=0;profile-level-id=42e01f\r\n" +
				"a=rtpmap:98 H264/90000\r\na=fmtp:98 packetization-mode=1;profile-level-id=42e01f\r\n",
			policy: media.SRTPOptional, path: media.PathClassic,
			want: []string{"m=video", "RTP/AVP 98\r\n", "a=rtpmap:98 H264/90000", "a=fmtp:98 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f", "a=rtcp-fb:98 nack pli"},
		},
		{
			name: "vp8 preferred over h264 in the peer's order",
			offer: head + "m=audio 40000 RTP/AVP 0\r\n" +
				"m=video 40002 RTP/AVP 100 98\r\na=rtpmap:100 VP8/90000\r\na=rtpmap:98 H264/90000\r\na=fmtp:98 packetization-mode=1\r\n",
			policy: media.SRTPOptional, path: media.PathClassic,
			want: []string{"RTP/AVP 100\r\n", "a=rtpmap:100 VP8/90000"},
		},
		{
			name: "h264 mode 0 only: the video line is refused",
			offer: head + "m=audio 40000 RTP/AVP 0\r\n" +
				"m=video 40002 RTP/AVP 97\r\na=rtpmap:97 H264/90000\r\na=fmtp:97 packetization-mode=0;profile-level-id=42e01f\r\n",
			policy: media.SRTPOptional, path: media.PathClassic,
			want: []string{"m=audio", "m=video 0 RTP/AVP 97"},
		},
		{
			name:   "plain with srtp required",
			offer:  head + "m=audio 40000 RTP/AVP 0\r\n",
			policy: media.SRTPRequired, path: media.PathClassic,
			wantErr: "plain RTP refused: SRTP required",
		},
		{
			name:   "sdes with srtp off",
			offer:  head + "m=audio 40000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 " + key + "\r\n",
			policy: media.SRTPOff, path: media.PathClassic,
			wantErr: "SRTP refused",
		},
		{
			name:   "no common codec",
			offer:  head + "m=audio 40000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n",
			policy: media.SRTPOff, path: media.PathClassic,
			wantErr: "no audio codec in common",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, err := media.ChoosePath([]byte(tc.offer))
			if err != nil || path != tc.path {
				t.Fatalf("ChoosePath = %q, %v; want %q", path, err, tc.path)
			}
			if path != media.PathClassic {
				return
			}
			p := newPeer(t, 440, tc.policy)
			ans, err := p.s.CreateAnswer(context.Background(), []byte(tc.offer), media.SendRecv)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) ||
					!(errors.Is(err, media.ErrBadSDP) || errors.Is(err, media.ErrNoCommonCodec)) {
					t.Fatalf("err %v, want a 488-class error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(ans), w) {
					t.Errorf("answer lacks %q:\n%s", w, ans)
				}
			}
		})
	}
}

// FuzzParseRemote: the SDP parser never panics on network input.
func FuzzParseRemote(f *testing.F) {
	f.Add([]byte(head + "m=audio 40000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 " + key + "|2^20|1:4\r\na=rtcp:1 IN IP4 1.2.3.4\r\n"))
	f.Add([]byte(head + "m=video 0 RTP/AVP 96\r\na=rtpmap:96 VP8\r\na=fmtp:96\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		lines, err := parseRemote(b)
		for _, l := range lines {
			_ = l.rtpAddr()
			_ = l.rtcpUDPAddr()
		}
		_ = err
	})
}

func FuzzParseCrypto(f *testing.F) {
	f.Add("1 AES_CM_128_HMAC_SHA1_80 " + key)
	f.Add("2 AES_CM_128_HMAC_SHA1_32 inline:abc|2^31")
	f.Fuzz(func(t *testing.T, s string) {
		if c, ok := parseCrypto(s); ok && len(c.key) != 30 {
			t.Fatalf("accepted a %d-byte key", len(c.key))
		}
	})
}
