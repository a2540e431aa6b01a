package webrtcmedia

import (
	"errors"
	"strings"
	"testing"

	"github.com/pion/sdp/v3"

	"github.com/parlo-voip/parlo/callengine/media"
)

// baresipAnswer is shaped like baresip 1.0's answer to pion: no a=mid, no
// BUNDLE group, a real address in c= and m=.
const testFingerprint = "sha-256 00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:1F"

const baresipAnswer = "v=0\r\n" +
	"o=- 1 2 IN IP4 127.0.0.1\r\n" +
	"s=-\r\n" +
	"c=IN IP4 127.0.0.1\r\n" +
	"t=0 0\r\n" +
	"a=ice-ufrag:abcd\r\n" +
	"a=ice-pwd:0123456789012345678901\r\n" +
	"a=fingerprint:" + testFingerprint + "\r\n" +
	"m=audio 40000 UDP/TLS/RTP/SAVPF 111 101\r\n" +
	"a=rtpmap:111 opus/48000/2\r\n" +
	"a=rtpmap:101 telephone-event/8000\r\n" +
	"a=rtcp-mux\r\n" +
	"a=setup:active\r\n" +
	"a=candidate:1 1 UDP 2130706431 127.0.0.1 40000 typ host\r\n" +
	"a=sendrecv\r\n"

func mustParse(t *testing.T, s string) *sdp.SessionDescription {
	t.Helper()
	sd, err := parseSDP([]byte(s))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, s)
	}
	return sd
}

func TestValidateWebRTC(t *testing.T) {
	tests := []struct {
		name    string
		sdp     string
		wantErr error
		reason  string
	}{
		{"valid", baresipAnswer, nil, ""},
		{"unparseable", "v=0\r\nthis is not sdp\r\n", media.ErrBadSDP, "unparseable"},
		{"empty", "", media.ErrBadSDP, ""},
		{"no audio", strings.Replace(baresipAnswer, "m=audio", "m=video", 1), media.ErrBadSDP, "no audio"},
		{"plain RTP/AVP", strings.Replace(baresipAnswer, "UDP/TLS/RTP/SAVPF", "RTP/AVP", 1), media.ErrBadSDP, "WebRTC profile"},
		{"SDES RTP/SAVP", strings.Replace(baresipAnswer, "UDP/TLS/RTP/SAVPF", "RTP/SAVP", 1), media.ErrBadSDP, "WebRTC profile"},
		{"no ufrag", strings.Replace(baresipAnswer, "a=ice-ufrag:abcd\r\n", "", 1), media.ErrBadSDP, "ICE credentials"},
		{"no pwd", strings.Replace(baresipAnswer, "a=ice-pwd:0123456789012345678901\r\n", "", 1), media.ErrBadSDP, "ICE credentials"},
		{"no fingerprint", strings.Replace(baresipAnswer, "a=fingerprint:"+testFingerprint+"\r\n", "", 1), media.ErrBadSDP, "fingerprint"},
		{"md5 fingerprint", strings.Replace(baresipAnswer, "a=fingerprint:sha-256", "a=fingerprint:md5", 1), media.ErrBadSDP, "not supported"},
		{"short fingerprint", strings.Replace(baresipAnswer, "a=fingerprint:"+testFingerprint, "a=fingerprint:sha-256 AA:BB", 1), media.ErrBadSDP, "2 bytes"},
		{"non-hex fingerprint", strings.Replace(baresipAnswer, "sha-256 00:", "sha-256 0G:", 1), media.ErrBadSDP, "not hex"},
		{"sha-1 fingerprint", strings.Replace(baresipAnswer, "a=fingerprint:"+testFingerprint, "a=fingerprint:SHA-1 "+testFingerprint[8:8+59], 1), nil, ""},
		{"rejected port 0", strings.Replace(baresipAnswer, "m=audio 40000", "m=audio 0", 1), media.ErrNoCommonCodec, "port 0"},
		{"only G.729", strings.NewReplacer("111 101\r\n", "18\r\n", "a=rtpmap:111 opus/48000/2\r\n", "a=rtpmap:18 G729/8000\r\n").Replace(baresipAnswer), media.ErrNoCommonCodec, ""},
		{"static PCMA without rtpmap", strings.NewReplacer("111 101\r\n", "8\r\n", "a=rtpmap:111 opus/48000/2\r\n", "").Replace(baresipAnswer), nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sd, err := parseSDP([]byte(tt.sdp))
			if err == nil {
				err = validateWebRTC(sd)
			}
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("err %q does not say %q", err, tt.reason)
			}
		})
	}
}

