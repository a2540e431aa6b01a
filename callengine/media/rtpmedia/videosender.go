package rtpmedia

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"

	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/capture/videocodec"
)

// ErrFrameDropped is what a path's frame writer returns for a frame it
// deliberately does not send (on hold, line gone): the source is told
// nothing went wrong and the frame is not counted.
var ErrFrameDropped = errors.New("rtpmedia: video frame dropped")

// FrameWriter puts one encoded frame of duration d on the wire.
type FrameWriter func(frame []byte, d time.Duration) error

// Bitrate bounds and adaptation from receiver feedback: a loss-based
// controller like the loss half of GCC (draft-ietf-rmcat-gcc-02 §6): above
// 10 % loss the target drops by half the loss, below 2 % it grows by 8 % per
// report; REMB (draft-alvestrand-rmcat-remb-03) caps it.
const (
	MinVideoKbps = 150
	MaxVideoKbps = 4000
)

// VideoSendOptions configure a VideoSend.
type VideoSendOptions struct {
	// StartKbps is the encoder target before any feedback.
	StartKbps int
	// AdaptBitrate follows REMB and receiver-report loss.
	AdaptBitrate bool
}

// VideoSend is the lifecycle of our video sender (a screen share), shared
// by both media paths: which source runs, with which codec, its counters,
// and what the peer's RTCP feedback asks of it. The path owns the
// transport and calls Start once a negotiation lets us send.
type VideoSend struct {
	opts VideoSendOptions

	mu      sync.Mutex
	v       media.VideoSender
	started bool
	codec   videocodec.Name
	kbps    int

	frames, bytes, packets, keyReqs atomic.Uint64

	pacer *Pacer
	// lastHighestSeq is the extended highest sequence number of the last
	// receiver report about our stream: a report that names no new packet
	// says nothing about the path, so the target holds.
	lastHighestSeq uint32
}

// NewVideoSend wraps source v, not started.
func NewVideoSend(v media.VideoSender, o VideoSendOptions) *VideoSend {
	return &VideoSend{opts: o, v: v, kbps: o.StartKbps, pacer: NewPacer(o.StartKbps)}
}

// Started reports whether a negotiation has started the source.
func (vs *VideoSend) Started() bool {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	return vs.started
}

// Codec is the codec the source was started with ("" before Start).
func (vs *VideoSend) Codec() videocodec.Name {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	return vs.codec
}

// Source is the current source.
func (vs *VideoSend) Source() media.VideoSender {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	return vs.v
}

// Start starts the source with codec, writing through w.
func (vs *VideoSend) Start(codec videocodec.Name, w FrameWriter) error {
	vs.mu.Lock()
	vs.started, vs.codec = true, codec
	v, kbps := vs.v, vs.kbps
	vs.mu.Unlock()
	if err := v.Start(codec, vs.counted(w)); err != nil {
		return fmt.Errorf("rtpmedia: start %s video: %w", codec, err)
	}
	v.SetBitrate(kbps)
	return nil
}

// Replace stops the current source and puts v in its place. On a running
// sender v starts at once in the negotiated codec, writing through w (no new
// offer: the Wazo SDK's replaceTrack) and running is true; otherwise v waits
// for Start.
func (vs *VideoSend) Replace(v media.VideoSender, w FrameWriter) (running bool, err error) {
	vs.mu.Lock()
	old := vs.v
	vs.mu.Unlock()
	old.Stop() // outside mu: no write happens after it returns
	vs.mu.Lock()
	vs.v = v
	running, codec := vs.started, vs.codec
	vs.mu.Unlock()
	if !running {
		return false, nil
	}
	return true, vs.Start(codec, w)
}

// Stop stops the source; it returns once no frame is written any more.
func (vs *VideoSend) Stop() { vs.Source().Stop() }

// counted wraps w to count what went out.
func (vs *VideoSend) counted(w FrameWriter) FrameWriter {
	return func(frame []byte, d time.Duration) error {
		err := w(frame, d)
		if errors.Is(err, ErrFrameDropped) {
			return nil
		}
		if err != nil {
			return err
		}
		vs.frames.Add(1)
		vs.bytes.Add(uint64(len(frame)))
		return nil
	}
}

// Pace blocks until a packet of n bytes may leave: the paths call it before
// writing each video packet.
func (vs *VideoSend) Pace(n int) { vs.pacer.Wait(n) }

// PacketsSent counts n RTP packets of ours (paths that packetise
// themselves).
func (vs *VideoSend) PacketsSent(n int) { vs.packets.Add(uint64(n)) }

// HandleRTCP acts on the peer's feedback about our stream ssrc: PLI and FIR
// (RFC 4585 §6.3.1, RFC 5104 §4.3.1) ask the source for a keyframe; with
// AdaptBitrate, REMB and receiver-report loss set the encoder target.
func (vs *VideoSend) HandleRTCP(pkts []rtcp.Packet, ssrc uint32) {
	for _, p := range pkts {
		switch p := p.(type) {
		case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
			vs.keyReqs.Add(1)
			vs.Source().RequestKeyframe()
		case *rtcp.ReceiverEstimatedMaximumBitrate:
			if vs.opts.AdaptBitrate {
				vs.capKbps(int(p.Bitrate / 1000))
			}
		case *rtcp.ReceiverReport:
			if !vs.opts.AdaptBitrate {
				continue
			}
			for _, r := range p.Reports {
				if r.SSRC == ssrc && vs.newPackets(r.LastSequenceNumber) {
					vs.followLoss(float64(r.FractionLost) / 256)
				}
			}
		}
	}
}

func (vs *VideoSend) capKbps(kbps int) {
	vs.mu.Lock()
	cur := vs.kbps
	vs.mu.Unlock()
	if k := clampKbps(kbps); k < cur {
		vs.setKbps(k)
	}
}

// newPackets reports whether a receiver report's extended highest sequence
// number moved since the last one: a still screen sends nothing for
// seconds, and a report of "no loss" over no packets must not raise the
// target (it would climb back over a slow link between two frames).
func (vs *VideoSend) newPackets(highest uint32) bool {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	moved := highest != vs.lastHighestSeq
	vs.lastHighestSeq = highest
	return moved
}

func (vs *VideoSend) followLoss(loss float64) {
	vs.mu.Lock()
	cur := vs.kbps
	vs.mu.Unlock()
	switch {
	case loss > 0.10:
		vs.setKbps(clampKbps(int(float64(cur) * (1 - 0.5*loss))))
	case loss < 0.02:
		vs.setKbps(clampKbps(int(float64(cur) * 1.08)))
	}
}

func (vs *VideoSend) setKbps(kbps int) {
	vs.mu.Lock()
	if kbps == vs.kbps {
		vs.mu.Unlock()
		return
	}
	vs.kbps = kbps
	v := vs.v
	vs.mu.Unlock()
	vs.pacer.SetTarget(kbps)
	v.SetBitrate(kbps)
}

func clampKbps(k int) int { return min(max(k, MinVideoKbps), MaxVideoKbps) }

// Stats is the sent part of the video Stats; the engine fills in what only
// the source knows (size, frame rate).
func (vs *VideoSend) Stats() media.VideoSentStats {
	vs.mu.Lock()
	st := media.VideoSentStats{Codec: string(vs.codec), BitrateKbps: vs.kbps}
	vs.mu.Unlock()
	st.Frames = vs.frames.Load()
	st.Bytes = vs.bytes.Load()
	st.Packets = vs.packets.Load()
	st.KeyframeRequests = vs.keyReqs.Load()
	return st
}
