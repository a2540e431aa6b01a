package classic

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/parlo-voip/parlo/callengine/media"
)

// A peer without rtcp-mux (a plain RTP/AVP offer, as from a desk phone):
// Parlo's reports come on the port after the peer's RTP port (RFC 3550
// §11) as compound packets, SR and RR each with an SDES CNAME (§6.1), and
// the RR reports on the stream the peer sends. The peer here is two UDP
// sockets in the test.
func TestClassicRTCPOnNextPort(t *testing.T) {
	var rtpC, rtcpC *net.UDPConn
	for port := 30000; port < 31000; port += 2 {
		c1, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		if err != nil {
			continue
		}
		c2, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port + 1})
		if err != nil {
			c1.Close()
			continue
		}
		rtpC, rtcpC = c1, c2
		break
	}
	if rtpC == nil {
		t.Fatal("no free port pair")
	}
	defer rtpC.Close()
	defer rtcpC.Close()
	port := rtpC.LocalAddr().(*net.UDPAddr).Port

	b := newPeer(t, 660, media.SRTPOff)
	offer := fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n", port)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ans, err := b.s.CreateAnswer(ctx, []byte(offer), media.SendRecv)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`m=audio (\d+) `).FindSubmatch(ans)
	if m == nil || regexp.MustCompile(`a=rtcp-mux`).Match(ans) {
		t.Fatalf("answer without an audio line, or muxed to a peer that did not offer rtcp-mux:\n%s", ans)
	}
	bPort, _ := strconv.Atoi(string(m[1]))

	// The peer's PCMU stream (silence), 20 ms apart.
	const ssrc = 0x1234abcd
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: bPort}
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(i), Timestamp: uint32(160 * i), SSRC: ssrc}, Payload: make([]byte, 160)}
			raw, _ := p.Marshal()
			_, _ = rtpC.WriteToUDP(raw, to)
		}
	}()
	defer func() { close(stop); wg.Wait() }()

	var sawSR, sawRR bool
	buf := make([]byte, 1500)
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end) && !(sawSR && sawRR); {
		_ = rtcpC.SetReadDeadline(end)
		n, _, err := rtcpC.ReadFromUDP(buf)
		if err != nil {
			break
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			t.Fatalf("RTCP port got an unparseable packet: %v", err)
		}
		if len(pkts) < 2 {
			t.Fatalf("not a compound packet: %v", pkts)
		}
		sdes, ok := pkts[len(pkts)-1].(*rtcp.SourceDescription)
		if !ok || len(sdes.Chunks) != 1 || sdes.Chunks[0].Items[0].Type != rtcp.SDESCNAME {
			t.Fatalf("compound packet without SDES CNAME: %v", pkts)
		}
		switch r := pkts[0].(type) {
		case *rtcp.SenderReport:
			sawSR = r.SSRC == b.s.audioSSRC && r.PacketCount > 0
		case *rtcp.ReceiverReport:
			for _, rep := range r.Reports {
				if rep.SSRC == ssrc && rep.LastSequenceNumber > 0 {
					sawRR = true
				}
			}
		}
	}
	if !sawSR || !sawRR {
		t.Fatalf("on the RTCP port (RTP+1) in 5 s: sender report %v, receiver report on our stream %v", sawSR, sawRR)
	}
}

// RTX (RFC 4588) is negotiated like a codec: our answer carries the rtx
// format of the video codec it picked when the offer has one for it, and
// nothing about RTX when the offer has none. Generic NACK is answered
// beside PLI.
func TestClassicRTXNegotiation(t *testing.T) {
	const head = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=rtcp-mux\r\n"
	for _, tc := range []struct {
		name, video string
		want        []string
		not         []string
	}{
		{"rtx offered", "m=video 40002 RTP/AVP 100 101\r\na=rtpmap:100 VP8/90000\r\na=rtcp-fb:100 nack\r\na=rtpmap:101 rtx/90000\r\na=fmtp:101 apt=100\r\na=rtcp-mux\r\n",
			[]string{"RTP/AVP 100 101\r\n", "a=rtpmap:101 rtx/90000", "a=fmtp:101 apt=100", "a=rtcp-fb:100 nack\r\n"}, nil},
		{"no rtx", "m=video 40002 RTP/AVP 100\r\na=rtpmap:100 VP8/90000\r\na=rtcp-mux\r\n",
			[]string{"RTP/AVP 100\r\n"}, []string{"rtx"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newPeer(t, 660, media.SRTPOff)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			ans, err := b.s.CreateAnswer(ctx, []byte(head+tc.video), media.SendRecv)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(ans), w) {
					t.Errorf("answer lacks %q:\n%s", w, ans)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(string(ans), n) {
					t.Errorf("answer has %q:\n%s", n, ans)
				}
			}
		})
	}
}
