package audio

import (
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

// A simulated 20 ms Opus stream through an adaptive buffer: steady, then
// ±jitter, then steady again. The target delay must grow under jitter
// (and the buffer then lose few packets to lateness) and come back down
// once the jitter ends.
func TestJitterBufferAdaptsToJitter(t *testing.T) {
	for _, tc := range []struct {
		name    string
		jitter  time.Duration
		wantMin time.Duration // target under jitter at least
	}{
		{"20ms", 20 * time.Millisecond, 60 * time.Millisecond},
		{"40ms", 40 * time.Millisecond, 100 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var now time.Time
			start := time.Unix(1000, 0)
			now = start
			jb := NewJitterBuffer(WithAdaptiveDelay(40*time.Millisecond, 300*time.Millisecond), WithClockRate(48000), withNow(func() time.Time { return now }))
			rng := rand.New(rand.NewPCG(1, 2))
			type arrival struct {
				at  time.Duration
				seq uint16
			}
			// Phases: 0-3 s steady, 3-9 s jitter, 9-15 s steady.
			var arr []arrival
			for i := range 750 {
				sent := time.Duration(i) * 20 * time.Millisecond
				d := 50 * time.Millisecond
				if sent >= 3*time.Second && sent < 9*time.Second {
					d += time.Duration((rng.Float64()*2 - 1) * float64(tc.jitter))
				}
				arr = append(arr, arrival{sent + d, uint16(i)})
			}
			sort.Slice(arr, func(a, b int) bool { return arr[a].at < arr[b].at })
			targetAt := map[time.Duration]time.Duration{}
			var lostInJitter uint64
			k := 0
			for tick := time.Duration(0); tick < 15*time.Second; tick += 20 * time.Millisecond {
				for k < len(arr) && arr[k].at <= tick {
					now = start.Add(arr[k].at)
					jb.Push(arr[k].seq, uint32(arr[k].seq)*960, []byte{1})
					k++
				}
				now = start.Add(tick)
				before := jb.Stats().Lost
				jb.Pop()
				if tick >= 5*time.Second && tick < 9*time.Second {
					lostInJitter += jb.Stats().Lost - before
				}
				targetAt[tick] = jb.Stats().Target
			}
			steady, jittery, after := targetAt[2900*time.Millisecond], targetAt[8900*time.Millisecond], targetAt[14900*time.Millisecond]
			t.Logf("target: %s steady, %s under ±%s, %s 6 s after; %d packets late in the last 4 s of jitter", steady, jittery, tc.jitter, after, lostInJitter)
			if steady > 60*time.Millisecond {
				t.Errorf("steady target %s, want ≤ 60 ms", steady)
			}
			if jittery < tc.wantMin {
				t.Errorf("target under ±%s jitter %s, want ≥ %s", tc.jitter, jittery, tc.wantMin)
			}
			if after > steady {
				t.Errorf("target 6 s after the jitter %s, want back to %s", after, steady)
			}
			if lostInJitter > 4 {
				t.Errorf("%d packets lost to lateness in 4 s once adapted, want ≤ 4", lostInJitter)
			}
		})
	}
}

// One packet held up by a stall does not set the delay: the spread leaves
// the latest few packets of the window out.
func TestJitterBufferIgnoresOneStall(t *testing.T) {
	start := time.Unix(1000, 0)
	now := start
	jb := NewJitterBuffer(WithAdaptiveDelay(40*time.Millisecond, 300*time.Millisecond), WithClockRate(48000), withNow(func() time.Time { return now }))
	var maxTarget time.Duration
	for i := range 200 {
		at := time.Duration(i) * 20 * time.Millisecond
		if i == 100 {
			continue // arrives 250 ms late, below
		}
		if i == 112 {
			now = start.Add(at)
			jb.Push(100, 100*960, []byte{1})
		}
		now = start.Add(at)
		jb.Push(uint16(i), uint32(i)*960, []byte{1})
		jb.Pop()
		maxTarget = max(maxTarget, jb.Stats().Target)
	}
	if maxTarget > 60*time.Millisecond {
		t.Fatalf("one packet 240 ms late raised the target to %s, want ≤ 60 ms", maxTarget)
	}
}
