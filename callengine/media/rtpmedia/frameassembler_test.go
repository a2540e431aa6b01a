package rtpmedia

import (
	"bytes"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// vp8Packets packetises one frame the way pion's sender does.
func vp8Packets(t *testing.T, frame []byte, seq uint16, ts uint32) []*rtp.Packet {
	t.Helper()
	pay := &codecs.VP8Payloader{}
	chunks := pay.Payload(200, frame)
	out := make([]*rtp.Packet, len(chunks))
	for i, c := range chunks {
		out[i] = &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq + uint16(i), Timestamp: ts, Marker: i == len(chunks)-1}, Payload: c}
	}
	return out
}

// step is one event of an assembler test: a packet of frame A (index into
// its packets), of the next frame B, or the clock moving on.
type step struct {
	a, b    int // packet index of frame A or B; -1 when not this one
	advance time.Duration
}

func pa(i int) step             { return step{a: i, b: -1} }
func pb(i int) step             { return step{a: -1, b: i} }
func wait(d time.Duration) step { return step{a: -1, b: -1, advance: d} }

func TestFrameAssembler(t *testing.T) {
	frameA := bytes.Repeat([]byte{1, 2, 3, 4, 5, 6, 7}, 100) // 700 bytes → 4 packets
	frameB := bytes.Repeat([]byte{9, 8, 7, 6, 5}, 140)       // 4 packets too
	cases := []struct {
		name        string
		steps       []step
		want        string // the frames out, in order: "AB", "B", ""
		wantDropped bool
	}{
		{"in order", []step{pa(0), pa(1), pa(2), pa(3)}, "A", false},
		{"reordered", []step{pa(2), pa(0), pa(3), pa(1)}, "A", false},
		{"duplicate", []step{pa(0), pa(0), pa(1), pa(2), pa(3), pa(3)}, "A", false},
		{"marker first", []step{pa(3), pa(2), pa(1), pa(0)}, "A", false},
		{"two frames", []step{pa(0), pa(1), pa(2), pa(3), pb(0), pb(1), pb(2), pb(3)}, "AB", false},
		// A packet of A is lost; B arrives complete and waits behind A;
		// the retransmission completes A and both come out, in order.
		{"retransmission repairs", []step{pa(0), pa(1), pa(3), pb(0), pb(1), pb(2), pb(3), wait(50 * time.Millisecond), pa(2)}, "AB", false},
		// No retransmission within the repair wait: A is given up
		// (reported, so the caller asks for a keyframe) and B goes out.
		{"repair wait over", []step{pa(0), pa(1), pa(3), pb(0), pb(1), wait(DefaultRepairWait), pb(2), pb(3)}, "B", true},
		// A late retransmission of a given-up frame is ignored.
		{"too late", []step{pa(0), pa(1), pa(3), pb(0), wait(DefaultRepairWait), pb(1), pb(2), pb(3), pa(2)}, "B", true},
		// Without a later frame the incomplete one just waits.
		{"no later frame", []step{pa(0), pa(1), pa(3), wait(time.Second), pa(2)}, "A", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pkA := vp8Packets(t, frameA, 65534, 1000) // crosses the seq wrap
			pkB := vp8Packets(t, frameB, 2, 4000)
			now := time.Unix(0, 0)
			fa := NewFrameAssembler(&codecs.VP8Packet{})
			fa.now = func() time.Time { return now }
			got, dropped := "", false
			for _, st := range tc.steps {
				var p *rtp.Packet
				switch {
				case st.a >= 0:
					p = pkA[st.a]
				case st.b >= 0:
					p = pkB[st.b]
				default:
					now = now.Add(st.advance)
					continue
				}
				frames, d := fa.Push(p)
				dropped = dropped || d
				for _, f := range frames {
					switch {
					case bytes.Equal(f, frameA):
						got += "A"
					case bytes.Equal(f, frameB):
						got += "B"
					default:
						t.Fatalf("a frame of %d bytes matches neither", len(f))
					}
				}
			}
			if got != tc.want || dropped != tc.wantDropped {
				t.Fatalf("frames %q (want %q), dropped %v (want %v)", got, tc.want, dropped, tc.wantDropped)
			}
		})
	}
}

func FuzzFrameAssembler(f *testing.F) {
	f.Add([]byte{0x10, 1, 2}, uint16(1), uint32(5), true)
	f.Fuzz(func(t *testing.T, payload []byte, seq uint16, ts uint32, marker bool) {
		fa := NewFrameAssembler(&codecs.VP8Packet{})
		for i := 0; i < 3; i++ {
			fa.Push(&rtp.Packet{Header: rtp.Header{SequenceNumber: seq + uint16(i), Timestamp: ts, Marker: marker && i == 2}, Payload: payload})
		}
	})
}
