package callengine

import (
	"encoding/json"
	"slices"
	"testing"
	"time"
)

// The seed page lists exactly these keys for a CallSession.
var seedKeys = []string{
	"answered", "answeredBySystem", "answerTime", "autoAnswer", "call", "callId",
	"callerNumber", "cameraEnabled", "conference", "creationTime", "dialedExtension",
	"displayName", "endTime", "ignored", "isCaller", "muted", "number", "paused",
	"recording", "recordingPaused", "ringing", "screensharing", "sipCallId",
	"sipStatus", "startTime", "type", "videoMuted", "videoRemotelyDowngraded",
}

func TestCallSessionJSONKeysMatchSeed(t *testing.T) {
	now := time.Now()
	s := CallSession{Type: "CallSession", CreationTime: now, AnswerTime: &now, Screensharing: true}
	raw, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := slices.Clone(seedKeys)
	slices.Sort(want)
	if !slices.Equal(keys, want) {
		t.Fatalf("CallSession JSON keys:\n got %v\nwant %v", keys, want)
	}
	if len(keys) != 28 {
		t.Fatalf("%d keys, the seed has 28", len(keys))
	}
	if m["type"] != "CallSession" || m["screensharing"] != true || m["endTime"] != nil {
		t.Fatalf("values: %v", m)
	}
}

// update emits the new snapshot and never lets a consumer's copy change.
func TestCallSnapshotsAreImmutable(t *testing.T) {
	p := &Phone{bus: newEventBus(), calls: map[string]*call{}}
	p.log = discardLogger()
	sub := p.Subscribe()
	defer sub.Close()
	c := newCall(p, "abc", true)
	c.update(func(s *CallSession) { s.Muted = true }, []string{EventCallMuted}, nil)
	c.update(func(s *CallSession) { s.Muted = false }, []string{EventCallUnmuted}, nil)
	first := <-sub.C()
	second := <-sub.C()
	if first.Name != EventCallMuted || !first.Session.Muted {
		t.Fatalf("first event %s muted=%v", first.Name, first.Session.Muted)
	}
	if second.Name != EventCallUnmuted || second.Session.Muted {
		t.Fatalf("second event %s muted=%v", second.Name, second.Session.Muted)
	}
	if first.Session == second.Session {
		t.Fatal("two events share one snapshot")
	}
}

func TestCallSessionStateChanges(t *testing.T) {
	p := &Phone{bus: newEventBus(), calls: map[string]*call{}}
	p.log = discardLogger()
	c := newCall(p, "id-1", false)
	p.addCall(c)
	s := c.snapshot()
	if s.SipStatus != SipStatusInitial || s.IsCaller || s.Answered || s.Type != "CallSession" || s.SipCallID != "id-1" {
		t.Fatalf("new call: %+v", s)
	}
	c.terminate([]string{EventCallCanceled}, nil)
	s = c.snapshot()
	if !s.IsTerminated() || s.EndTime == nil || s.Ringing {
		t.Fatalf("terminated call: %+v", s)
	}
	if len(p.Calls()) != 0 {
		t.Fatal("terminated call still listed")
	}
	// A second terminate is a no-op (no second onCallEnded).
	sub := p.Subscribe()
	defer sub.Close()
	c.terminate(nil, nil)
	select {
	case ev := <-sub.C():
		t.Fatalf("second terminate emitted %s", ev.Name)
	case <-time.After(50 * time.Millisecond):
	}
}
