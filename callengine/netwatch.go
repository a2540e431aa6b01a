package callengine

import (
	"context"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/parlo-voip/parlo/callengine/media"
)

// addressPollInterval is how often the local addresses are compared. Polling
// is portable (netlink is Linux-only) and cheap at this rate.
const addressPollInterval = 2 * time.Second

// watchAddresses follows the machine's addresses, owned by the phone (it
// stops with Close). When they change (Wi-Fi roaming, a VPN, a cable), the
// registration is refreshed at once so the registrar learns the new contact
// path, and every established call restarts ICE on fresh candidates
// (RFC 8445 §9), as the Wazo SDK does on a network change.
func (p *Phone) watchAddresses() {
	defer p.wg.Done()
	prev := localAddresses()
	t := time.NewTicker(addressPollInterval)
	defer t.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-t.C:
		}
		cur := localAddresses()
		if cur == prev {
			continue
		}
		p.log.Info("local addresses changed", "before", prev, "now", cur)
		prev = cur
		p.onNetworkChange()
	}
}

func (p *Phone) onNetworkChange() {
	p.mu.Lock()
	reg := p.reg
	calls := make([]*call, 0, len(p.calls))
	for _, c := range p.calls {
		calls = append(calls, c)
	}
	p.mu.Unlock()
	if reg != nil {
		select {
		case reg.refreshNow <- struct{}{}:
		default:
		}
	}
	for _, c := range calls {
		if !c.snapshot().IsEstablished() {
			continue
		}
		if _, ok := c.mediaSession().(media.ICERestarter); !ok {
			// The classic path without ICE: a re-INVITE re-offers the
			// current addresses (a session refresh).
			c.goCall(c.refreshMedia)
			continue
		}
		if c.iceRestarting.CompareAndSwap(false, true) {
			c.emit(EventIceDisconnected, IceStatePayload{State: "address changed"})
			c.goCall(c.restartICE)
		}
	}
}

// refreshMedia re-offers the call's media as it stands.
func (c *call) refreshMedia() {
	ctx, cancel := context.WithTimeout(c.p.ctx, 10*time.Second)
	defer cancel()
	c.opMu.Lock()
	defer c.opMu.Unlock()
	if err := c.reinvite(ctx, localDirection(c.snapshot().Paused), nil); err != nil {
		c.log.Warn("media refresh after a network change failed", "error", err)
	}
}

// localAddresses is a canonical string of the machine's unicast addresses.
func localAddresses() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return ""
	}
	out := make([]string, 0, len(addrs))
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLinkLocalUnicast() {
			out = append(out, n.IP.String())
		}
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}
