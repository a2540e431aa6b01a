package callengine

import (
	"crypto/tls"
	"net"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// flushStreamAck makes the kernel acknowledge at once what arrived on the
// stream connection a provisional response came in on.
//
// Why: a peer that leaves Nagle's algorithm on (RFC 896; baresip 1.0 does)
// sends its 180 Ringing, then holds the 200 OK that follows until the 180 is
// acknowledged. On a connection past its first few segments Linux delays
// that ACK by up to 40 ms (RFC 1122 §4.2.3.2 allows 500) hoping to piggyback
// it on data, and we have nothing to send after a 180. The 200 OK, and with
// it the whole media set-up, then waits the full 40 ms. Acknowledging each
// provisional response at once costs one empty segment.
func (p *Phone) flushStreamAck(res *sip.Response) {
	network := strings.ToLower(res.Transport())
	if network != "tcp" && network != "tls" {
		return
	}
	tl := p.ua.TransportLayer()
	c, err := tl.GetConnection(network, res.Source())
	if err != nil || c == nil {
		return
	}
	defer c.Ref(-1)
	// TLS connections are TCPConnections around a *tls.Conn in sipgo.
	sc, ok := c.(*sip.TCPConnection)
	if !ok {
		return
	}
	nc := sc.Conn
	if t, ok := nc.(*tls.Conn); ok {
		nc = t.NetConn()
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		quickAck(tc)
	}
}
