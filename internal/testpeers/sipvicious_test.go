package testpeers

import (
	"net"
	"strings"
	"testing"
	"time"
)

// Each tool runs to its end within its bound against a plain UDP socket
// that answers nothing, and really sends SIP to it.
func TestSipviciousScansRun(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	got := make(chan string, 256)
	go func() {
		buf := make([]byte, 65535)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			select {
			case got <- string(buf[:n]):
			default:
			}
		}
	}()
	for _, s := range SipviciousScans(pc.LocalAddr().String(), "127.0.0.2") {
		t.Run(s.Name, func(t *testing.T) {
			for len(got) > 0 {
				<-got
			}
			r := RunSipvicious(t, s, 40*time.Second)
			if r.Err != nil {
				t.Fatalf("%s: %s\n%s", s.Name, r, r.Output)
			}
			select {
			case msg := <-got:
				if !strings.Contains(msg, "SIP/2.0") {
					t.Fatalf("%s sent %q, not SIP", s.Name, msg)
				}
			case <-time.After(time.Second):
				t.Fatalf("%s sent nothing (%s)\n%s", s.Name, r, r.Output)
			}
		})
	}
}
