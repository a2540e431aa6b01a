package headless_test

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/internal/testpeers"
)

// scanBound bounds one sipvicious run (they end by themselves in 4–12 s).
const scanBound = 40 * time.Second

// TestSipviciousAgainstHeadlessIntegration runs every sipvicious tool from
// a stranger's address (127.0.0.2) against a running `parlo headless`, in
// direct mode and registered at Kamailio. After each tool: the process is
// alive and answers, nothing rang (no onCallIncoming), no call is left;
// after all of them a real call still works.
func TestSipviciousAgainstHeadlessIntegration(t *testing.T) {
	testpeers.Require(t, testpeers.Svmap, testpeers.Svwar, testpeers.Svcrack, testpeers.Svcrash, "kamailio")
	bin := buildParlo(t)
	k := testpeers.StartKamailio(t, testpeers.KamailioOptions{Users: map[string]string{"alice": "pa-7f3a", "bob": "pb-7f3a"}})
	registrar := "sip:" + net.JoinHostPort("127.0.0.1", strconv.Itoa(k.Port()))

	modes := []struct {
		name string
		// start returns the phone under attack and a second phone that
		// calls it afterwards, with the target to dial.
		start func(t *testing.T, tr *transcript) (victim, caller *driver, dial string)
	}{
		{name: "direct", start: func(t *testing.T, tr *transcript) (*driver, *driver, string) {
			a := startDriver(t, bin, "A", tr, "--listen", "udp:127.0.0.1:0", "--username", "alice")
			b := startDriver(t, bin, "B", tr, "--listen", "udp:127.0.0.1:0", "--username", "bob")
			ready := a.waitEvent("ready", "", 10*time.Second)
			contact, _ := ready["contact"].(string)
			return a, b, contact
		}},
		{name: "registered", start: func(t *testing.T, tr *transcript) (*driver, *driver, string) {
			a := startDriverEnv(t, bin, "A", tr, []string{"PARLO_PASSWORD=pa-7f3a"}, "--listen", "udp:127.0.0.1:0", "--account", "sip:alice@"+k.Domain(), "--registrar", registrar)
			b := startDriverEnv(t, bin, "B", tr, []string{"PARLO_PASSWORD=pb-7f3a"}, "--listen", "udp:127.0.0.1:0", "--account", "sip:bob@"+k.Domain(), "--registrar", registrar)
			a.waitEvent("onRegistered", "", 10*time.Second)
			b.waitEvent("onRegistered", "", 10*time.Second)
			return a, b, "alice"
		}},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			tr := &transcript{start: time.Now()}
			defer func() {
				if t.Failed() {
					t.Logf("transcript:\n%s", tail(tr.String(), 8000))
				}
			}()
			a, b, dial := m.start(t, tr)
			ready := a.waitEvent("ready", "", 10*time.Second)
			listen, _ := ready["listen"].([]any)
			l, _ := listen[0].(string)
			target := strings.TrimPrefix(l, "udp:")
			for _, s := range testpeers.SipviciousScans(target, "127.0.0.2") {
				r := testpeers.RunSipvicious(t, s, scanBound)
				t.Logf("%s: %s", s.Name, r)
				if r.Err != nil {
					t.Fatalf("%s failed to run: %s\n%s", s.Name, r, tail(r.Output, 2000))
				}
				// Alive and answering, nothing rang, nothing left.
				calls := a.do(map[string]any{"cmd": "calls"})
				if list, _ := calls["calls"].([]any); len(list) != 0 {
					t.Fatalf("after %s: calls left %v", s.Name, list)
				}
				if n := len(a.events("onCallIncoming", "")); n != 0 {
					t.Fatalf("after %s: the phone rang %d times", s.Name, n)
				}
			}
			// A real call right after.
			res := b.do(map[string]any{"cmd": "call", "to": dial})
			id, _ := dig(res, "session.sipCallId").(string)
			a.waitEvent("onCallIncoming", id, 10*time.Second)
			a.do(map[string]any{"cmd": "accept", "call": id})
			for _, d := range []*driver{a, b} {
				d.waitEvent("onMediaConnected", id, 10*time.Second)
			}
			b.do(map[string]any{"cmd": "hangup", "call": id})
			a.waitEvent("onCallEnded", id, 10*time.Second)
			a.do(map[string]any{"cmd": "quit"})
			if err := a.waitExit(10 * time.Second); err != nil {
				t.Fatalf("A exit after the scans: %v\n%s", err, tail(a.stderrText(), 4000))
			}
			if strings.Contains(a.stderrText(), "panic") {
				t.Fatalf("A's log shows a panic:\n%s", tail(a.stderrText(), 4000))
			}
		})
	}
}
