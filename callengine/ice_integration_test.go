package callengine

import (
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/internal/testpeers"
)

// A call whose media may only use TURN relay candidates (iceTransportPolicy
// relay) goes through a real coturn, over UDP and over TCP to the server,
// with long-term credentials; audio is checked both ways and the selected
// pair is a relay one.
func TestTURNRelayCallIntegration(t *testing.T) {
	turn := testpeers.StartCoturn(t)
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			servers := []media.TURNServer{{URL: turn.URL(transport), Username: turn.User(), Credential: turn.Password()}}
			a := newTestPhone(t, testPhoneOpts{toneHz: 440, turn: servers})
			b := newTestPhone(t, testPhoneOpts{toneHz: 660, turn: servers})
			aID, bID := connect(t, a, b)
			b.waitTone(t, 440, 10*time.Second)
			a.waitTone(t, 660, 10*time.Second)
			sa, _ := a.Stats(aID)
			sb, _ := b.Stats(bID)
			if sa.Transport.LocalType != "relay" || sb.Transport.LocalType != "relay" {
				t.Fatalf("selected pairs: A %+v, B %+v; want relay on both\n%s", sa.Transport, sb.Transport, turn.Log())
			}
		})
	}
	// Direct path blocked for real: all UDP on this namespace is dropped
	// except to and from coturn (its port and relay range) and the phones'
	// SIP ports. ICE may use every candidate; only the relay pair works.
	t.Run("direct path blocked", func(t *testing.T) {
		servers := []media.TURNServer{{URL: turn.URL("udp"), Username: turn.User(), Credential: turn.Password()}}
		a := newTestPhone(t, testPhoneOpts{toneHz: 440, turn: servers, relayOnlyOff: true})
		b := newTestPhone(t, testPhoneOpts{toneHz: 660, turn: servers, relayOnlyOff: true})
		lo, hi := turn.RelayPorts()
		nftAllowOnly(t, fmt.Sprintf("%d-%d", lo, hi), strconv.Itoa(turn.Port()),
			strconv.Itoa(a.Listeners()[0].Port), strconv.Itoa(b.Listeners()[0].Port))
		aID, bID := connect(t, a, b)
		b.waitTone(t, 440, 10*time.Second)
		a.waitTone(t, 660, 10*time.Second)
		sa, _ := a.Stats(aID)
		sb, _ := b.Stats(bID)
		if sa.Transport.LocalType != "relay" && sa.Transport.RemoteType != "relay" {
			t.Fatalf("A's selected pair %+v does not go through the relay", sa.Transport)
		}
		if sb.Transport.LocalType != "relay" && sb.Transport.RemoteType != "relay" {
			t.Fatalf("B's selected pair %+v does not go through the relay", sb.Transport)
		}
	})
	// Wrong credentials: no relay candidate, so no media; the call reports it.
	bad := []media.TURNServer{{URL: turn.URL("udp"), Username: turn.User(), Credential: "wrong"}}
	a := newTestPhone(t, testPhoneOpts{toneHz: 440, turn: bad})
	b := newTestPhone(t, testPhoneOpts{toneHz: 660, turn: bad})
	s, err := a.Call(ctxT(t, 10*time.Second), b.uri(), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b.rec.wait(t, EventCallIncoming, s.SipCallID, 5*time.Second)
	_ = b.Accept(ctxT(t, 10*time.Second), s.SipCallID)
	if n := a.rec.count(EventMediaConnected, s.SipCallID); n != 0 {
		t.Fatal("media connected through a TURN server that refused our credentials")
	}
}

// nftDrop drops UDP between two loopback ports inside the test's own
// network namespace (scripts/isolated.sh), as a path that dies mid-call.
func nftDrop(t *testing.T, ports ...string) {
	t.Helper()
	table := nftTable(t)
	for _, p := range ports {
		nftRun(t, "add", "rule", "inet", table, "in", "udp", "dport", p, "drop")
		nftRun(t, "add", "rule", "inet", table, "in", "udp", "sport", p, "drop")
	}
}

