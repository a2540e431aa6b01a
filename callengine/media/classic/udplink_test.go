package classic

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/parlo-voip/parlo/callengine/audio"
	"github.com/parlo-voip/parlo/callengine/media"
)

func udpAddr(port int) *net.UDPAddr { return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port} }

// The latch rules of udpLink, packet by packet: what is admitted and where
// we send afterwards.
func TestUDPLinkAdmit(t *testing.T) {
	sdp, nat, stranger := udpAddr(4000), udpAddr(5000), udpAddr(6000)
	type step struct {
		from  *net.UDPAddr
		auth  bool
		wait  bool // let the latch window pass first
		admit bool
		dst   *net.UDPAddr
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"peer at its SDP address keeps it; a stranger is dropped", []step{
			{from: sdp, admit: true, dst: sdp},
			{from: stranger, admit: false, dst: sdp},
			{from: sdp, admit: true, dst: sdp},
		}},
		{"NAT: the first other source latches once in the window", []step{
			{from: nat, admit: true, dst: nat},
			{from: stranger, admit: false, dst: nat},
			{from: nat, admit: true, dst: nat},
		}},
		{"after the window, a plain packet from elsewhere never latches", []step{
			{from: stranger, wait: true, admit: false, dst: sdp},
			{from: sdp, admit: true, dst: sdp},
		}},
		{"an authenticated packet moves the latch at any time", []step{
			{from: sdp, admit: true, dst: sdp},
			{from: nat, auth: true, wait: true, admit: true, dst: nat},
			{from: stranger, admit: false, dst: nat},
			{from: sdp, admit: true, dst: sdp},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := newUDPLink(net.IPv4(127, 0, 0, 1), net.IPv4(127, 0, 0, 1))
			if err != nil {
				t.Fatal(err)
			}
			defer u.close()
			u.setRemote(sdp, udpAddr(4001), false)
			var dropped uint64
			for i, s := range tc.steps {
				if s.wait {
					u.mu.Lock()
					u.rtpLatch.windowEnd = time.Now().Add(-time.Second)
					u.mu.Unlock()
				}
				if got := u.admit(compRTP, s.from, s.auth); got != s.admit {
					t.Fatalf("step %d: admit %v, want %v", i, got, s.admit)
				}
				if !s.admit {
					dropped++
				}
				if got := u.remoteAddr().(*net.UDPAddr); !sameAddr(got, s.dst) {
					t.Fatalf("step %d: sending to %v, want %v", i, got, s.dst)
				}
			}
			if got := u.foreignDropped(); got != dropped {
				t.Fatalf("foreign %d, want %d", got, dropped)
			}
		})
	}
}

// A third UDP socket sprays parseable RTP carrying a 1000 Hz tone at both
// ends of a running call: it neither steals the stream (nothing comes back
// to it, each side still hears the other's tone) nor is heard.
func TestThirdSocketCannotStealRTP(t *testing.T) {
	for _, tc := range []struct {
		name string
		pol  media.SRTPPolicy
	}{
		{"plain", media.SRTPOff},
		{"sdes", media.SRTPRequired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := newPeer(t, 440, tc.pol), newPeer(t, 660, tc.pol)
			negotiate(t, a, b, media.SendRecv)
			a.waitTone(t, 660, 3*time.Second)
			b.waitTone(t, 440, 3*time.Second)

			evil, err := net.ListenUDP("udp4", udpAddr(0))
			if err != nil {
				t.Fatal(err)
			}
			defer evil.Close()
			targets := []*net.UDPAddr{audioPort(a.s), audioPort(b.s)}
			pt, codec := sendCodec(t, b.s)
			enc, err := audio.NewEncoder(codec)
			if err != nil {
				t.Fatal(err)
			}
			tone := audio.NewTone(1000, 0.5)
			frame := make([]int16, audio.FrameSamples)
			payload := make([]byte, 1500)
			h := rtp.Header{Version: 2, PayloadType: pt, SSRC: 0xbad, SequenceNumber: 1, Timestamp: 1}
			const sent = 100
			for i := range sent {
				_ = tone.ReadFrame(frame)
				n, err := enc.Encode(frame, payload)
				if err != nil {
					t.Fatal(err)
				}
				h.SequenceNumber++
				h.Timestamp += 960
				raw, err := (&rtp.Packet{Header: h, Payload: payload[:n]}).Marshal()
				if err != nil {
					t.Fatal(err)
				}
				for _, dst := range targets {
					if _, err := evil.WriteToUDP(raw, dst); err != nil {
						t.Fatal(err)
					}
				}
				if i%10 == 0 {
					time.Sleep(20 * time.Millisecond)
				}
			}
			// Both ends keep hearing each other, and only each other.
			a.waitTone(t, 660, 3*time.Second)
			b.waitTone(t, 440, 3*time.Second)
			for _, p := range []*peer{a, b} {
				if got := p.s.Stats().Transport.ForeignDropped; got < sent {
					t.Fatalf("foreign dropped %d, want >= %d", got, sent)
				}
				if ra := p.s.audioRemote(); sameAddr(ra, evil.LocalAddr().(*net.UDPAddr)) {
					t.Fatalf("media latched to the stranger %v", ra)
				}
			}
			// Nothing of the call reaches the stranger.
			_ = evil.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			buf := make([]byte, 1500)
			if n, from, err := evil.ReadFromUDP(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("the stranger received %d bytes from %v (err %v)", n, from, err)
			}
		})
	}
}

func audioPort(s *Session) *net.UDPAddr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.audioLineLocked().udp.rtpConn.LocalAddr().(*net.UDPAddr)
}

func (s *Session) audioRemote() *net.UDPAddr {
	s.mu.Lock()
	l := s.audioLineLocked()
	s.mu.Unlock()
	ra, _ := l.udp.remoteAddr().(*net.UDPAddr)
	return ra
}

// sendCodec is the payload type and codec s sends audio with (what its peer
// expects to receive).
func sendCodec(t *testing.T, s *Session) (uint8, string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.audioLineLocked()
	if l == nil || !l.hasSend {
		t.Fatal("no negotiated audio send codec")
	}
	return l.sendPT, l.sendName
}
