package testpeers

import (
	"net"
	"sync"
	"testing"
)

// handedOut remembers every port given to a test in this process, so that
// two peers started in parallel never get the same one even when the first
// has not bound it yet.
var (
	handedOutMu sync.Mutex
	handedOut   = map[int]bool{}
)

// maxPortTries bounds the search for a free port; the kernel hands out
// ephemeral ports at random, so collisions are rare.
const maxPortTries = 200

// FreeUDPPort returns a UDP port on 127.0.0.1 that is free now.
func FreeUDPPort(tb testing.TB) int {
	tb.Helper()
	return freePort(tb, "UDP", func(p int) bool { return udpFree(p) }, func() (int, error) {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return 0, err
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port, nil
	})
}

// FreeTCPPort returns a TCP port on 127.0.0.1 that is free now.
func FreeTCPPort(tb testing.TB) int {
	tb.Helper()
	return freePort(tb, "TCP", func(p int) bool { return tcpFree(p) }, func() (int, error) {
		l, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return 0, err
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port, nil
	})
}

// FreeSIPPort returns a port on 127.0.0.1 free for both UDP and TCP, as SIP
// listens on both. With alsoNext, port+1 is free for both too: baresip binds
// SIP over TLS on its SIP port + 1.
func FreeSIPPort(tb testing.TB, alsoNext bool) int {
	tb.Helper()
	ok := func(p int) bool {
		if !udpFree(p) || !tcpFree(p) {
			return false
		}
		if alsoNext {
			return p+1 < 65536 && udpFree(p+1) && tcpFree(p+1) && !isHandedOut(p+1)
		}
		return true
	}
	port := freePort(tb, "SIP", ok, func() (int, error) {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return 0, err
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port, nil
	})
	if alsoNext {
		handedOutMu.Lock()
		handedOut[port+1] = true
		handedOutMu.Unlock()
	}
	return port
}

func isHandedOut(p int) bool {
	handedOutMu.Lock()
	defer handedOutMu.Unlock()
	return handedOut[p]
}

// freePort asks the kernel for candidates until one passes ok and was not
// handed out before.
func freePort(tb testing.TB, kind string, ok func(int) bool, candidate func() (int, error)) int {
	tb.Helper()
	for range maxPortTries {
		p, err := candidate()
		if err != nil {
			tb.Fatalf("testpeers: free %s port: %v", kind, err)
		}
		if !ok(p) {
			continue
		}
		handedOutMu.Lock()
		if handedOut[p] {
			handedOutMu.Unlock()
			continue
		}
		handedOut[p] = true
		handedOutMu.Unlock()
		return p
	}
	tb.Fatalf("testpeers: no free %s port on 127.0.0.1 after %d tries", kind, maxPortTries)
	return 0
}

func udpFree(p int) bool {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p})
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

func tcpFree(p int) bool {
	l, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p})
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}
