package audio

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"testing"
	"time"
)

// jbStep is one action on a JitterBuffer in a scripted scenario: push a
// packet, or pop and expect a given sequence number (-1: expect ok=false).
type jbStep struct {
	push  bool
	seq   uint16
	want  int // for pops
	reset bool
}

func push(seqs ...uint16) []jbStep {
	var s []jbStep
	for _, q := range seqs {
		s = append(s, jbStep{push: true, seq: q})
	}
	return s
}

func pop(wants ...int) []jbStep {
	var s []jbStep
	for _, w := range wants {
		s = append(s, jbStep{want: w})
	}
	return s
}

func script(parts ...[]jbStep) []jbStep {
	var all []jbStep
	for _, p := range parts {
		all = append(all, p...)
	}
	return all
}

// payloadFor encodes seq in the payload so a pop can be checked.
func payloadFor(seq uint16) []byte {
	b := make([]byte, 4)
	binary.BigEndian.PutUint16(b, seq)
	binary.BigEndian.PutUint16(b[2:], ^seq)
	return b
}

func seqOf(t testing.TB, p []byte) int {
	t.Helper()
	if len(p) != 4 || binary.BigEndian.Uint16(p[2:]) != ^binary.BigEndian.Uint16(p) {
		t.Fatalf("payload corrupted: %x", p)
	}
	return int(binary.BigEndian.Uint16(p))
}

