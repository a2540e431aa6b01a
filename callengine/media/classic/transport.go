package classic

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// Components of an RTP session (RFC 3550 §11): RTP and RTCP, on two ports or
// one with rtcp-mux (RFC 5761).
const (
	compRTP  = 1
	compRTCP = 2
)

// link is the network under one m-line: a UDP port pair (udpLink) or an ICE
// agent's selected pair (iceLink).
type link interface {
	// start begins reading; h gets every packet with its source.
	start(h func(comp int, b []byte, from *net.UDPAddr))
	// admit is asked, once the transport has parsed a packet (and verified
	// its SRTP tag when authenticated), whether it may be used: it applies
	// the link's source rules and symmetric RTP (see udpLink).
	admit(comp int, from *net.UDPAddr, authenticated bool) bool
	// foreignDropped counts packets admit refused.
	foreignDropped() uint64
	// write sends on component comp (ignored when muxed).
	write(comp int, b []byte) error
	// setRemote sets where packets go until the peer's own arrive.
	setRemote(rtpAddr, rtcpAddr *net.UDPAddr, mux bool)
	// local is the address and ports to put in our SDP.
	local() (ip net.IP, rtpPort, rtcpPort int)
	// remoteAddr is where component 1 currently goes (for DTLS).
	remoteAddr() net.Addr
	close() error
}

// security says how a line's media is protected.
type security int

const (
	secNone security = iota
	secSDES
	secDTLS
)

func (s security) String() string {
	switch s {
	case secSDES:
		return "sdes"
	case secDTLS:
		return "dtls"
	default:
		return "none"
	}
}

var errNotKeyed = errors.New("classic: SRTP not keyed yet")

// transport is one m-line's media transport: a link plus SRTP. It demuxes
// what arrives (RFC 7983 §7: first byte 20-63 DTLS, 128-191 RTP/RTCP, 0-3
// STUN) and decrypts it.
type transport struct {
	link link
	sec  security

	mu     sync.Mutex
	enc    *srtp.Context // nil: not keyed (DTLS before its handshake)
	dec    *srtp.Context
	onRTP  func(*rtp.Packet)
	onRTCP func([]rtcp.Packet)

	dtls *dtlsPipe // DTLS records in, when sec == secDTLS

	// chain runs the RTCP interceptors (reports, NACK, stats) over what
	// goes through; nil until the session attaches the line.
	chain *rtcpChain

	encBuf []byte

	// authFailed counts SRTP/SRTCP packets whose tag did not verify (or
	// replays, RFC 3711 §3.3.2): a stranger's, never admitted.
	authFailed atomic.Uint64
	// rtcpReceived counts the peer's RTCP packets taken (liveness).
	rtcpReceived atomic.Uint64

	closed atomic.Bool
}

func newTransport(l link, sec security) *transport {
	t := &transport{link: l, sec: sec}
	if sec == secDTLS {
		t.dtls = newDTLSPipe(l)
	}
	return t
}

// setHandlers sets the media callbacks (called on the link's goroutines).
func (t *transport) setHandlers(onRTP func(*rtp.Packet), onRTCP func([]rtcp.Packet)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.onRTP, t.onRTCP = onRTP, onRTCP
}

// setKeys installs the SRTP contexts: local keys encrypt what we send,
// remote keys decrypt what we receive.
func (t *transport) setKeys(profile srtp.ProtectionProfile, localKey, localSalt, remoteKey, remoteSalt []byte) error {
	enc, err := srtp.CreateContext(localKey, localSalt, profile)
	if err != nil {
		return fmt.Errorf("classic: SRTP context: %w", err)
	}
	dec, err := srtp.CreateContext(remoteKey, remoteSalt, profile, srtp.SRTPReplayProtection(128), srtp.SRTCPReplayProtection(128))
	if err != nil {
		return fmt.Errorf("classic: SRTP context: %w", err)
	}
	t.mu.Lock()
	t.enc, t.dec = enc, dec
	t.mu.Unlock()
	return nil
}

// setRemoteKey replaces only the decryption key (the peer re-keyed in a
// re-INVITE, RFC 4568 §7.1.4).
func (t *transport) setRemoteKey(profile srtp.ProtectionProfile, key, salt []byte) error {
	dec, err := srtp.CreateContext(key, salt, profile, srtp.SRTPReplayProtection(128), srtp.SRTCPReplayProtection(128))
	if err != nil {
		return fmt.Errorf("classic: SRTP context: %w", err)
	}
	t.mu.Lock()
	t.dec = dec
	t.mu.Unlock()
	return nil
}

func (t *transport) start() {
	t.link.start(func(comp int, b []byte, from *net.UDPAddr) { t.handle(comp, b, from) })
}

