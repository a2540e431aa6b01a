package classic

import (
	"net"

	"github.com/pion/dtls/v3"

	"github.com/parlo-voip/parlo/callengine/media"
)

// line is one of our m-lines with its own transport (no BUNDLE: every line
// has its port, its ICE agent and its DTLS association, if any).
type line struct {
	kind  string // "audio" or "video"
	proto string // as offered or answered
	mid   string // echoed when the peer uses a=mid

	disabled bool // port 0 (RFC 3264 §8.2)
	ours     bool // a video line we added for our share
	done     bool // negotiated at least once

	tr  *transport
	sec security
	udp *udpLink
	ice *iceLink
	mux bool

	// SDES: what we offered (offerer) or the one we answered with.
	localCrypto []cryptoAttr
	remoteKey   []byte
	// DTLS.
	setup      string // our a=setup
	remoteFP   string
	dtlsConn   *dtls.Conn
	dtlsActive bool // a handshake has been started on this transport

	// Negotiated payload types.
	sendPT    uint8
	sendName  string // audio: audio package name; video: videocodec.Name
	sendClock int
	recvNames map[uint8]string
	nackPTs   map[uint8]bool // video payload types the peer NACKs (RFC 4585)
	// RTX (RFC 4588): the peer's rtx payload type for what we send, and
	// the rtx payload types we may receive with the type each repairs.
	sendRTXPT uint8
	hasRTX    bool
	rtxApt    map[uint8]uint8
	hasSend   bool
	sendFEC   bool  // the peer's Opus fmtp has useinbandfec=1
	sendDTX   bool  // the peer's Opus fmtp has usedtx=1
	telPT     uint8 // the peer's telephone-event at sendClock (RFC 4733)
	hasTel    bool

	remoteFmts []string // for a refused line: echoed on port 0

	dir       media.Direction // negotiated, our point of view
	remoteDir media.Direction // the peer's view
}

// localAddr is what goes into c= and m= for this line.
func (l *line) localAddr() (net.IP, int, int) {
	if l.tr == nil {
		return net.IPv4(127, 0, 0, 1), 0, 0
	}
	return l.tr.link.local()
}

func (l *line) closeTransport() {
	if l.dtlsConn != nil {
		_ = l.dtlsConn.Close()
		l.dtlsConn = nil
	}
	if l.tr != nil {
		_ = l.tr.close()
	}
}

// telEvent is the telephone-event payload type we answer with, if the peer
// offered one at our voice codec's clock rate.
func (l *line) telEvent() (uint8, bool) { return l.telPT, l.hasTel }
