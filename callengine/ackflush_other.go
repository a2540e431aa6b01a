//go:build !linux

package callengine

import "net"

// quickAck does nothing where TCP_QUICKACK does not exist; the delayed ACK
// then costs what it costs.
func quickAck(*net.TCPConn) {}