// handle runs on the link's read goroutines. It never panics on what the
// network sends: every parse error drops the packet, and a packet the link
// does not admit (a stranger's) is dropped before any handler sees it. It
// reports whether the packet was used (for tests and fuzzing).
func (t *transport) handle(comp int, b []byte, from *net.UDPAddr) bool {
	if len(b) < 4 {
		return false
	}
	switch {
	case b[0] >= 20 && b[0] <= 63:
		// A DTLS record is not authenticated until the handshake ends:
		// it follows the plain RTP rules.
		if t.dtls != nil && t.link.admit(comp, from, false) {
			t.dtls.push(b)
			return true
		}
		return false
	case b[0] < 128 || b[0] > 191:
		return false // STUN on a plain port, or noise
	}
	// RFC 5761 §4: with rtcp-mux, RTCP packet types 192-223 sit where
	// RTP has marker+payload type.
	isRTCP := comp == compRTCP || (b[1] >= 192 && b[1] <= 223)
	t.mu.Lock()
	dec, onRTP, onRTCP, sec := t.dec, t.onRTP, t.onRTCP, t.sec
	t.mu.Unlock()
	if sec != secNone && dec == nil {
		return false
	}
	if isRTCP {
		if sec != secNone {
			var h rtcp.Header
			if err := h.Unmarshal(b); err != nil {
				return false
			}
			out, err := dec.DecryptRTCP(nil, b, &h)
			if err != nil {
				t.authFailed.Add(1)
				return false
			}
			b = out
		}
		pkts, err := rtcp.Unmarshal(b)
		if err != nil {
			return false
		}
		if !t.link.admit(comp, from, sec != secNone) {
			return false
		}
		t.rtcpReceived.Add(1)
		if t.chain != nil {
			t.chain.readRTCP(b)
		}
		if onRTCP != nil {
			onRTCP(pkts)
		}
		return true
	}
	if sec != secNone {
		var h rtp.Header
		if _, err := h.Unmarshal(b); err != nil {
			return false
		}
		out, err := dec.DecryptRTP(nil, b, &h)
		if err != nil {
			t.authFailed.Add(1)
			return false
		}
		b = out
	}
	pkt := &rtp.Packet{}
	if err := pkt.Unmarshal(b); err != nil {
		return false
	}
	if !t.link.admit(comp, from, sec != secNone) {
		return false
	}
	if t.chain != nil {
		t.chain.readRTP(b, pkt)
	}
	if onRTP != nil {
		onRTP(pkt)
	}
	return true
}

// writeRTP sends one RTP packet through the RTCP interceptors (sender
// reports count it, the NACK responder keeps it).
func (t *transport) writeRTP(pkt *rtp.Packet) error {
	if t.chain != nil {
		return t.chain.writeRTP(pkt)
	}
	return t.sendRTP(pkt)
}

// writeRTCP sends our own feedback (a PLI) through the interceptors.
func (t *transport) writeRTCP(pkts []rtcp.Packet) error {
	if t.chain != nil {
		return t.chain.writeRTCP(pkts)
	}
	return t.sendRTCP(pkts)
}

// sendRTP puts one RTP packet on the wire, encrypted when the line is
// secure.
func (t *transport) sendRTP(pkt *rtp.Packet) error {
	raw, err := pkt.Marshal()
	if err != nil {
		return err
	}
	t.mu.Lock()
	enc, sec := t.enc, t.sec
	if sec != secNone {
		if enc == nil {
			t.mu.Unlock()
			return errNotKeyed
		}
		raw, err = enc.EncryptRTP(t.encBuf[:0], raw, &pkt.Header)
		if err != nil {
			t.mu.Unlock()
			return err
		}
		t.encBuf = raw
	}
	err = t.link.write(compRTP, raw)
	t.mu.Unlock()
	return err
}

// sendRTCP puts a compound RTCP packet on the wire: on the RTCP port, or
// the RTP port with rtcp-mux (RFC 5761), encrypted when the line is secure
// (SRTCP, RFC 3711 §3.4).
func (t *transport) sendRTCP(pkts []rtcp.Packet) error {
	raw, err := rtcp.Marshal(pkts)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.sec != secNone {
		if t.enc == nil {
			return errNotKeyed
		}
		var h rtcp.Header
		if err := h.Unmarshal(raw); err != nil {
			return err
		}
		if raw, err = t.enc.EncryptRTCP(nil, raw, &h); err != nil {
			return err
		}
	}
	return t.link.write(compRTCP, raw)
}

// rtcpCount counts the peer's RTCP packets taken.
func (t *transport) rtcpCount() uint64 { return t.rtcpReceived.Load() }

// foreignDropped counts the packets refused as a stranger's: from a source
// the link did not admit, or failing SRTP authentication.
func (t *transport) foreignDropped() uint64 {
	return t.link.foreignDropped() + t.authFailed.Load()
}

func (t *transport) close() error {
	if !t.closed.CompareAndSwap(false, true) {
		return nil
	}
	if t.dtls != nil {
		t.dtls.Close()
	}
	if t.chain != nil {
		_ = t.chain.close()
	}
	return t.link.close()
}
