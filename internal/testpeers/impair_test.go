package testpeers

import (
	"encoding/binary"
	"net"
	"testing"
	"time"
)

// The relay delays by Delay ± Jitter and drops about LossPercent, both
// directions, and each end hears the other from the side it sends to.
func TestImpairRelay(t *testing.T) {
	imp := Impairment{Delay: 50 * time.Millisecond, Jitter: 20 * time.Millisecond, LossPercent: 10}
	r := StartImpairRelay(t, imp)
	lo := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
	a, err := net.ListenUDP("udp4", lo)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := net.ListenUDP("udp4", lo)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	r.SetEndpoints(a.LocalAddr().(*net.UDPAddr), b.LocalAddr().(*net.UDPAddr))

	const n = 400
	start := time.Now()
	go func() {
		for i := range n {
			buf := make([]byte, 12)
			binary.BigEndian.PutUint32(buf, uint32(i))
			binary.BigEndian.PutUint64(buf[4:], uint64(time.Since(start)))
			_, _ = a.WriteToUDP(buf, r.SideA())
			time.Sleep(2 * time.Millisecond)
		}
	}()
	var got int
	lo2, hi := time.Hour, time.Duration(0)
	buf := make([]byte, 64)
	for {
		_ = b.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		k, from, err := b.ReadFromUDP(buf)
		if err != nil {
			break
		}
		if from.Port != r.SideB().Port {
			t.Fatalf("B heard A from %v, want the relay's side B %v", from, r.SideB())
		}
		d := time.Since(start) - time.Duration(binary.BigEndian.Uint64(buf[4:k]))
		lo2, hi = min(lo2, d), max(hi, d)
		got++
	}
	lossPct := 100 * float64(n-got) / n
	t.Logf("%d of %d delivered (%.1f %% lost), delay %s to %s", got, n, lossPct, lo2, hi)
	if lossPct < 4 || lossPct > 18 {
		t.Errorf("lost %.1f %%, want about 10 %%", lossPct)
	}
	if lo2 < 29*time.Millisecond || hi > 90*time.Millisecond || hi-lo2 < 25*time.Millisecond {
		t.Errorf("delay %s to %s, want within 30-70 ms (plus scheduling) and spread", lo2, hi)
	}
	if s := r.Stats(); s.Dropped == 0 || s.Forwarded != uint64(got) {
		t.Errorf("stats %+v, delivered %d", s, got)
	}
}
