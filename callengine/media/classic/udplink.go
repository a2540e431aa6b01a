package classic

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
)

// udpLink is a classic RTP port pair: RTP on an even port, RTCP on the next
// (RFC 3550 §11), or both on the RTP port with rtcp-mux (RFC 5761).
//
// Symmetric RTP (RFC 4961): the SDP address is only where we start sending;
// once genuine media arrives from elsewhere (a NAT in front of the peer), we
// send to where it came from.
type udpLink struct {
	rtpConn, rtcpConn *net.UDPConn
	advertised        net.IP

	mu              sync.Mutex
	remRTP, remRTCP *net.UDPAddr
	sdpRTP          *net.UDPAddr // what the peer's SDP said last
	mux             bool
	latched         bool // remRTP comes from received media, not SDP
	latchedRTCP     bool
	wg              sync.WaitGroup
	closeOnce       sync.Once
}

// newUDPLink binds a port pair on bindIP and advertises advertised.
func newUDPLink(bindIP, advertised net.IP) (*udpLink, error) {
	var lastErr error
	for range 100 {
		port := 20000 + 2*rand.IntN(20000) // even, 20000-59998
		rc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: bindIP, Port: port})
		if err != nil {
			lastErr = err
			continue
		}
		cc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: bindIP, Port: port + 1})
		if err != nil {
			rc.Close()
			lastErr = err
			continue
		}
		_ = rc.SetReadBuffer(1 << 20)
		return &udpLink{rtpConn: rc, rtcpConn: cc, advertised: advertised}, nil
	}
	return nil, fmt.Errorf("classic: no free RTP port pair: %w", lastErr)
}

func (u *udpLink) start(h func(comp int, b []byte, from *net.UDPAddr) bool) {
	u.wg.Add(2)
	go u.readLoop(u.rtpConn, compRTP, h)
	go u.readLoop(u.rtcpConn, compRTCP, h)
}

func (u *udpLink) readLoop(c *net.UDPConn, comp int, h func(int, []byte, *net.UDPAddr) bool) {
	defer u.wg.Done()
	buf := make([]byte, 1600)
	for {
		n, from, err := c.ReadFromUDP(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		pkt := append([]byte(nil), buf[:n]...)
		if !h(comp, pkt, from) {
			continue
		}
		u.latch(comp, from, pkt)
	}
}

// latch applies symmetric RTP: RTP packets move the RTP destination, RTCP
// packets the RTCP one (with rtcp-mux both are the same port).
func (u *udpLink) latch(comp int, from *net.UDPAddr, pkt []byte) {
	isRTCP := comp == compRTCP || (len(pkt) > 1 && pkt[1] >= 192 && pkt[1] <= 223)
	u.mu.Lock()
	defer u.mu.Unlock()
	switch {
	case comp == compRTP && !isRTCP, comp == compRTP && u.mux:
		if u.remRTP == nil || !u.remRTP.IP.Equal(from.IP) || u.remRTP.Port != from.Port {
			u.remRTP = from
		}
		u.latched = true
		if u.mux {
			u.remRTCP = from
		}
	case comp == compRTCP:
		u.remRTCP = from
		u.latchedRTCP = true
	}
}

func (u *udpLink) write(comp int, b []byte) error {
	u.mu.Lock()
	dst := u.remRTP
	if comp == compRTCP && !u.mux {
		dst = u.remRTCP
	}
	mux := u.mux
	u.mu.Unlock()
	if dst == nil {
		return errNoRemote
	}
	c := u.rtpConn
	if comp == compRTCP && !mux {
		c = u.rtcpConn
	}
	_, err := c.WriteToUDP(b, dst)
	return err
}

var errNoRemote = errors.New("classic: no remote address yet")

// setRemote takes the addresses from the peer's SDP, unless symmetric RTP
// already found where the peer really is: an SDP change of address (a
// re-INVITE moving the media) resets the latch.
func (u *udpLink) setRemote(rtpAddr, rtcpAddr *net.UDPAddr, mux bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.mux = mux
	if rtpAddr == nil {
		return
	}
	if u.remRTP == nil || !u.latched || !sameSDPAddr(u.sdpRTP, rtpAddr) {
		u.remRTP = rtpAddr
		u.latched = false
		u.remRTCP = rtcpAddr
		u.latchedRTCP = false
	}
	u.sdpRTP = rtpAddr
	if mux {
		u.remRTCP = u.remRTP
	}
}

func sameSDPAddr(a, b *net.UDPAddr) bool {
	return a != nil && b != nil && a.IP.Equal(b.IP) && a.Port == b.Port
}

func (u *udpLink) local() (net.IP, int, int) {
	return u.advertised, u.rtpConn.LocalAddr().(*net.UDPAddr).Port, u.rtcpConn.LocalAddr().(*net.UDPAddr).Port
}

func (u *udpLink) remoteAddr() net.Addr {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.remRTP == nil {
		return nil
	}
	return u.remRTP
}

func (u *udpLink) close() error {
	u.closeOnce.Do(func() {
		u.rtpConn.Close()
		u.rtcpConn.Close()
		u.wg.Wait()
	})
	return nil
}
