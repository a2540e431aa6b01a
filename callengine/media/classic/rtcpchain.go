package classic

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/parlo-voip/parlo/callengine/media/rtpmedia"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// RTCP timing of a classic line.
const (
	// reportInterval is how often sender and receiver reports go out (RFC
	// 3550 §6.4); sender reports at random waits around it (rtpmedia.NewReportTicker).
	// One a second, as on the WebRTC path: a compound SR or RR
	// with SDES is under 100 bytes, 0.8 kbit/s, well inside the 5 % of the
	// session bandwidth RFC 3550 §6.2 gives RTCP even for G.711 (64 kbit/s),
	// and a round-trip time is known a second into the call.
	reportInterval = time.Second
	// nackInterval and nackRetries ask again for a missing video packet
	// every 20 ms, up to ten times (RFC 4585 §6.2.1): the retransmissions
	// fit the receiver's 200 ms repair window (rtpmedia.DefaultRepairWait)
	// before it falls back to a keyframe request.
	nackInterval = 20 * time.Millisecond
	nackRetries  = 10
	// maxRemoteStreams bounds the peer's SSRCs a line reports on: a peer
	// that keeps changing SSRC must not grow our state without end.
	maxRemoteStreams = 8
)

// streamInfoFunc describes one RTP stream of a line for the interceptors:
// its clock rate and whether generic NACK (RFC 4585 §4.2 "nack") was
// negotiated for its payload type. ok is false for a payload type the line
// did not negotiate.
type streamInfoFunc func(ssrc uint32, pt uint8, local bool) (info interceptor.StreamInfo, ok bool)

// rtcpChain runs pion's RTCP interceptors over one line's RTP streams: the
// report interceptors send sender and receiver reports (RFC 3550 §6.4), the
// NACK generator and responder ask for and resend lost video packets (RFC
// 4585 §6.2.1), and the stats interceptor reads jitter, loss, round-trip
// time and feedback counts out of both directions. The interceptors only
// need RTP and RTCP readers and writers, not a PeerConnection, so a classic
// line gets the same well-tested code as the WebRTC path instead of a
// second RTCP stack written by hand.
//
// The transport pushes packets (its link calls it per datagram) while the
// interceptors pull through readers: each packet is handed in under a lock
// and read back at once by the innermost reader.
type rtcpChain struct {
	ic    interceptor.Interceptor
	stats stats.Getter
	info  streamInfoFunc
	cname string

	rtcpOut interceptor.RTCPWriter
	sendRTP func(*rtp.Packet) error

	mu     sync.Mutex
	local  map[uint32]interceptor.RTPWriter
	remote map[uint32]interceptor.RTPReader
	closed bool

	// rtpMu and rtcpMu hand one incoming packet at a time through the
	// readers (the RTP and RTCP ports have their own goroutines).
	rtpMu, rtcpMu   sync.Mutex
	rtpCur, rtcpCur []byte
	rtpBuf, rtcpBuf []byte
	rtcpIn          interceptor.RTCPReader
}

// errChainClosed ends a read or write after the line closed.
var errChainClosed = errors.New("classic: RTCP chain closed")

// newRTCPChain builds the interceptors for one line. sendRTP and sendRTCP
// put a packet on the wire (SRTP-protected as the line is); cname is the
// SDES CNAME of our reports (RFC 3550 §6.5.1).
func newRTCPChain(info streamInfoFunc, cname string, sendRTP func(*rtp.Packet) error, sendRTCP func([]rtcp.Packet) error) (*rtcpChain, error) {
	c := &rtcpChain{
		info: info, cname: cname, sendRTP: sendRTP,
		local:   map[uint32]interceptor.RTPWriter{},
		remote:  map[uint32]interceptor.RTPReader{},
		rtpBuf:  make([]byte, 1600),
		rtcpBuf: make([]byte, 1600),
	}
	sf, err := stats.NewInterceptor()
	if err != nil {
		return nil, fmt.Errorf("classic: stats interceptor: %w", err)
	}
	sf.OnNewPeerConnection(func(_ string, g stats.Getter) { c.stats = g })
	rr, err := report.NewReceiverInterceptor(report.ReceiverInterval(reportInterval))
	if err != nil {
		return nil, fmt.Errorf("classic: receiver reports: %w", err)
	}
	sr, err := report.NewSenderInterceptor(report.SenderInterval(reportInterval), report.SenderTicker(rtpmedia.NewReportTicker))
	if err != nil {
		return nil, fmt.Errorf("classic: sender reports: %w", err)
	}
	gen, err := nack.NewGeneratorInterceptor(nack.GeneratorInterval(nackInterval), nack.GeneratorMaxNacksPerPacket(nackRetries))
	if err != nil {
		return nil, fmt.Errorf("classic: NACK generator: %w", err)
	}
	resp, err := nack.NewResponderInterceptor()
	if err != nil {
		return nil, fmt.Errorf("classic: NACK responder: %w", err)
	}
	// The first added wraps the wire most closely: the stats must see
	// every report, NACK and resend the others write.
	reg := &interceptor.Registry{}
	reg.Add(sf)
	reg.Add(resp)
	reg.Add(gen)
	reg.Add(rr)
	reg.Add(sr)
	ic, err := reg.Build("")
	if err != nil {
		return nil, fmt.Errorf("classic: interceptors: %w", err)
	}
	c.ic = ic
	c.rtcpOut = ic.BindRTCPWriter(interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, _ interceptor.Attributes) (int, error) {
		if len(pkts) == 0 {
			return 0, nil
		}
		return 0, sendRTCP(c.compound(pkts))
	}))
	c.rtcpIn = ic.BindRTCPReader(interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		return copy(b, c.rtcpCur), a, nil
	}))
	return c, nil
}