func TestJitterBuffer(t *testing.T) {
	const none = -1
	for _, tc := range []struct {
		name  string
		opts  []JitterOption
		steps []jbStep
		want  JitterStats // only the counters checked below
	}{
		{
			name:  "in order",
			steps: script(push(1, 2, 3), pop(1, 2), push(4), pop(3), push(5), pop(4, 5)),
			want:  JitterStats{Played: 5},
		},
		{
			name:  "prefill to the target delay",
			steps: script(push(10), pop(none), push(11), pop(none), push(12), pop(10, 11, 12)),
			want:  JitterStats{Played: 3},
		},
		{
			name:  "reordered",
			steps: script(push(1, 3, 2), pop(1, 2), push(5, 4), pop(3, 4, 5)),
			want:  JitterStats{Played: 5},
		},
		{
			name:  "reordered before playout starts",
			steps: script(push(5, 4, 3), pop(3, 4, 5)),
			want:  JitterStats{Played: 3},
		},
		{
			name:  "duplicates",
			steps: script(push(1, 2, 2, 3, 1), pop(1, 2, 3)),
			want:  JitterStats{Played: 3, Duplicates: 2},
		},
		{
			name:  "loss is a gap",
			steps: script(push(1, 2, 3, 5, 6), pop(1, 2, 3, none, 5, 6)),
			want:  JitterStats{Played: 5, Lost: 1},
		},
		{
			name:  "burst loss",
			steps: script(push(1, 2, 3, 7, 8), pop(1, 2, 3, none, none, none, 7, 8)),
			want:  JitterStats{Played: 5, Lost: 3},
		},
		{
			name:  "wrap-around at 65535",
			steps: script(push(65533, 65535, 65534, 0), pop(65533, 65534), push(2, 1), pop(65535, 0, 1, 2)),
			want:  JitterStats{Played: 6},
		},
		{
			name:  "loss across the wrap",
			steps: script(push(65534, 65535, 1, 2), pop(65534, 65535, none, 1, 2)),
			want:  JitterStats{Played: 4, Lost: 1},
		},
		{
			name:  "late packet dropped",
			steps: script(push(1, 2, 4, 5), pop(1, 2, none), push(3), pop(4, 5), push(1)),
			want:  JitterStats{Played: 4, Lost: 1, Late: 2},
		},
		{
			// The sender stops (hold): the buffer underruns without skipping
			// ahead, then resumes at the next packet after prefilling again.
			name: "underrun and resume",
			steps: script(push(1, 2, 3), pop(1, 2, 3), pop(none, none, none, none),
				push(4), pop(none), push(5, 6), pop(4, 5, 6)),
			want: JitterStats{Played: 6, Underruns: 1},
		},
		{
			name: "sequence jump resyncs after two packets",
			steps: script(push(1, 2, 3), pop(1), push(30000), push(30001, 30002), pop(30000, 30001, 30002),
				push(30003), pop(30003)),
			want: JitterStats{Played: 5, Resyncs: 1},
		},
		{
			name:  "a single stray packet does not derail playout",
			steps: script(push(1, 2, 3), pop(1), push(40000), push(4), pop(2, 3, 4)),
			want:  JitterStats{Played: 4, Dropped: 1},
		},
		{
			name: "delay above the maximum is trimmed to the target",
			opts: []JitterOption{WithTargetDelay(40 * time.Millisecond), WithMaxDelay(80 * time.Millisecond)},
			// Prefill at 2, then a burst leaves 5 buffered (> max 4): the
			// oldest three go, playout continues at the target depth of 2.
			steps: script(push(1, 2, 3, 4, 5), pop(4, 5)),
			want:  JitterStats{Played: 2, Dropped: 3},
		},
		{
			name:  "reset starts a new stream",
			steps: script(push(1, 2, 3), pop(1), []jbStep{{reset: true}}, pop(none), push(500, 501, 502), pop(500, 501, 502)),
			want:  JitterStats{Played: 4},
		},
		{
			name:  "oversized payload dropped",
			opts:  []JitterOption{WithMaxPayload(3), WithTargetDelay(20 * time.Millisecond)},
			steps: script(push(1), pop(none)),
			want:  JitterStats{Dropped: 1},
		},
		{
			name:  "target of one frame",
			opts:  []JitterOption{WithTargetDelay(20 * time.Millisecond)},
			steps: script(push(9), pop(9), push(10), pop(10)),
			want:  JitterStats{Played: 2},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			jb := NewJitterBuffer(tc.opts...)
			for i, st := range tc.steps {
				switch {
				case st.reset:
					jb.Reset()
				case st.push:
					jb.Push(st.seq, uint32(st.seq)*960, payloadFor(st.seq))
				default:
					p, ok := jb.Pop()
					got := -1
					if ok {
						got = seqOf(t, p)
					}
					if got != st.want {
						t.Fatalf("step %d: Pop = %d, want %d (stats %+v)", i, got, st.want, jb.Stats())
					}
				}
			}
			s := jb.Stats()
			checks := []struct {
				name      string
				got, want uint64
			}{
				{"Played", s.Played, tc.want.Played},
				{"Lost", s.Lost, tc.want.Lost},
				{"Late", s.Late, tc.want.Late},
				{"Duplicates", s.Duplicates, tc.want.Duplicates},
				{"Dropped", s.Dropped, tc.want.Dropped},
				{"Underruns", s.Underruns, tc.want.Underruns},
				{"Resyncs", s.Resyncs, tc.want.Resyncs},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
				}
			}
		})
	}
}

// TestJitterBufferPayloadOwnership: the buffer copies on Push, so the caller
// may reuse its read buffer.
func TestJitterBufferPayloadOwnership(t *testing.T) {
	jb := NewJitterBuffer(WithTargetDelay(20 * time.Millisecond))
	buf := []byte{1, 2, 3}
	jb.Push(1, 0, buf)
	buf[0] = 9
	p, ok := jb.Pop()
	if !ok || p[0] != 1 {
		t.Errorf("Pop = %v %v, want the bytes as pushed", p, ok)
	}
}

