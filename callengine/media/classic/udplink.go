package classic

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// latchWindow is how long after the first packet of a negotiation a plain
// (unauthenticated) packet from an address other than the SDP's may move our
// destination, once. A peer behind a NAT sends from its mapped address as
// soon as it has our answer; later, only authenticated packets can move us.
const latchWindow = 5 * time.Second

// udpLink is a classic RTP port pair: RTP on an even port, RTCP on the next
// (RFC 3550 §11), or both on the RTP port with rtcp-mux (RFC 5761).
//
// Symmetric RTP (RFC 4961 §3): the SDP address is only where we start
// sending; a peer behind a NAT is found where its media comes from. Since
// anyone can send a parseable RTP packet to our port, the latch follows:
//   - an authenticated packet (SRTP/SRTCP whose tag verified, RFC 3711
//     §3.4) from anywhere, at any time: only the key holder can make one;
//   - a plain packet (RTP/AVP, or a DTLS record before keys exist) only
//     from the SDP address, or from one other address during latchWindow
//     after the first packet of this negotiation, once.
//
// Every other packet is dropped before it reaches a decoder and counted
// (foreign); it never changes where we send.
type udpLink struct {
	rtpConn, rtcpConn *net.UDPConn
	advertised        net.IP

	mu              sync.Mutex
	remRTP, remRTCP *net.UDPAddr
	sdpRTP, sdpRTCP *net.UDPAddr // what the peer's SDP said last
	mux             bool
	rtpLatch        latchState
	rtcpLatch       latchState
	wg              sync.WaitGroup
	closeOnce       sync.Once

	foreign atomic.Uint64
}

// latchState is one component's symmetric-RTP state since the last SDP
// address change.
type latchState struct {
	windowEnd time.Time // zero until the first packet
	used      bool      // the one plain latch away from the SDP address
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

func (u *udpLink) start(h func(comp int, b []byte, from *net.UDPAddr)) {
	u.wg.Add(2)
	go u.readLoop(u.rtpConn, compRTP, h)
	go u.readLoop(u.rtcpConn, compRTCP, h)
}

func (u *udpLink) readLoop(c *net.UDPConn, comp int, h func(int, []byte, *net.UDPAddr)) {
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
		h(comp, append([]byte(nil), buf[:n]...), from)
	}
}

// admit decides whether a packet the transport has parsed (and, on a secure
// line, authenticated) may be used, and latches symmetric RTP on it when the
// rules allow (see udpLink). comp is the port it arrived on; with rtcp-mux
// RTP and RTCP share the RTP port and its latch.
func (u *udpLink) admit(comp int, from *net.UDPAddr, authenticated bool) bool {
	if from == nil {
		return false
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	rem, sdp, st := &u.remRTP, u.sdpRTP, &u.rtpLatch
	if comp == compRTCP && !u.mux {
		rem, sdp, st = &u.remRTCP, u.sdpRTCP, &u.rtcpLatch
	}
	now := time.Now()
	if st.windowEnd.IsZero() && sdp != nil {
		st.windowEnd = now.Add(latchWindow)
	}
	switch {
	case sameAddr(*rem, from):
		if sameAddr(sdp, from) {
			st.used = true
		}
		return true
	case authenticated:
		// Only the holder of the peer's SRTP key can make this packet: the
		// peer moved (or we had the wrong address).
	case sdp == nil:
		// No answer yet: no idea where the peer is.
		u.foreign.Add(1)
		return false
	case sameAddr(sdp, from):
		// The address the peer signalled: accept, and send there again.
		// The peer is not behind a NAT, so no plain latch elsewhere.
		st.used = true
	case !st.used && now.Before(st.windowEnd):
		st.used = true // NAT: the one plain latch of this negotiation
	default:
		u.foreign.Add(1)
		return false
	}
	*rem = from
	if u.mux && comp == compRTP {
		u.remRTCP = from
	}
	return true
}

// foreignDropped counts packets admit refused.
func (u *udpLink) foreignDropped() uint64 { return u.foreign.Load() }

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

// setRemote takes the addresses from the peer's SDP. An unchanged address
// (a re-INVITE for hold, a codec change) keeps what symmetric RTP found; a
// new one (the peer moved its media) resets the latch and opens a new
// window.
func (u *udpLink) setRemote(rtpAddr, rtcpAddr *net.UDPAddr, mux bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.mux = mux
	if rtpAddr == nil {
		return
	}
	if u.remRTP == nil || !sameAddr(u.sdpRTP, rtpAddr) {
		u.remRTP = rtpAddr
		u.rtpLatch = latchState{}
	}
	if u.remRTCP == nil || !sameAddr(u.sdpRTCP, rtcpAddr) || !sameAddr(u.sdpRTP, rtpAddr) {
		u.remRTCP = rtcpAddr
		u.rtcpLatch = latchState{}
	}
	u.sdpRTP, u.sdpRTCP = rtpAddr, rtcpAddr
	if mux {
		u.remRTCP = u.remRTP
	}
}

func sameAddr(a, b *net.UDPAddr) bool {
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
