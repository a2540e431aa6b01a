package headless_test

import (
	"testing"
	"time"
)

// TestHeadlessCallControlIntegration drives three real `parlo headless`
// processes through stdin/stdout only: A calls B, B accepts; A sends DTMF
// "12#" and B reports the three digits in order; A chats to B; B transfers
// A to C (C answers by itself): A is asked to call C, its new call is
// accepted, B's call ends; then all three quit with exit status 0.
//
// Set PARLO_TRANSCRIPT=path to save the session's transcript.
func TestHeadlessCallControlIntegration(t *testing.T) {
	bin := buildParlo(t)
	tr := &transcript{start: time.Now()}
	defer func() {
		if t.Failed() {
			t.Logf("transcript:\n%s", tr)
		}
		writeTranscriptIfAsked(t, tr)
	}()

	a := startDriver(t, bin, "A", tr, "--listen", "udp:127.0.0.1:0", "--username", "alice", "--audio-in", "tone:440", "--log-level", "debug")
	b := startDriver(t, bin, "B", tr, "--listen", "udp:127.0.0.1:0", "--username", "bob", "--audio-in", "tone:660", "--log-level", "debug")
	c := startDriver(t, bin, "C", tr, "--listen", "udp:127.0.0.1:0", "--username", "carol", "--audio-in", "tone:880", "--auto-answer", "--log-level", "debug")
	contact := func(d *driver) string {
		_, r := d.waitFor("ready", 0, 10*time.Second, func(o map[string]any) bool { return o["event"] == "ready" })
		s, _ := r["contact"].(string)
		if s == "" {
			t.Fatalf("%s: ready without contact: %v", d.name, r)
		}
		return s
	}
	bContact, cContact := contact(b), contact(c)
	contact(a)

	res := a.do(map[string]any{"cmd": "call", "to": bContact})
	callID, _ := dig(res, "session.sipCallId").(string)
	if callID == "" {
		t.Fatalf("call result has no session: %v", res)
	}
	b.waitEvent("onCallIncoming", callID, 10*time.Second)
	b.do(map[string]any{"cmd": "accept", "call": callID})
	for _, d := range []*driver{a, b} {
		d.waitEvent("onCallAccepted", callID, 10*time.Second)
		d.waitEvent("onMediaConnected", callID, 10*time.Second)
	}

	// DTMF: three digits, in order, each reported once.
	a.do(map[string]any{"cmd": "dtmf", "call": callID, "tones": "12#"})
	dtmf := func() (tones, methods []any) {
		for _, o := range b.events("onDTMF", callID) {
			tones, methods = append(tones, o["tone"]), append(methods, o["method"])
		}
		return tones, methods
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		tones, methods := dtmf()
		if len(tones) >= 3 {
			t.Logf("B received DTMF %v by %v", tones, methods)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("B received DTMF %v by the deadline, want [1 2 #]", tones)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Chat A → B.
	a.do(map[string]any{"cmd": "chat", "call": callID, "text": "hello from A"})
	chat := b.waitEvent("phone/ON_CHAT", callID, 10*time.Second)
	if chat["content"] != "hello from A" {
		t.Fatalf("B's phone/ON_CHAT content = %v, want the text A sent: %v", chat["content"], chat)
	}
	// The chat went after the digits, so any duplicate digit (an end
	// packet taken for a new press) has arrived by now.
	if tones, _ := dtmf(); len(tones) != 3 || tones[0] != "1" || tones[1] != "2" || tones[2] != "#" {
		t.Fatalf("B's onDTMF tones = %v, want exactly [1 2 #]", tones)
	}

	// Blind transfer: B sends A to C.
	xfer := b.send(map[string]any{"cmd": "transfer", "call": callID, "to": cContact})
	req := a.waitEvent("onTransferRequested", callID, 10*time.Second)
	if target, _ := req["target"].(string); target == "" || req["replaces"] != false || req["pending"] != true {
		t.Fatalf("A's onTransferRequested should name the target, without Replaces, and wait for consent: %v", req)
	}
	a.do(map[string]any{"cmd": "transfer-accept", "call": callID})
	_, acc := a.waitFor("onCallAccepted of the call to C", 0, 15*time.Second, func(o map[string]any) bool {
		id, _ := dig(o, "session.sipCallId").(string)
		return o["event"] == "onCallAccepted" && id != "" && id != callID
	})
	newID, _ := dig(acc, "session.sipCallId").(string)
	if dig(acc, "session.isCaller") != true || dig(acc, "session.sipStatus") != "Established" {
		t.Fatalf("A's call to C should be its own established outgoing call: %v", acc)
	}
	c.waitEvent("onCallAccepted", newID, 10*time.Second)
	_, r := b.waitFor("reply to "+xfer, 0, 15*time.Second, func(o map[string]any) bool { return o["id"] == xfer })
	if r["ok"] != true {
		t.Fatalf("B's transfer failed: %v", r)
	}
	b.waitEvent("onCallEnded", callID, 10*time.Second)
	a.waitEvent("onCallEnded", callID, 10*time.Second)
	if ended := a.events("onCallEnded", newID); len(ended) > 0 {
		t.Fatalf("A's call to C ended with the transfer: %v", ended)
	}
	// A and C are now in a call: C's view of it lists A's new call.
	calls := c.do(map[string]any{"cmd": "calls"})
	list, _ := calls["calls"].([]any)
	if len(list) != 1 || dig(list[0].(map[string]any), "sipCallId") != newID {
		t.Fatalf("C should have exactly the call from A, got %v", calls)
	}

	for _, d := range []*driver{a, b, c} {
		d.do(map[string]any{"cmd": "quit"})
		if err := d.waitExit(10 * time.Second); err != nil {
			t.Fatalf("%s exit: %v", d.name, err)
		}
	}
}
