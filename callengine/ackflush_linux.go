package callengine

import (
	"net"

	"golang.org/x/sys/unix"
)

// quickAck sends any delayed ACK now (TCP_QUICKACK, tcp(7): setting it
// flushes a pending ACK; the kernel may delay later ones again, so it is
// set after each message that needs it).
func quickAck(c *net.TCPConn) {
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_QUICKACK, 1)
	})
}
