package webrtcmedia

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine/media"
)

func TestEventPayloadRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		ev  uint8
		end bool
		dur uint32
	}{{5, false, 960}, {11, true, 7680}, {15, true, 70000}} {
		p := eventPayload(tc.ev, tc.end, tc.dur)
		ev, end, ok := parseEvent(p)
		if !ok || ev != tc.ev || end != tc.end {
			t.Fatalf("%v → %v %v %v", tc, ev, end, ok)
		}
		if p[1]&0x3f != eventVolume {
			t.Fatalf("volume %d", p[1]&0x3f)
		}
	}
	if _, _, ok := parseEvent([]byte{1, 2}); ok {
		t.Fatal("short payload parsed")
	}
}

func TestSendDTMFIsReceivedOnce(t *testing.T) {
	a := newPeer(t, "a", 440)
	b := newPeer(t, "b", 660)
	var mu sync.Mutex
	var got strings.Builder
	b.s.ev.OnDTMF = func(d string) { mu.Lock(); got.WriteString(d); mu.Unlock() }
	connect(t, a, b)
	waitTone(t, b, 440, 5*time.Second)
	if err := a.s.SendDTMF(testCtx(t), "159#", 80*time.Millisecond); err != nil {
		t.Fatalf("SendDTMF: %v", err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		mu.Lock()
		s := got.String()
		mu.Unlock()
		if s == "159#" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("received %q, want 159#", s)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := a.s.SendDTMF(testCtx(t), "x", 0); err == nil {
		t.Fatal("bad tone accepted")
	}
	_ = media.ErrNoTelephoneEvent
}
