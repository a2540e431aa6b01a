package headless_test

import (
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/internal/testpeers"
)

// TestHeadlessShutdownIntegration: end of input, SIGTERM and SIGINT each hang
// up the call in progress (the far end sees it end), forward onCallEnded,
// and exit 0.
func TestHeadlessShutdownIntegration(t *testing.T) {
	bin := buildParlo(t)
	tests := []struct {
		name string
		stop func(d *driver)
	}{
		{"end of input", func(d *driver) { d.closeStdin() }},
		{"SIGTERM", func(d *driver) { d.signal(syscall.SIGTERM) }},
		{"SIGINT", func(d *driver) { d.signal(syscall.SIGINT) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := &transcript{start: time.Now()}
			defer func() {
				if t.Failed() {
					t.Logf("transcript:\n%s", tr)
				}
			}()
			a := startDriver(t, bin, "A", tr, "--listen", "udp:127.0.0.1:0", "--audio-in", "tone:440")
			b := startDriver(t, bin, "B", tr, "--listen", "udp:127.0.0.1:0", "--auto-answer")
			_, readyB := b.waitFor("ready", 0, 10*time.Second, func(o map[string]any) bool { return o["event"] == "ready" })
			a.waitFor("ready", 0, 10*time.Second, func(o map[string]any) bool { return o["event"] == "ready" })

			res := a.do(map[string]any{"cmd": "call", "to": readyB["contact"]})
			callID, _ := dig(res, "session.sipCallId").(string)
			a.waitEvent("onCallAccepted", callID, 10*time.Second) // B answered by itself

			tt.stop(a)
			if err := a.waitExit(10 * time.Second); err != nil {
				t.Fatalf("A exit: %v (want 0)", err)
			}
			ended := a.indexOf(func(o map[string]any) bool {
				s, _ := o["session"].(map[string]any)
				return o["event"] == "onCallEnded" && s != nil && s["sipCallId"] == callID
			})
			if ended < 0 {
				t.Fatal("A exited without forwarding onCallEnded of its call")
			}
			b.waitEvent("onCallEnded", callID, 10*time.Second) // the BYE reached B
			b.do(map[string]any{"cmd": "quit"})
			if err := b.waitExit(10 * time.Second); err != nil {
				t.Fatalf("B exit: %v", err)
			}
		})
	}
}

// TestHeadlessRegistrarIntegration: with --account the phone registers at
// start and reports it as an event; quit unregisters before the quit reply;
// a wrong password is reported as onRegistrationFailed. The password never
// reaches stdout or stderr.
func TestHeadlessRegistrarIntegration(t *testing.T) {
	bin := buildParlo(t)
	const password = "Pa55-w0rd-7f3a"
	k := testpeers.StartKamailio(t, testpeers.KamailioOptions{Users: map[string]string{"alice": password}})
	registrar := "sip:" + net.JoinHostPort("127.0.0.1", strconv.Itoa(k.Port()))
	args := []string{"--listen", "udp:127.0.0.1:0", "--account", "sip:alice@" + k.Domain(), "--registrar", registrar, "--log-level", "debug"}

	t.Run("registers and unregisters", func(t *testing.T) {
		tr := &transcript{start: time.Now()}
		defer func() {
			if t.Failed() {
				t.Logf("transcript:\n%s\nkamailio log:\n%s", tr, k.Log())
			}
		}()
		a := startDriverEnv(t, bin, "A", tr, []string{"PARLO_PASSWORD=" + password}, args...)
		a.waitEvent("onRegistered", "", 10*time.Second)
		if i := a.indexOf(func(o map[string]any) bool { return o["event"] == "ready" }); i != 0 {
			t.Fatalf("ready should be line 0, is line %d", i)
		}
		id := a.send(map[string]any{"cmd": "quit"})
		a.waitFor("quit reply", 0, 10*time.Second, func(o map[string]any) bool { return o["id"] == id })
		if err := a.waitExit(10 * time.Second); err != nil {
			t.Fatalf("exit: %v", err)
		}
		unreg := a.indexOf(func(o map[string]any) bool { return o["event"] == "onUnRegistered" })
		quit := a.indexOf(func(o map[string]any) bool { return o["id"] == id })
		if unreg < 0 || unreg > quit {
			t.Fatalf("onUnRegistered (line %d) must come before the quit reply (line %d)", unreg, quit)
		}
		if strings.Contains(tr.String(), password) || strings.Contains(a.stderrText(), password) {
			t.Fatal("the password appears on stdout or stderr")
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		tr := &transcript{start: time.Now()}
		defer func() {
			if t.Failed() {
				t.Logf("transcript:\n%s", tr)
			}
		}()
		a := startDriverEnv(t, bin, "A", tr, []string{"PARLO_PASSWORD=wrong-" + password}, args...)
		ev := a.waitEvent("onRegistrationFailed", "", 10*time.Second)
		if st, _ := ev["status"].(float64); st != 401 && st != 403 {
			t.Errorf("onRegistrationFailed status = %v, want 401 or 403: %v", ev["status"], ev)
		}
		a.do(map[string]any{"cmd": "quit"})
		if err := a.waitExit(10 * time.Second); err != nil {
			t.Fatalf("exit: %v", err)
		}
		if strings.Contains(a.stderrText(), password) {
			t.Fatal("the password appears on stderr")
		}
	})
}
