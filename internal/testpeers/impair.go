package testpeers

import (
	"errors"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Impairment is what an ImpairRelay does to every datagram: drop it with
// probability LossPercent, otherwise deliver it after Delay plus a uniform
// random offset in [-Jitter, +Jitter] (which reorders packets closer than
// the jitter, as tc-netem(8) "delay 50ms 20ms" does). This kernel has no
// netem (CONFIG_NET_SCH_NETEM is unset), so tests impair media in user
// space instead.
type Impairment struct {
	Delay       time.Duration
	Jitter      time.Duration
	LossPercent float64
}

// ImpairStats count what a relay did.
type ImpairStats struct {
	Forwarded uint64
	Dropped   uint64
}

// ImpairRelay is a UDP relay between two endpoints A and B on loopback that
// impairs what it forwards. It has one socket per side: A sends to SideA
// and hears B from it, B sends to SideB and hears A from it, so each end
// sees its peer at one address (symmetric RTP, RFC 4961) and a test points
// each end's SDP connection address at its side. The endpoints are learnt
// from the first datagram each side sends, or set with SetEndpoints.
type ImpairRelay struct {
	a, b *net.UDPConn

	mu     sync.Mutex
	imp    Impairment
	rng    *rand.Rand
	addrA  *net.UDPAddr // where A is
	addrB  *net.UDPAddr // where B is
	closed bool

	fwd, drop atomic.Uint64
	wg        sync.WaitGroup
	once      sync.Once
}

// StartImpairRelay binds the relay's two sockets on 127.0.0.1 and starts
// forwarding with imp. It is closed by tb.Cleanup.
func StartImpairRelay(tb testing.TB, imp Impairment) *ImpairRelay {
	tb.Helper()
	lo := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
	a, err := net.ListenUDP("udp4", lo)
	if err != nil {
		tb.Fatalf("impair relay: %v", err)
	}
	b, err := net.ListenUDP("udp4", lo)
	if err != nil {
		a.Close()
		tb.Fatalf("impair relay: %v", err)
	}
	_ = a.SetReadBuffer(1 << 20)
	_ = b.SetReadBuffer(1 << 20)
	r := &ImpairRelay{a: a, b: b, imp: imp, rng: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
	r.wg.Add(2)
	go r.forward(a, true)
	go r.forward(b, false)
	tb.Cleanup(r.Close)
	return r
}

// SideA is the address A sends to (and hears B from).
func (r *ImpairRelay) SideA() *net.UDPAddr { return r.a.LocalAddr().(*net.UDPAddr) }

// SideB is the address B sends to (and hears A from).
func (r *ImpairRelay) SideB() *net.UDPAddr { return r.b.LocalAddr().(*net.UDPAddr) }

// SetEndpoints says where A and B are (nil leaves one as it is), so the
// first datagrams towards a side that has not sent yet are not lost.
func (r *ImpairRelay) SetEndpoints(a, b *net.UDPAddr) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a != nil {
		r.addrA = a
	}
	if b != nil {
		r.addrB = b
	}
}

// Set changes the impairment from now on (datagrams already delayed keep
// their delivery time).
func (r *ImpairRelay) Set(imp Impairment) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.imp = imp
}

// Stats returns how many datagrams were forwarded and dropped.
func (r *ImpairRelay) Stats() ImpairStats {
	return ImpairStats{Forwarded: r.fwd.Load(), Dropped: r.drop.Load()}
}

// forward reads datagrams arriving at in (from A when fromA) and sends them
// on from the other side's socket to the other endpoint.
func (r *ImpairRelay) forward(in *net.UDPConn, fromA bool) {
	defer r.wg.Done()
	out := r.b
	if !fromA {
		out = r.a
	}
	buf := make([]byte, 2048)
	for {
		n, from, err := in.ReadFromUDP(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		r.mu.Lock()
		if fromA {
			r.addrA = from
		} else {
			r.addrB = from
		}
		to := r.addrB
		if !fromA {
			to = r.addrA
		}
		imp := r.imp
		lost := imp.LossPercent > 0 && r.rng.Float64()*100 < imp.LossPercent
		delay := imp.Delay
		if imp.Jitter > 0 {
			delay += time.Duration((r.rng.Float64()*2 - 1) * float64(imp.Jitter))
		}
		closed := r.closed
		if !closed && !lost && to != nil {
			// Counted under mu so Close waits for every pending
			// delivery.
			r.wg.Add(1)
		}
		r.mu.Unlock()
		if closed {
			return
		}
		if lost || to == nil {
			r.drop.Add(1)
			continue
		}
		pkt := append([]byte(nil), buf[:n]...)
		if delay <= 0 {
			r.deliver(out, pkt, to)
			continue
		}
		time.AfterFunc(delay, func() { r.deliver(out, pkt, to) })
	}
}

// deliver sends one datagram whose time has come.
func (r *ImpairRelay) deliver(out *net.UDPConn, pkt []byte, to *net.UDPAddr) {
	defer r.wg.Done()
	if _, err := out.WriteToUDP(pkt, to); err == nil {
		r.fwd.Add(1)
	}
}

// Close stops the relay and waits for its readers and every datagram still
// in flight (at most Delay+Jitter); idempotent.
func (r *ImpairRelay) Close() {
	r.once.Do(func() {
		r.mu.Lock()
		r.closed = true
		r.mu.Unlock()
		_ = r.a.Close()
		_ = r.b.Close()
		r.wg.Wait()
	})
}