// nftTable makes a table with an input chain, removed when the test ends.
// It refuses to run outside the test network namespace.
func nftTable(t *testing.T) string {
	t.Helper()
	if _, err := net.InterfaceByName("pv0"); err != nil {
		t.Fatal("this test changes firewall rules: run it inside the test network namespace (make test, or scripts/isolated.sh go test ...)")
	}
	if _, err := exec.LookPath("nft"); err != nil {
		t.Fatal("nft missing: run `make deps-test` (nftables)")
	}
	table := fmt.Sprintf("parlo%d", time.Now().UnixNano()%1e6)
	nftRun(t, "add", "table", "inet", table)
	nftRun(t, "add", "chain", "inet", table, "in", "{ type filter hook input priority 0 ; }")
	t.Cleanup(func() { _ = exec.Command("nft", "delete", "table", "inet", table).Run() })
	return table
}

func nftRun(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("nft", args...).CombinedOutput(); err != nil {
		t.Fatalf("nft %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// nftAllowOnly drops every UDP datagram in the test's network namespace
// whose source and destination ports are both outside allowed (ports or
// "lo-hi" ranges).
func nftAllowOnly(t *testing.T, allowed ...string) {
	t.Helper()
	table := nftTable(t)
	set := "{ " + strings.Join(allowed, ", ") + " }"
	nftRun(t, "add", "rule", "inet", table, "in", "udp", "sport", set, "accept")
	nftRun(t, "add", "rule", "inet", table, "in", "udp", "dport", set, "accept")
	nftRun(t, "add", "rule", "inet", table, "in", "meta", "l4proto", "udp", "drop")
}

// The media path dies mid-call (its UDP ports are dropped): the side that
// notices first sends ICE-restart re-INVITEs, fresh candidates connect, and
// audio comes back — onIceDisconnected, onIceReconnecting,
// onIceReconnected, as the Wazo SDK reports them.
func TestICERestartAfterPathLossIntegration(t *testing.T) {
	a := newTestPhone(t, testPhoneOpts{toneHz: 440, iceTimeout: time.Second})
	b := newTestPhone(t, testPhoneOpts{toneHz: 660, iceTimeout: time.Second})
	aID, bID := connect(t, a, b)
	b.waitTone(t, 440, 5*time.Second)
	before, _ := a.Stats(aID)
	_, pa, _ := net.SplitHostPort(before.Transport.LocalAddress)
	_, pb, _ := net.SplitHostPort(before.Transport.RemoteAddress)
	if pa == "" || pb == "" {
		t.Fatalf("no selected pair: %+v", before.Transport)
	}
	nftDrop(t, pa, pb)
	// Whichever side notices first restarts ICE (RFC 8445 lets either);
	// the other just answers the restart offer.
	restarter, id := a, aID
	deadline := time.Now().Add(10 * time.Second)
	for a.rec.count(EventIceDisconnected, aID) == 0 {
		if b.rec.count(EventIceDisconnected, bID) > 0 {
			restarter, id = b, bID
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no onIceDisconnected on either side; A: %v, B: %v", a.rec.names(aID), b.rec.names(bID))
		}
		time.Sleep(50 * time.Millisecond)
	}
	restarter.rec.wait(t, EventIceReconnecting, id, 5*time.Second)
	restarter.rec.wait(t, EventIceReconnected, id, 20*time.Second)
	after, _ := a.Stats(aID)
	if after.Transport.LocalAddress == before.Transport.LocalAddress {
		t.Fatalf("still on the dropped path %s", after.Transport.LocalAddress)
	}
	b.waitTone(t, 440, 5*time.Second)
	a.waitTone(t, 660, 5*time.Second)
	if s := a.Calls(); len(s) != 1 || !s[0].IsEstablished() {
		t.Fatalf("call after restart: %+v", s)
	}
}