// TestJitterBufferConcurrent runs a pusher and a popper at once (run with
// -race) with jittered, reordered arrival and checks every packet that came
// out is in order.
// One goroutine pushes (reordering pairs) while another pops, as the
// network and playout goroutines do. Whatever the interleaving, packets come
// out in sequence order and every packet received is either played or
// accounted for as late (its slot was already given up) or dropped.
func TestJitterBufferConcurrent(t *testing.T) {
	jb := NewJitterBuffer()
	const n = 3000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < n; i += 2 {
			// Arrive about as fast as playout: wait while the buffer is
			// well ahead (a network goroutine is paced by the sender).
			for jb.Stats().Depth > 6 {
				runtime.Gosched()
			}
			// Swap every pair to reorder.
			jb.Push(uint16(i+1), 0, payloadFor(uint16(i+1)))
			jb.Push(uint16(i), 0, payloadFor(uint16(i)))
		}
	}()
	last := -1
	played := 0
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		p, ok := jb.Pop()
		if !ok {
			select {
			case <-done:
				// Nothing more arrives: what is left stays buffered below
				// the playout target (it would play as more came in).
				deadline = time.Time{}
			default:
			}
			runtime.Gosched()
			continue
		}
		s := seqOf(t, p)
		if s <= last {
			t.Fatalf("popped %d after %d", s, last)
		}
		last = s
		played++
	}
	<-done
	s := jb.Stats()
	if s.Received != n || s.Duplicates != 0 || uint64(played)+s.Late+s.Dropped+uint64(s.Depth) != n {
		t.Errorf("played %d, stats %+v: received packets not all played, late, dropped or still buffered", played, s)
	}
	if played < n/2 {
		t.Errorf("only %d of %d played", played, n)
	}
}

// FuzzJitterBuffer drives a JitterBuffer with arbitrary pushes, pops and
// resets. It must never panic, never hold more than its capacity, and
// between resets and resyncs must release packets in sequence order.
func FuzzJitterBuffer(f *testing.F) {
	f.Add([]byte{0, 0, 1, 0, 0, 2, 0, 0, 3, 1, 1, 1, 1})
	f.Add([]byte{0, 0xFF, 0xFE, 0, 0xFF, 0xFF, 0, 0, 0, 1, 1, 1, 0, 0x80, 0, 0, 0x80, 1, 1})
	f.Add([]byte{0, 1, 2, 2, 0, 0, 0, 5, 5, 1})
	f.Fuzz(func(t *testing.T, ops []byte) {
		jb := NewJitterBuffer(WithMaxPayload(64))
		last := -1
		gen := uint64(0) // resets + resyncs seen
		for i := 0; i < len(ops); i++ {
			switch ops[i] % 4 {
			case 0, 3: // push: next two bytes are the seq, third a payload length
				if i+3 >= len(ops) {
					return
				}
				seq := binary.BigEndian.Uint16(ops[i+1:])
				size := int(ops[i+3]) % 80
				p := append(payloadFor(seq), make([]byte, size)...)
				jb.Push(seq, uint32(i), p)
				i += 3
			case 1:
				p, ok := jb.Pop()
				s := jb.Stats()
				if s.Resyncs != gen {
					gen, last = s.Resyncs, -1
				}
				if ok {
					if len(p) < 4 || len(p) > 64 {
						t.Fatalf("popped %d-byte payload", len(p))
					}
					seq := int(binary.BigEndian.Uint16(p))
					if binary.BigEndian.Uint16(p[2:]) != ^uint16(seq) {
						t.Fatalf("payload corrupted: %x", p[:4])
					}
					if last >= 0 && int16(uint16(seq)-uint16(last)) <= 0 {
						t.Fatalf("popped %d after %d", seq, last)
					}
					last = seq
				}
			case 2:
				jb.Reset()
				last = -1
			}
			if d := jb.Stats().Depth; d > jb.Capacity() || d < 0 {
				t.Fatalf("depth %d, capacity %d", d, jb.Capacity())
			}
		}
	})
}

func ExampleJitterBuffer() {
	jb := NewJitterBuffer() // 60 ms target: 3 packets of 20 ms
	for _, seq := range []uint16{100, 102, 101, 104} {
		jb.Push(seq, uint32(seq)*960, []byte{byte(seq)})
	}
	for range 5 {
		p, ok := jb.Pop()
		fmt.Println(p, ok) //nolint:staticcheck // QF1010: the example shows the payload's bytes, not text
	}
	fmt.Println("lost:", jb.Stats().Lost)
	// Output:
	// [100] true
	// [101] true
	// [102] true
	// [] false
	// [104] true
	// lost: 1
}
