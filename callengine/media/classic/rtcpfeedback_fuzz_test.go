package classic

import (
	"encoding/binary"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/parlo-voip/parlo/capture/videocodec"
)

// frameSource is the feedback rig's video source: a 2500-byte frame every
// 20 ms (three RTP packets), so our video stream exists and the NACK
// responder holds packets a NACK can ask for. Stop stops and awaits its
// goroutine.
type frameSource struct {
	mu         sync.Mutex
	stop, done chan struct{}
}

func (f *frameSource) Codecs() []videocodec.Name { return []videocodec.Name{videocodec.VP8} }

func (f *frameSource) Start(_ videocodec.Name, write func([]byte, time.Duration) error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stop != nil {
		return nil
	}
	f.stop, f.done = make(chan struct{}), make(chan struct{})
	go func(stop, done chan struct{}) {
		defer close(done)
		frame := make([]byte, 2500)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			_ = write(frame, 20*time.Millisecond)
		}
	}(f.stop, f.done)
	return nil
}

func (f *frameSource) RequestKeyframe() {}
func (f *frameSource) SetBitrate(int)   {}

func (f *frameSource) Stop() {
	f.mu.Lock()
	stop, done := f.stop, f.done
	f.stop = nil
	f.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
}

// Payload types of the feedback rig's video line.
const (
	fbPTVP8 = 96
	fbPTRTX = 97
)

// feedbackRig is a classic session that answered VP8 with RTX (RFC 4588)
// and generic NACK and PLI (RFC 4585) and sends video to peer, a socket of
// the test: what our NACK responder and RTX sender put on the wire can be
// read back. ssrc and seq are our video stream's SSRC and the sequence
// number of a packet we sent.
type feedbackRig struct {
	*handlerRig
	peer      *net.UDPConn
	ssrc      uint32
	seq       uint16
	peerVideo uint32 // the SSRC the peer's video seeds use
}

func newFeedbackRig(tb testing.TB, sdes bool) *feedbackRig {
	tb.Helper()
	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { peer.Close() })
	src := &frameSource{}
	h := newHandlerRigWith(tb, sdes, rigVideo{
		port:    peer.LocalAddr().(*net.UDPAddr).Port,
		formats: "96 97",
		attrs: "a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\na=rtcp-fb:96 ccm fir\r\n" +
			"a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n",
		sender: src,
	})
	r := &feedbackRig{handlerRig: h, peer: peer, peerVideo: 7}
	// Our first video packet (the RTP header is in the clear under SRTP
	// too) names the stream the seeds give feedback on.
	p, ok := r.readOurs(tb, 5*time.Second, func(p *rtp.Packet) bool { return p.PayloadType == fbPTVP8 })
	if !ok {
		tb.Fatal("the rig sent no video within 5 s")
	}
	r.ssrc, r.seq = p.SSRC, p.SequenceNumber
	return r
}

// readOurs reads what the session sent to the peer socket until match
// takes a packet, or the timeout passes.
func (r *feedbackRig) readOurs(tb testing.TB, timeout time.Duration, match func(*rtp.Packet) bool) (*rtp.Packet, bool) {
	tb.Helper()
	buf := make([]byte, 1600)
	end := time.Now().Add(timeout)
	for time.Now().Before(end) {
		_ = r.peer.SetReadDeadline(end)
		n, err := r.peer.Read(buf)
		if err != nil {
			return nil, false
		}
		var p rtp.Packet
		if p.Unmarshal(buf[:n]) == nil && match(&p) {
			return &p, true
		}
	}
	return nil, false
}