// compound makes what the interceptors send a compound packet (RFC 3550
// §6.1): it starts with a report (an empty RR before lone feedback, RFC 4585
// §3.1) and carries an SDES CNAME for the reporting source, which strict
// peers require before they use the report.
func (c *rtcpChain) compound(pkts []rtcp.Packet) []rtcp.Packet {
	var src uint32
	switch p := pkts[0].(type) {
	case *rtcp.SenderReport:
		src = p.SSRC
	case *rtcp.ReceiverReport:
		src = p.SSRC
	default:
		switch p := pkts[0].(type) {
		case *rtcp.PictureLossIndication:
			src = p.SenderSSRC
		case *rtcp.TransportLayerNack:
			src = p.SenderSSRC
		case *rtcp.FullIntraRequest:
			src = p.SenderSSRC
		}
		pkts = append([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: src}}, pkts...)
	}
	return append(pkts, &rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{
		Source: src,
		Items:  []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: c.cname}},
	}}})
}

// writeRTP sends one of our packets through the interceptors (the sender
// report counts it, the NACK responder keeps it for a resend).
func (c *rtcpChain) writeRTP(p *rtp.Packet) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return errChainClosed
	}
	w, ok := c.local[p.SSRC]
	if !ok {
		info, known := c.info(p.SSRC, p.PayloadType, true)
		if !known {
			c.mu.Unlock()
			return c.sendRTP(p)
		}
		w = c.ic.BindLocalStream(&info, interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, _ interceptor.Attributes) (int, error) {
			return len(payload), c.sendRTP(&rtp.Packet{Header: *h, Payload: payload})
		}))
		c.local[p.SSRC] = w
	}
	c.mu.Unlock()
	_, err := w.Write(&p.Header, p.Payload, nil)
	return err
}

// readRTP passes one received (decrypted) RTP packet through the
// interceptors: the receiver report and the stats count it, the NACK
// generator notes the gap before it.
func (c *rtcpChain) readRTP(raw []byte, p *rtp.Packet) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	r, ok := c.remote[p.SSRC]
	if !ok {
		info, known := c.info(p.SSRC, p.PayloadType, false)
		if !known || len(c.remote) >= maxRemoteStreams {
			c.mu.Unlock()
			return
		}
		r = c.ic.BindRemoteStream(&info, interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
			return copy(b, c.rtpCur), a, nil
		}))
		c.remote[p.SSRC] = r
	}
	c.mu.Unlock()
	c.rtpMu.Lock()
	defer c.rtpMu.Unlock()
	c.rtpCur = raw
	_, _, _ = r.Read(c.rtpBuf, interceptor.Attributes{})
	c.rtpCur = nil
}

// readRTCP passes one received (decrypted) compound RTCP packet through the
// interceptors: the NACK responder resends what a NACK asks for, the
// receiver report takes the SR's timestamps for LSR/DLSR, the stats read
// round-trip time and the peer's feedback.
func (c *rtcpChain) readRTCP(raw []byte) {
	c.rtcpMu.Lock()
	defer c.rtcpMu.Unlock()
	c.rtcpCur = raw
	_, _, _ = c.rtcpIn.Read(c.rtcpBuf, interceptor.Attributes{})
	c.rtcpCur = nil
}

// writeRTCP sends feedback of ours (a PLI) through the interceptors, so the
// stats count it.
func (c *rtcpChain) writeRTCP(pkts []rtcp.Packet) error {
	_, err := c.rtcpOut.Write(pkts, interceptor.Attributes{})
	return err
}

// streamStats is what the stats interceptor measured of ssrc (nil before
// any packet of it).
func (c *rtcpChain) streamStats(ssrc uint32) *stats.Stats {
	if c == nil || c.stats == nil || ssrc == 0 {
		return nil
	}
	return c.stats.Get(ssrc)
}

// close stops the interceptors' report and NACK loops; idempotent.
func (c *rtcpChain) close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	return c.ic.Close()
}
