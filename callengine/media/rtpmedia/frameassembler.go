// Package rtpmedia holds RTP media pieces shared by the media paths
// (webrtcmedia, classic) that do not depend on how packets are carried.
package rtpmedia

import (
	"time"

	"github.com/pion/rtp"
)

// Defaults of the assembler's repair window.
const (
	// DefaultRepairWait is how long a frame with missing packets is kept
	// once a later frame has started arriving: long enough for a NACK and
	// its retransmission (RFC 4585 §6.2.1) on a LAN or a good WAN path,
	// short enough that a lost packet costs less than a keyframe would.
	DefaultRepairWait = 200 * time.Millisecond
	// maxPendingFrames bounds the frames held behind a missing packet.
	maxPendingFrames = 16
	// maxFramePackets bounds the packets of one frame (a 4K keyframe is
	// well under it).
	maxFramePackets = 2048
)

// FrameAssembler rebuilds complete video frames from RTP packets and emits
// each frame as soon as its last packet (RTP marker bit, RFC 7741 §4.1 for
// VP8) arrives with no gap before it and every earlier frame is out. pion's
// samplebuilder only releases a frame when the next frame's first packet
// arrives; a screen share sends nothing while the screen is still, so that
// cost up to a whole refresh interval (1 s) of latency on every change.
//
// A frame with a missing packet is not given up at once: later frames wait
// behind it (a video frame depends on the ones before) for up to the repair
// wait, while the NACK generator asks for the packet again. Only a frame
// still incomplete after that is dropped and reported, so the caller asks
// for a keyframe (PLI) — the expensive repair — only when retransmission
// failed.
type FrameAssembler struct {
	depack rtp.Depacketizer
	wait   time.Duration
	now    func() time.Time

	pending []*partialFrame // by RTP timestamp, oldest first
	// done is the timestamp of the newest frame emitted or dropped: a
	// packet of it or of an older one is late and ignored.
	done     uint32
	haveDone bool
}

// partialFrame is one frame being assembled.
type partialFrame struct {
	ts      uint32
	pkts    map[uint16]*rtp.Packet
	first   uint16 // seq of the partition head, when seen
	hasHead bool
	last    uint16 // seq of the marker packet, when seen
	hasLast bool
	// overtaken is when a packet of a later frame first arrived while
	// this one was incomplete: the repair wait runs from then.
	overtaken time.Time
}

// NewFrameAssembler returns an assembler depacketising with d, with the
// default repair wait.
func NewFrameAssembler(d rtp.Depacketizer) *FrameAssembler {
	return &FrameAssembler{depack: d, wait: DefaultRepairWait, now: time.Now}
}

// Push adds one packet. It returns the frames this packet completed (a
// retransmission can complete several that waited behind it), oldest
// first, and dropped when an incomplete frame was given up.
func (a *FrameAssembler) Push(p *rtp.Packet) (frames [][]byte, dropped bool) {
	if a.haveDone && int32(p.Timestamp-a.done) <= 0 {
		return nil, false // late: a duplicate or a packet of a frame already out
	}
	now := a.now()
	f := a.frame(p.Timestamp, now)
	if f == nil {
		return nil, false
	}
	if _, dup := f.pkts[p.SequenceNumber]; !dup {
		if len(f.pkts) >= maxFramePackets {
			dropped = true
			a.dropThrough(f.ts)
		} else {
			f.add(p, a.depack)
		}
	}
	return a.release(now, dropped)
}

// frame finds or starts the frame of ts, keeping pending in timestamp
// order; a frame beyond the pending limit makes room by dropping the
// oldest.
func (a *FrameAssembler) frame(ts uint32, now time.Time) *partialFrame {
	i := 0
	for ; i < len(a.pending); i++ {
		d := int32(ts - a.pending[i].ts)
		if d == 0 {
			return a.pending[i]
		}
		if d < 0 {
			break
		}
	}
	f := &partialFrame{ts: ts, pkts: map[uint16]*rtp.Packet{}}
	a.pending = append(a.pending, nil)
	copy(a.pending[i+1:], a.pending[i:])
	a.pending[i] = f
	for _, older := range a.pending[:i] {
		if older.overtaken.IsZero() {
			older.overtaken = now
		}
	}
	return f
}

func (f *partialFrame) add(p *rtp.Packet, d rtp.Depacketizer) {
	f.pkts[p.SequenceNumber] = p
	if d.IsPartitionHead(p.Payload) && (!f.hasHead || int16(p.SequenceNumber-f.first) < 0) {
		f.first, f.hasHead = p.SequenceNumber, true
	}
	if p.Marker {
		f.last, f.hasLast = p.SequenceNumber, true
	}
}

// complete returns the frame's bytes when every packet from head to marker
// is there; broken is set when they are all there but do not depacketise.
func (f *partialFrame) complete(d rtp.Depacketizer) (out []byte, ok, broken bool) {
	if !f.hasHead || !f.hasLast {
		return nil, false, false
	}
	n := int(uint16(f.last-f.first)) + 1
	if n > len(f.pkts) {
		return nil, false, false
	}
	for i := range n {
		pkt, ok := f.pkts[f.first+uint16(i)]
		if !ok {
			return nil, false, false
		}
		b, err := d.Unmarshal(pkt.Payload)
		if err != nil {
			return nil, false, true
		}
		out = append(out, b...)
	}
	return out, true, false
}

// release emits complete frames from the front of pending and drops the
// front frame once its repair wait is over (or too many frames wait).
func (a *FrameAssembler) release(now time.Time, dropped bool) ([][]byte, bool) {
	var out [][]byte
	for len(a.pending) > 0 {
		f := a.pending[0]
		b, ok, broken := f.complete(a.depack)
		switch {
		case ok:
			out = append(out, b)
		case broken,
			len(a.pending) > maxPendingFrames,
			!f.overtaken.IsZero() && now.Sub(f.overtaken) >= a.wait:
			dropped = true
		default:
			return out, dropped
		}
		a.pending = a.pending[1:]
		a.done, a.haveDone = f.ts, true
	}
	return out, dropped
}

// dropThrough gives up every pending frame up to and including ts.
func (a *FrameAssembler) dropThrough(ts uint32) {
	for len(a.pending) > 0 && int32(a.pending[0].ts-ts) <= 0 {
		a.done, a.haveDone = a.pending[0].ts, true
		a.pending = a.pending[1:]
	}
}