// seeds are well-formed datagrams of every feedback kind the classic path
// reads, aimed at the rig's streams (op byte as in handlerRig.feed): NACK,
// receiver and sender reports, PLI, FIR, REMB, BYE, SDES, a compound of
// them, the peer's video and an RTX repair of it.
func (r *feedbackRig) seeds(tb testing.TB) [][]byte {
	tb.Helper()
	const peerSSRC = 7
	marshal := func(pkts ...rtcp.Packet) []byte {
		b, err := rtcp.Marshal(pkts)
		if err != nil {
			tb.Fatal(err)
		}
		return b
	}
	rtpOf := func(pt uint8, seq uint16, payload []byte) []byte {
		b, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: 9000, SSRC: r.peerVideo, Marker: true}, Payload: payload}).Marshal()
		if err != nil {
			tb.Fatal(err)
		}
		return b
	}
	nack := &rtcp.TransportLayerNack{SenderSSRC: peerSSRC, MediaSSRC: r.ssrc, Nacks: []rtcp.NackPair{{PacketID: r.seq, LostPackets: 0xffff}}}
	rr := &rtcp.ReceiverReport{SSRC: peerSSRC, Reports: []rtcp.ReceptionReport{{SSRC: r.ssrc, FractionLost: 64, TotalLost: 3, LastSequenceNumber: uint32(r.seq), Jitter: 90, LastSenderReport: 0x12345678, Delay: 65536}}}
	sr := &rtcp.SenderReport{SSRC: peerSSRC, NTPTime: 0xe000000000000000, RTPTime: 9000, PacketCount: 10, OctetCount: 1000, Reports: rr.Reports}
	sdes := &rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{Source: peerSSRC, Items: []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: "peer"}}}}}
	vp8 := []byte{0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a}
	osn := make([]byte, 2)
	binary.BigEndian.PutUint16(osn, 100)
	var out [][]byte
	for _, op := range []byte{0, 4} { // plain, and encrypted on an SDES rig
		fb := op | 1 | 2 // the video line's RTCP port
		out = append(out,
			append([]byte{fb}, marshal(nack)...),
			append([]byte{fb}, marshal(rr, sdes)...),
			append([]byte{fb}, marshal(sr, sdes)...),
			append([]byte{fb}, marshal(rr, &rtcp.PictureLossIndication{SenderSSRC: peerSSRC, MediaSSRC: r.ssrc})...),
			append([]byte{fb}, marshal(rr, &rtcp.FullIntraRequest{SenderSSRC: peerSSRC, MediaSSRC: r.ssrc, FIR: []rtcp.FIREntry{{SSRC: r.ssrc, SequenceNumber: 1}}})...),
			append([]byte{fb}, marshal(rr, &rtcp.ReceiverEstimatedMaximumBitrate{SenderSSRC: peerSSRC, Bitrate: 300000, SSRCs: []uint32{r.ssrc}})...),
			append([]byte{fb}, marshal(rr, nack, sdes, &rtcp.Goodbye{Sources: []uint32{peerSSRC}, Reason: "bye"})...),
			append([]byte{op | 1}, rtpOf(fbPTVP8, 101, vp8)...),
			append([]byte{op | 1}, rtpOf(fbPTRTX, 5, append(osn, vp8...))...),
			append([]byte{op | 2}, marshal(sr, sdes)...), // the audio line's RTCP
		)
	}
	return out
}

// FuzzClassicRTCPFeedback feeds datagrams to a classic session whose video
// negotiated NACK, PLI, FIR and RTX and which is sending video: the RTCP
// interceptor chain (sender/receiver reports, NACK generator and
// responder, stats), the video sender's feedback handling and the RTX
// repair of the peer's video all take network input here, plain and SDES.
// Nothing may panic, and the session must still answer for its stats.
func FuzzClassicRTCPFeedback(f *testing.F) {
	rigs := map[bool]*feedbackRig{false: newFeedbackRig(f, false), true: newFeedbackRig(f, true)}
	for _, sdes := range []bool{false, true} {
		for _, p := range rigs[sdes].seeds(f) {
			f.Add(sdes, p)
		}
	}
	f.Fuzz(func(t *testing.T, sdes bool, data []byte) {
		r := rigs[sdes]
		r.feed(data)
		_ = r.s.Stats()
	})
}

// The rig reaches what the fuzzer is for: a NACK for a packet we sent
// comes back as an RTX retransmission of it (RFC 4588 §4: original
// sequence number first), and an RTX packet of the peer's counts as a
// repair of its video.
func TestClassicRTCPFeedbackRig(t *testing.T) {
	r := newFeedbackRig(t, false)
	seeds := r.seeds(t)
	r.feed(seeds[7]) // the peer's video, so its RTX has a stream to repair
	r.feed(seeds[0]) // NACK for 17 of our packets from r.seq
	p, ok := r.readOurs(t, 2*time.Second, func(p *rtp.Packet) bool { return p.PayloadType == fbPTRTX })
	if !ok {
		t.Fatalf("no RTX retransmission after a NACK; stats %+v", r.s.Stats().Video)
	}
	if osn := binary.BigEndian.Uint16(p.Payload); osn-r.seq > 16 {
		t.Fatalf("RTX repairs seq %d, the NACK asked for %d..%d", osn, r.seq, r.seq+16)
	}
	if st := r.s.Stats().Video.Sent; st.NACKsReceived == 0 {
		t.Errorf("NACK not counted: %+v", st)
	}
	r.feed(seeds[8]) // the peer's RTX
	if st := r.s.Stats().Video.Received; st.Retransmissions == 0 {
		t.Errorf("the peer's RTX packet not counted as a repair: %+v", st)
	}
}