func TestAudioCodecs(t *testing.T) {
	tests := []struct {
		name    string
		formats string
		rtpmaps string
		want    string
	}{
		{"pion order", "111 0 8 110 101", "a=rtpmap:111 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:110 telephone-event/48000\r\na=rtpmap:101 telephone-event/8000\r\n", "opus,PCMU,PCMA"},
		{"static without rtpmap", "8 0", "", "PCMA,PCMU"},
		{"desk phone g722", "9 0 101", "a=rtpmap:9 G722/8000\r\na=rtpmap:101 telephone-event/8000\r\n", "G722,PCMU"},
		{"g722 static", "9", "", "G722"},
		{"case insensitive", "96", "a=rtpmap:96 OPUS/48000/2\r\n", "opus"},
		{"wrong clock rates", "111 0 8", "a=rtpmap:111 opus/1\r\na=rtpmap:0 PCMU/16000\r\na=rtpmap:8 PCMA\r\n", ""},
		{"unknown only", "18 101", "a=rtpmap:18 G729/8000\r\na=rtpmap:101 telephone-event/8000\r\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := strings.NewReplacer("111 101\r\n", tt.formats+"\r\n",
				"a=rtpmap:111 opus/48000/2\r\na=rtpmap:101 telephone-event/8000\r\n", tt.rtpmaps).Replace(baresipAnswer)
			sd := mustParse(t, s)
			if got := strings.Join(audioCodecs(sd.MediaDescriptions[0]), ","); got != tt.want {
				t.Fatalf("codecs = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRemoteDirection(t *testing.T) {
	noCand := strings.Replace(baresipAnswer, "a=candidate:1 1 UDP 2130706431 127.0.0.1 40000 typ host\r\n", "", 1)
	held := strings.Replace(noCand, "c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0", 1)
	tests := []struct {
		name string
		sdp  string
		want media.Direction
	}{
		{"explicit sendrecv", baresipAnswer, media.SendRecv},
		{"default sendrecv", strings.Replace(baresipAnswer, "a=sendrecv\r\n", "", 1), media.SendRecv},
		{"sendonly", strings.Replace(baresipAnswer, "a=sendrecv", "a=sendonly", 1), media.SendOnly},
		{"recvonly", strings.Replace(baresipAnswer, "a=sendrecv", "a=recvonly", 1), media.RecvOnly},
		{"inactive", strings.Replace(baresipAnswer, "a=sendrecv", "a=inactive", 1), media.Inactive},
		{"session level sendonly", strings.Replace(strings.Replace(baresipAnswer, "a=sendrecv\r\n", "", 1),
			"t=0 0\r\n", "t=0 0\r\na=sendonly\r\n", 1), media.SendOnly},
		{"media level wins", strings.Replace(strings.Replace(baresipAnswer, "a=sendrecv", "a=recvonly", 1),
			"t=0 0\r\n", "t=0 0\r\na=sendonly\r\n", 1), media.RecvOnly},
		{"legacy hold c=0.0.0.0", held, media.SendOnly},
		{"legacy hold + recvonly", strings.Replace(held, "a=sendrecv", "a=recvonly", 1), media.Inactive},
		{"0.0.0.0 with candidates is JSEP, not hold",
			strings.Replace(baresipAnswer, "c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0", 1), media.SendRecv},
		{"0.0.0.0 port 9 is trickle, not hold", strings.Replace(held, "m=audio 40000", "m=audio 9", 1), media.SendRecv},
		{"no audio", strings.Replace(baresipAnswer, "m=audio", "m=video", 1), media.Inactive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := remoteDirection(mustParse(t, tt.sdp)); got != tt.want {
				t.Fatalf("direction = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSetAudioDirection(t *testing.T) {
	tests := []struct {
		name string
		in   string
		dir  media.Direction
	}{
		{"replace sendrecv", baresipAnswer, media.SendOnly},
		{"add when absent", strings.Replace(baresipAnswer, "a=sendrecv\r\n", "", 1), media.Inactive},
		{"drop session level", strings.Replace(baresipAnswer, "t=0 0\r\n", "t=0 0\r\na=recvonly\r\n", 1), media.SendRecv},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sd := mustParse(t, tt.in)
			setAudioDirection(sd, tt.dir)
			out, err := sd.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for d := range directionAttrs {
				n += strings.Count(string(out), "a="+d+"\r\n")
			}
			if n != 1 || !strings.Contains(string(out), "a="+tt.dir.String()+"\r\n") {
				t.Fatalf("want exactly one a=%v, got:\n%s", tt.dir, out)
			}
			if got := remoteDirection(mustParse(t, string(out))); got != tt.dir {
				t.Fatalf("reparsed direction %v, want %v", got, tt.dir)
			}
		})
	}
}

func TestFillMissingMIDs(t *testing.T) {
	local := mustParse(t, strings.Replace(baresipAnswer, "a=sendrecv\r\n", "a=sendrecv\r\na=mid:audio0\r\n", 1))
	tests := []struct {
		name  string
		sdp   string
		local *sdp.SessionDescription
		want  string
	}{
		{"baresip answer gets local mid", baresipAnswer, local, "audio0"},
		{"own mid kept", strings.Replace(baresipAnswer, "a=sendrecv\r\n", "a=sendrecv\r\na=mid:x\r\n", 1), local, "x"},
		{"offer without local uses index", baresipAnswer, nil, "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sd := mustParse(t, tt.sdp)
			fillMissingMIDs(sd, tt.local)
			n := 0
			for _, a := range sd.MediaDescriptions[0].Attributes {
				if a.Key == attrMid {
					n++
				}
			}
			got, _ := sd.MediaDescriptions[0].Attribute(attrMid)
			if got != tt.want || n != 1 {
				t.Fatalf("mid = %q (%d of them), want %q", got, n, tt.want)
			}
		})
	}
}

func TestApplyDefaultCandidate(t *testing.T) {
	pionOffer := "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n" +
		"a=fingerprint:sha-256 AA:BB\r\na=group:BUNDLE 0\r\n" +
		"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n" +
		"a=ice-ufrag:u\r\na=ice-pwd:p\r\na=mid:0\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n"
	tests := []struct {
		name       string
		candidates string
		wantAddr   string
		wantPort   string
	}{
		{"loopback host", "a=candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host\r\n", "127.0.0.1", "50000"},
		{"highest priority host", "a=candidate:1 1 udp 100 10.0.0.1 50001 typ host\r\n" +
			"a=candidate:2 1 udp 2130706431 192.168.1.2 50002 typ host\r\n", "192.168.1.2", "50002"},
		{"srflx beats host", "a=candidate:1 1 udp 2130706431 192.168.1.2 50002 typ host\r\n" +
			"a=candidate:2 1 udp 1694498815 203.0.113.7 61000 typ srflx raddr 192.168.1.2 rport 50002\r\n", "203.0.113.7", "61000"},
		{"skips IPv6, tcp, rtcp component and mDNS", "a=candidate:1 1 udp 2130706431 ::1 50003 typ host\r\n" +
			"a=candidate:2 1 tcp 2130706431 10.1.1.1 9 typ host tcptype active\r\n" +
			"a=candidate:3 2 udp 2130706431 10.2.2.2 50004 typ host\r\n" +
			"a=candidate:4 1 udp 2130706431 abc.local 50005 typ host\r\n" +
			"a=candidate:5 1 udp 10 10.3.3.3 50006 typ host\r\n", "10.3.3.3", "50006"},
		{"no candidate leaves 0.0.0.0 / 9", "", "0.0.0.0", "9"},
		{"garbage candidate ignored", "a=candidate:1 x udp y 1.2.3.4 z typ host\r\n", "0.0.0.0", "9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sd := mustParse(t, pionOffer+tt.candidates)
			applyDefaultCandidate(sd)
			out, err := sd.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			s := string(out)
			if !strings.Contains(s, "m=audio "+tt.wantPort+" ") || !strings.Contains(s, "c=IN IP4 "+tt.wantAddr+"\r\n") {
				t.Fatalf("want m= port %s and c= %s, got:\n%s", tt.wantPort, tt.wantAddr, s)
			}
			hasRTCP := strings.Contains(s, "a=rtcp:"+tt.wantPort+" IN IP4 "+tt.wantAddr+"\r\n")
			if hasRTCP != (tt.wantPort != "9") {
				t.Fatalf("a=rtcp present=%v for port %s:\n%s", hasRTCP, tt.wantPort, s)
			}
			if strings.Count(s, "a=rtcp:") > 1 {
				t.Fatalf("a=rtcp duplicated:\n%s", s)
			}
		})
	}
}

func TestTrimForSIP(t *testing.T) {
	in := baresipAnswer + "a=ssrc:1 cname:c\r\na=ssrc:1 msid:s t\r\na=ssrc:1 mslabel:s\r\na=ssrc:1 label:t\r\n" +
		"a=candidate:2 1 udp 1694498815 203.0.113.7 61000 typ srflx raddr 10.0.0.1 rport 50002 ufrag abc generation 0\r\n" +
		"a=candidate:3 1 tcp 1 10.0.0.1 9 typ host tcptype active generation 0\r\n"
	sd := mustParse(t, in)
	trimForSIP(sd)
	out, _ := sd.Marshal()
	s := string(out)
	for _, want := range []string{"a=ssrc:1 cname:c", "a=ssrc:1 msid:s t",
		"a=candidate:1 1 UDP 2130706431 127.0.0.1 40000 typ host\r\n",
		"a=candidate:2 1 udp 1694498815 203.0.113.7 61000 typ srflx raddr 10.0.0.1 rport 50002\r\n",
		"a=candidate:3 1 tcp 1 10.0.0.1 9 typ host tcptype active\r\n"} {
		if !strings.Contains(s, want) {
			t.Errorf("%q dropped", want)
		}
	}
	for _, gone := range []string{"mslabel:", "label:t", "ufrag abc", "generation"} {
		if strings.Contains(s, gone) {
			t.Errorf("%q kept", gone)
		}
	}
}

func TestPrepareIncomingKeepsPionSendrecv(t *testing.T) {
	tests := []struct {
		attr string
		want media.Direction
	}{
		{"a=inactive", media.Inactive},
		{"a=sendonly", media.SendOnly},
		{"a=recvonly", media.RecvOnly},
		{"a=sendrecv", media.SendRecv},
	}
	for _, tt := range tests {
		t.Run(tt.attr, func(t *testing.T) {
			sd := mustParse(t, strings.Replace(baresipAnswer, "a=sendrecv", tt.attr, 1))
			if got := prepareIncoming(sd, nil); got != tt.want {
				t.Fatalf("direction %v, want %v", got, tt.want)
			}
			if got := remoteDirection(sd); got != media.SendRecv {
				t.Fatalf("pion would see %v, want sendrecv", got)
			}
		})
	}
}

func TestBundleSingleLine(t *testing.T) {
	const head = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
	cases := []struct {
		name    string
		sdp     string
		added   bool
		wantErr bool
	}{
		{"baresip audio only, no group", head + "m=audio 4000 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\n", true, false},
		{"already bundled", head + "a=group:BUNDLE 0\r\nm=audio 4000 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\n", false, false},
		{"audio + rejected video", head + "m=audio 4000 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\nm=video 0 UDP/TLS/RTP/SAVPF 97\r\na=mid:1\r\n", true, false},
		{"audio + video, no group", head + "m=audio 4000 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\nm=video 4002 UDP/TLS/RTP/SAVPF 97\r\na=mid:1\r\n", false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sd, err := parseSDP([]byte(tc.sdp))
			if err != nil {
				t.Fatal(err)
			}
			added, err := bundleSingleLine(sd)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v", err)
			}
			if tc.wantErr && !errors.Is(err, media.ErrBadSDP) {
				t.Fatalf("error %v does not wrap ErrBadSDP", err)
			}
			if added != tc.added {
				t.Fatalf("added %v, want %v", added, tc.added)
			}
			if !tc.wantErr && !hasBundleGroup(sd) {
				t.Fatal("no BUNDLE group after the shim")
			}
			if added {
				dropBundleGroup(sd)
				if hasBundleGroup(sd) {
					t.Fatal("dropBundleGroup left the group")
				}
			}
		})
	}
}

func TestLocalizeCandidates(t *testing.T) {
	sd, err := parseSDP([]byte("v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=-\r\nt=0 0\r\n" +
		"m=audio 4000 UDP/TLS/RTP/SAVPF 111\r\n" +
		"a=candidate:1 1 UDP 2113929471 10.0.0.5 4000 typ host\r\n" +
		"a=candidate:2 1 UDP 2113929471 203.0.113.7 4000 typ host\r\n" +
		"a=candidate:3 1 UDP 1686052607 10.0.0.5 5000 typ srflx raddr 10.0.0.5 rport 4000\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	localizeCandidates(sd, map[string]bool{"10.0.0.5": true})
	var got []string
	for _, a := range sd.MediaDescriptions[0].Attributes {
		if a.Key == "candidate" {
			got = append(got, a.Value)
		}
	}
	want := []string{
		"1 1 UDP 2113929471 127.0.0.1 4000 typ host",                           // ours: via loopback
		"2 1 UDP 2113929471 203.0.113.7 4000 typ host",                         // not this host's
		"3 1 UDP 1686052607 10.0.0.5 5000 typ srflx raddr 10.0.0.5 rport 4000", // not host type
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("candidate %d: %q, want %q", i, got[i], want[i])
		}
	}
}

// A rejected line without rtpmaps (rtpengine's answer to a second audio
// line) keeps only what pion can map; live lines are left alone.
func TestDropUnmappedRejectedFormats(t *testing.T) {
	for _, tt := range []struct {
		name, media string
		want        []string
	}{
		{"bare rejected line", "m=audio 0 UDP/TLS/RTP/SAVPF 111 110\r\na=mid:1\r\n", []string{"0"}},
		{"rejected line, one rtpmap", "m=audio 0 UDP/TLS/RTP/SAVPF 111 110\r\na=mid:1\r\na=rtpmap:111 opus/48000/2\r\n", []string{"111"}},
		{"live line untouched", "m=audio 4000 UDP/TLS/RTP/SAVPF 111 110\r\na=mid:1\r\n", []string{"111", "110"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sd := mustParse(t, "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"+tt.media)
			dropUnmappedRejectedFormats(sd)
			if got := sd.MediaDescriptions[0].MediaName.Formats; strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Fatalf("formats %v, want %v", got, tt.want)
			}
			raw, err := sd.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := parseSDP(raw); err != nil {
				t.Fatalf("reparse: %v", err)
			}
		})
	}
}
