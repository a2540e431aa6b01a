// Package rtpmedia holds RTP media pieces shared by the media paths
// (webrtcmedia, classic) that do not depend on how packets are carried.
package rtpmedia

import (
	"github.com/pion/rtp"
)

// FrameAssembler rebuilds complete video frames from RTP packets and emits a
// frame as soon as its last packet (RTP marker bit, RFC 7741 §4.1 for VP8)
// arrives with no gap before it. pion's samplebuilder only releases a frame
// when the next frame's first packet arrives; a screen share sends nothing
// while the screen is still, so that cost up to a whole refresh interval
// (1 s) of latency on every change. Packets of a frame may arrive out of
// order; a frame whose packets are still missing when the next frame starts
// is dropped and reported, so the caller can ask for a keyframe (PLI).
type FrameAssembler struct {
	depack  rtp.Depacketizer
	ts      uint32
	active  bool
	pkts    map[uint16]*rtp.Packet
	first   uint16 // seq of the partition head, when seen
	hasHead bool
	last    uint16 // seq of the marker packet, when seen
	hasLast bool
	maxPkts int
}

// NewFrameAssembler returns an assembler depacketising with d.
func NewFrameAssembler(d rtp.Depacketizer) *FrameAssembler {
	return &FrameAssembler{depack: d, pkts: map[uint16]*rtp.Packet{}, maxPkts: 2048}
}

// Push adds one packet. It returns a complete frame when this packet
// completed one, and dropped when an incomplete frame was abandoned.
func (a *FrameAssembler) Push(p *rtp.Packet) (frame []byte, dropped bool) {
	if a.active && p.Timestamp != a.ts {
		if int32(p.Timestamp-a.ts) < 0 {
			return nil, false // a late packet of an older frame
		}
		dropped = len(a.pkts) > 0
		a.reset()
	}
	if !a.active {
		a.active, a.ts = true, p.Timestamp
	}
	if len(a.pkts) >= a.maxPkts {
		a.reset()
		return nil, true
	}
	if _, dup := a.pkts[p.SequenceNumber]; dup {
		return nil, dropped
	}
	a.pkts[p.SequenceNumber] = p
	if a.depack.IsPartitionHead(p.Payload) && (!a.hasHead || int16(p.SequenceNumber-a.first) < 0) {
		a.first, a.hasHead = p.SequenceNumber, true
	}
	if p.Marker {
		a.last, a.hasLast = p.SequenceNumber, true
	}
	if !a.hasHead || !a.hasLast {
		return nil, dropped
	}
	n := int(uint16(a.last-a.first)) + 1
	if n > len(a.pkts) {
		return nil, dropped // still waiting for packets in between
	}
	var out []byte
	for i := 0; i < n; i++ {
		pkt, ok := a.pkts[a.first+uint16(i)]
		if !ok {
			return nil, dropped
		}
		b, err := a.depack.Unmarshal(pkt.Payload)
		if err != nil {
			a.reset()
			a.active, a.ts = true, p.Timestamp
			return nil, true
		}
		out = append(out, b...)
	}
	a.reset()
	// Stay on this timestamp so a retransmitted duplicate does not count
	// as a new, incomplete frame.
	a.active, a.ts = true, p.Timestamp
	return out, dropped
}

func (a *FrameAssembler) reset() {
	clear(a.pkts)
	a.active, a.hasHead, a.hasLast = false, false, false
}
