package testpeers

import (
	"net"
	"testing"
)

func TestFreePorts(t *testing.T) {
	seen := map[int]bool{}
	check := func(kind string, p int) {
		t.Helper()
		if p <= 0 || p > 65535 {
			t.Fatalf("%s port %d out of range", kind, p)
		}
		if seen[p] {
			t.Fatalf("%s port %d handed out twice", kind, p)
		}
		seen[p] = true
	}
	for range 20 {
		u := FreeUDPPort(t)
		check("UDP", u)
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: u})
		if err != nil {
			t.Fatalf("FreeUDPPort %d is not bindable: %v", u, err)
		}
		_ = c.Close()

		p := FreeTCPPort(t)
		check("TCP", p)

		s := FreeSIPPort(t, true)
		check("SIP", s)
		check("SIP+1", s+1)
		for _, port := range []int{s, s + 1} {
			if !udpFree(port) || !tcpFree(port) {
				t.Fatalf("FreeSIPPort gave %d but %d is not free for UDP and TCP", s, port)
			}
		}
	}
}
