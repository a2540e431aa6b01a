package rtpmedia

import (
	"testing"
	"time"
)

// TestPacerSpreadsAFrame: on a fake clock, a 30 kB keyframe in 1200-byte
// packets leaves at the pacing rate (2.5 times the target, 1.2 times on a
// congested path), after a first burst of the bucket; a new target changes
// the spacing; an idle pacer lets a burst out at once again.
func TestPacerSpreadsAFrame(t *testing.T) {
	now := time.Unix(0, 0)
	p := NewPacer(1000) // 1 Mbit/s target: 312.5 kB/s paced
	p.now = func() time.Time { return now }
	p.sleep = func(d time.Duration) { now = now.Add(d) }

	send := func(packets int) time.Duration {
		t0 := now
		for range packets {
			p.Wait(1200)
		}
		return now.Sub(t0)
	}
	tests := []struct {
		name      string
		kbps      int
		congested bool
		packets   int
		want      time.Duration
	}{
		// 25 packets = 30 kB; the 2400-byte bucket is free.
		{"keyframe at 1 Mbit/s", 1000, false, 25, time.Duration(float64(30000-2400) / 312500 * float64(time.Second))},
		{"keyframe at 500 kbit/s", 500, false, 25, time.Duration(float64(30000) / 156250 * float64(time.Second))},
		{"keyframe at 500 kbit/s, congested", 500, true, 25, time.Duration(float64(30000) / 75000 * float64(time.Second))},
	}
	for _, tc := range tests {
		p.SetTarget(tc.kbps)
		p.SetCongested(tc.congested)
		got := send(tc.packets)
		if d := got - tc.want; d < -time.Millisecond || d > time.Millisecond {
			t.Errorf("%s: %d packets took %v, want %v", tc.name, tc.packets, got, tc.want)
		}
	}
	now = now.Add(time.Second)
	if got := send(2); got != 0 {
		t.Errorf("after a second idle, two packets waited %v, want none", got)
	}
}
