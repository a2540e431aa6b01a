package rtpmedia

import (
	"bytes"
	"testing"

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

func TestFrameAssembler(t *testing.T) {
	frame := bytes.Repeat([]byte{1, 2, 3, 4, 5, 6, 7}, 100) // 700 bytes → 4 packets
	cases := []struct {
		name        string
		order       []int // indexes into the packets, -1 = next frame's first packet
		wantFrame   int   // index in order after which the frame is complete (-1: never)
		wantDropped bool
	}{
		{"in order", []int{0, 1, 2, 3}, 3, false},
		{"reordered", []int{2, 0, 3, 1}, 3, false},
		{"duplicate", []int{0, 0, 1, 2, 3}, 4, false},
		{"marker first", []int{3, 2, 1, 0}, 3, false},
		{"lost packet then next frame", []int{0, 1, 3, -1}, -1, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pk := vp8Packets(t, frame, 65534, 1000) // crosses the seq wrap
			next := vp8Packets(t, frame, 10, 4000)
			fa := NewFrameAssembler(&codecs.VP8Packet{})
			got, dropped := -1, false
			for i, idx := range tc.order {
				p := next[0]
				if idx >= 0 {
					p = pk[idx]
				}
				f, d := fa.Push(p)
				dropped = dropped || d
				if f != nil {
					if !bytes.Equal(f, frame) {
						t.Fatalf("frame differs: %d bytes", len(f))
					}
					if got < 0 {
						got = i
					}
				}
			}
			if got != tc.wantFrame || dropped != tc.wantDropped {
				t.Fatalf("frame after step %d (want %d), dropped %v (want %v)", got, tc.wantFrame, dropped, tc.wantDropped)
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
