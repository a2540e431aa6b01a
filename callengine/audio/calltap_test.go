package audio

import (
	"math"
	"testing"
)

// sendThrough reads one frame of mic through tap's Source.
func sendThrough(t *testing.T, tap *CallTap, mic Source) []int16 {
	t.Helper()
	f := make([]int16, FrameSamples)
	if err := tap.Source(mic).ReadFrame(f); err != nil {
		t.Fatal(err)
	}
	return f
}

// receive plays one frame of src into tap's Sink.
func receive(t *testing.T, tap *CallTap, src Source) {
	t.Helper()
	f := make([]int16, FrameSamples)
	if err := src.ReadFrame(f); err != nil {
		t.Fatal(err)
	}
	if err := tap.Sink(Null()).WriteFrame(f); err != nil {
		t.Fatal(err)
	}
}

func TestCallTapMixMinus(t *testing.T) {
	const a, b, c = 440.0, 660.0, 880.0 // host's mic, far end B, far end C
	cases := []struct {
		name       string
		link       bool
		hostMuted  bool
		wantToB    map[float64]bool // tones present in what B is sent
		wantToC    map[float64]bool
		unlinkThen bool
	}{
		{name: "alone: pass-through", wantToB: map[float64]bool{a: true, b: false, c: false}, wantToC: map[float64]bool{a: true, b: false, c: false}},
		{name: "linked: each hears the host and the other", link: true,
			wantToB: map[float64]bool{a: true, b: false, c: true}, wantToC: map[float64]bool{a: true, b: true, c: false}},
		{name: "linked, host muted: the parties still hear each other", link: true, hostMuted: true,
			wantToB: map[float64]bool{a: false, b: false, c: true}, wantToC: map[float64]bool{a: false, b: true, c: false}},
		{name: "unlinked again: pass-through", link: true, unlinkThen: true,
			wantToB: map[float64]bool{a: true, b: false, c: false}, wantToC: map[float64]bool{a: true, b: false, c: false}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tb, tcp := NewCallTap(), NewCallTap()
			if tc.link {
				Link(tb, tcp)
			}
			if tc.unlinkThen {
				tb.Unlink()
				if tb.Linked() != 0 || tcp.Linked() != 0 {
					t.Fatalf("after Unlink: %d and %d links", tb.Linked(), tcp.Linked())
				}
			}
			tb.SetMicMuted(tc.hostMuted)
			tcp.SetMicMuted(tc.hostMuted)
			farB, farC := NewTone(b, 0.3), NewTone(c, 0.3)
			receive(t, tb, farB)
			receive(t, tcp, farC)
			toB := sendThrough(t, tb, NewTone(a, 0.3))
			toC := sendThrough(t, tcp, NewTone(a, 0.3))
			check := func(who string, got []int16, want map[float64]bool) {
				for hz, present := range want {
					lvl := ToneLevel(got, SampleRate, hz)
					if present != (lvl > 0.2) {
						t.Errorf("%s: %v Hz at %.3f, want present=%v", who, hz, lvl, present)
					}
				}
			}
			check("to B", toB, tc.wantToB)
			check("to C", toC, tc.wantToC)
		})
	}
}

func TestMixIntoSaturates(t *testing.T) {
	dst := []int16{30000, -30000, 100}
	mixInto(dst, []int16{10000, -10000, -50})
	if dst[0] != math.MaxInt16 || dst[1] != math.MinInt16 || dst[2] != 50 {
		t.Fatalf("mix %v", dst)
	}
}

// A relay queue never grows past relayFrames: a leg whose far end stopped
// reading does not make the other's audio lag behind.
func TestCallTapRelayBounded(t *testing.T) {
	tb, tc := NewCallTap(), NewCallTap()
	Link(tb, tc)
	for range 50 {
		receive(t, tb, NewTone(660, 0.3))
	}
	tc.mu.Lock()
	n := len(tc.in[tb].frames)
	tc.mu.Unlock()
	if n != relayFrames {
		t.Fatalf("%d frames queued, want %d", n, relayFrames)
	}
}
