package headless_test

import (
	"os"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/internal/testpeers"
)

// TestHeadlessLampsIntegration drives two `parlo headless` processes
// registered at Kamailio's presence server: A watches B (busy lamp and
// presence) and its own mailbox, B publishes its presence; B calls A, and
// A sees B's lamp go busy and B's presence on-the-phone, then idle and
// available after the hang-up; a voicemail PUBLISH lights A's mailbox
// lamp with its count; lamps lists it all.
func TestHeadlessLampsIntegration(t *testing.T) {
	testpeers.Require(t, "kamailio")
	k := testpeers.StartKamailio(t, testpeers.KamailioOptions{Presence: true,
		Users: map[string]string{"1001": "pw-1001", "1002": "pw-1002", "vm": "pw-vm"}})
	bin := buildParlo(t)
	tr := &transcript{start: time.Now()}
	defer func() {
		if t.Failed() {
			t.Logf("transcript:\n%s\nkamailio:\n%s", tr, k.Log())
		}
		writeTranscriptIfAsked(t, tr)
	}()
	start := func(name, ext string) *driver {
		env := append(os.Environ(), "PARLO_PASSWORD=pw-"+ext)
		d := startDriverEnv(t, bin, name, tr, env, "--listen", "udp:127.0.0.1:0", "--account", "sip:"+ext+"@"+k.Domain(),
			"--registrar", "sip:"+k.UDPAddr(), "--log-level", "debug")
		d.waitFor("registered", 0, 15*time.Second, func(o map[string]any) bool { return o["event"] == "onRegistered" })
		return d
	}
	a, b := start("A", "1001"), start("B", "1002")

	b.do(map[string]any{"cmd": "presence", "status": "available"})
	a.do(map[string]any{"cmd": "watch", "to": "1002"})
	a.do(map[string]any{"cmd": "mwi"})
	lamp := func(state string) func(map[string]any) bool {
		return func(o map[string]any) bool {
			return o["event"] == "onBLFStateChanged" && o["target"] == "1002" && o["state"] == state
		}
	}
	pres := func(status string) func(map[string]any) bool {
		return func(o map[string]any) bool {
			return o["event"] == "onPresenceChanged" && o["target"] == "1002" && o["status"] == status
		}
	}
	i, _ := a.waitFor("1002 idle", 0, 10*time.Second, lamp("idle"))
	j, _ := a.waitFor("1002 available", 0, 10*time.Second, pres("available"))

	res := b.do(map[string]any{"cmd": "call", "to": "1001"})
	callID, _ := dig(res, "session.sipCallId").(string)
	a.waitEvent("onCallIncoming", callID, 10*time.Second)
	i, _ = a.waitFor("1002 busy", i, 10*time.Second, lamp("busy"))
	a.do(map[string]any{"cmd": "accept", "call": callID})
	j, _ = a.waitFor("1002 on the phone", j, 10*time.Second, pres("on-the-phone"))
	b.do(map[string]any{"cmd": "hangup", "call": callID})
	a.waitFor("1002 idle again", i, 10*time.Second, lamp("idle"))
	a.waitFor("1002 available again", j, 10*time.Second, pres("available"))

	k.PublishMWI(t, "vm", "pw-vm", "1001", "Messages-Waiting: yes\r\nVoice-Message: 4/1 (1/0)\r\n")
	_, vm := a.waitFor("voicemail", 0, 10*time.Second, func(o map[string]any) bool { return o["event"] == "onVoicemailChanged" && o["waiting"] == true })
	if vm["new"] != float64(4) || vm["old"] != float64(1) || vm["urgentNew"] != float64(1) {
		t.Errorf("onVoicemailChanged %v, want 4 new, 1 old, 1 urgent", vm)
	}
	lamps, _ := a.do(map[string]any{"cmd": "lamps"})["lamps"].([]any)
	if len(lamps) != 3 {
		t.Fatalf("lamps: %v", lamps)
	}
	for _, d := range []*driver{a, b} {
		d.do(map[string]any{"cmd": "quit"})
		if err := d.waitExit(15 * time.Second); err != nil {
			t.Errorf("%s: %v", d.name, err)
		}
	}
}
