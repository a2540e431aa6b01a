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
	// estimated is set by the first transport-wide estimate: from then on
	// it, not receiver-report loss, sets the target. congested is set when
	// an estimate came down and cleared when one reaches StartKbps again.
	estimated bool
	congested bool
	// keyAskedAt is when the source was last asked for a keyframe (zero
	// once that frame went out); keyHoldUntil is until when further
	// requests are about frames older than it (keyframeHoldOff).
	keyAskedAt   time.Time
	keyHoldUntil time.Time
	now          func() time.Time
	// tailProbe asks the source for a refresh once a keyframe should have
	// arrived (media.VideoRefresher); deferredKey answers a keyframe request
	// held off (keyframeAllowed). Stop and Replace stop both.
	tailProbe   *time.Timer
	deferredKey *time.Timer
	stopped     bool
}

// tailProbeDelay is how long after a keyframe's time on the wire the
// refresh that reveals a lost tail follows it.
const tailProbeDelay = 50 * time.Millisecond

// keyframeSlack is what a keyframe's hold-off adds to its time on the wire:
// a bottleneck's queue. A receiver that lost the keyframe's tail learns it
// from the tail probe (tailProbeDelay) and asks again only after its
// repair wait (DefaultRepairWait), later than that.
const keyframeSlack = 150 * time.Millisecond

// keyframeAskTimeout frees the hold-off when the asked-for keyframe never
// came (the source was paused).
const keyframeAskTimeout = time.Second

// NewVideoSend wraps source v, not started.
func NewVideoSend(v media.VideoSender, o VideoSendOptions) *VideoSend {
	return &VideoSend{opts: o, v: v, kbps: o.StartKbps, pacer: NewPacer(o.StartKbps), now: time.Now}
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
	vs.started, vs.codec, vs.stopped = true, codec, false
	// A source's first frame is a keyframe: held off and probed like one
	// that answers a request.
	vs.keyAskedAt = vs.now()
	v, kbps := vs.v, vs.kbps
	vs.mu.Unlock()
	if err := v.Start(codec, vs.counted(w)); err != nil {
		return fmt.Errorf("rtpmedia: start %s video: %w", codec, err)
	}
	if c := limitKbps(v, kbps); c != kbps {
		vs.setKbps(c) // the encoder, the pacer and the stats follow the source's ceiling
		return nil
	}
	v.SetBitrate(kbps)
	return nil
}

// limitKbps applies v's own ceiling (media.VideoBitrateLimiter) to kbps.
func limitKbps(v media.VideoSender, kbps int) int {
	if l, ok := v.(media.VideoBitrateLimiter); ok {
		if m := l.MaxKbps(); m > 0 {
			return min(kbps, max(m, MinVideoKbps))
		}
	}
	return kbps
}

// Replace stops the current source and puts v in its place. On a running
// sender v starts at once in the negotiated codec, writing through w (no new
// offer: the Wazo SDK's replaceTrack) and running is true; otherwise v waits
// for Start.
func (vs *VideoSend) Replace(v media.VideoSender, w FrameWriter) (running bool, err error) {
	vs.mu.Lock()
	old := vs.v
	vs.stopTimersLocked()
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
func (vs *VideoSend) Stop() {
	vs.mu.Lock()
	vs.stopped = true
	vs.stopTimersLocked()
	vs.mu.Unlock()
	vs.Source().Stop()
}

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
		vs.sentFrame(len(frame))
		return nil
	}
}

// sentFrame starts the keyframe hold-off when the frame that just went out
// answered a keyframe request.
func (vs *VideoSend) sentFrame(n int) {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	if vs.keyAskedAt.IsZero() {
		return
	}
	vs.keyAskedAt = time.Time{}
	onWire := time.Duration(float64(n*8) / float64(max(vs.kbps, MinVideoKbps)*1000) * float64(time.Second))
	vs.keyHoldUntil = vs.now().Add(onWire + keyframeSlack)
	if r, ok := vs.v.(media.VideoRefresher); ok && !vs.stopped {
		vs.stopTailProbeLocked()
		vs.tailProbe = time.AfterFunc(onWire+tailProbeDelay, r.RequestRefresh)
	}
}

// stopTailProbeLocked runs with mu held.
func (vs *VideoSend) stopTailProbeLocked() {
	if vs.tailProbe != nil {
		vs.tailProbe.Stop()
		vs.tailProbe = nil
	}
}

// keyframeAllowed reports whether a keyframe request is acted on now, and
// if so records it. A request that reaches us while the keyframe that
// answered the last one is still to be made (the coming keyframe answers
// it) or on its way (a text page's keyframe takes half a second on a
// 500 kbit/s link) is most likely about a picture older than that
// keyframe: answering it at once would put a second keyframe behind the
// first, and on a slow link every keyframe would be cut short by the next.
// One on the way is answered when the hold-off ends instead, in case the
// keyframe was lost too: a receiver whose request went unanswered asks
// again only when another frame shows it a loss.
func (vs *VideoSend) keyframeAllowed(now time.Time) bool {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	if !vs.keyAskedAt.IsZero() && now.Sub(vs.keyAskedAt) < keyframeAskTimeout {
		return false
	}
	if now.Before(vs.keyHoldUntil) {
		if vs.deferredKey == nil && !vs.stopped {
			vs.deferredKey = time.AfterFunc(vs.keyHoldUntil.Sub(now), vs.answerDeferredKeyframe)
		}
		return false
	}
	vs.keyAskedAt = now
	return true
}

// answerDeferredKeyframe acts on a request held off by keyframeAllowed.
func (vs *VideoSend) answerDeferredKeyframe() {
	vs.mu.Lock()
	vs.deferredKey = nil
	vs.mu.Unlock()
	if vs.keyframeAllowed(vs.now()) {
		vs.Source().RequestKeyframe()
	}
}

// stopTimersLocked stops the tail probe and a deferred keyframe (mu held).
func (vs *VideoSend) stopTimersLocked() {
	vs.stopTailProbeLocked()
	if vs.deferredKey != nil {
		vs.deferredKey.Stop()
		vs.deferredKey = nil
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
			if vs.keyframeAllowed(vs.now()) {
				vs.Source().RequestKeyframe()
			}
		case *rtcp.ReceiverEstimatedMaximumBitrate:
			if vs.opts.AdaptBitrate {
				vs.capKbps(int(p.Bitrate / 1000))
			}
		case *rtcp.ReceiverReport:
			if !vs.opts.AdaptBitrate || vs.followsEstimate() {
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

// FollowEstimate sets the target to a congestion controller's estimate of
// the path (GCC over transport-wide feedback, draft-ietf-rmcat-gcc-02 §4,
// §5). From the first estimate on, receiver-report loss no longer moves the
// target: the estimate counts the same losses per packet and sees a queue
// build before any loss. A REMB below it still lowers it.
func (vs *VideoSend) FollowEstimate(kbps int) {
	if !vs.opts.AdaptBitrate {
		return
	}
	kbps = clampKbps(kbps)
	vs.mu.Lock()
	vs.estimated = true
	switch {
	case kbps < vs.kbps:
		// The path, not the encoder, is the limit now.
		vs.congested = true
	case kbps >= vs.opts.StartKbps:
		// The path carries more than we started with: a dip was noise
		// (on a busy machine the delay-based half reads scheduling delay
		// as a queue), not a bottleneck.
		vs.congested = false
	}
	congested := vs.congested
	vs.mu.Unlock()
	vs.pacer.SetCongested(congested)
	vs.setKbps(kbps)
}

func (vs *VideoSend) followsEstimate() bool {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	return vs.estimated
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
		vs.mu.Lock()
		vs.congested = true
		vs.mu.Unlock()
		vs.pacer.SetCongested(true)
		vs.setKbps(clampKbps(int(float64(cur) * (1 - 0.5*loss))))
	case loss < 0.02:
		vs.setKbps(clampKbps(int(float64(cur) * 1.08)))
	}
}

func (vs *VideoSend) setKbps(kbps int) {
	vs.mu.Lock()
	v := vs.v
	limited := limitKbps(v, kbps)
	if limited < kbps {
		// The source's ceiling is the bottleneck now: pace as on a
		// congested path, so that what leaves stays near the ceiling
		// (the capture waits and the frame rate drops) instead of
		// 2.5x it in bursts.
		vs.congested = true
		defer vs.pacer.SetCongested(true)
	}
	kbps = limited
	if kbps == vs.kbps {
		vs.mu.Unlock()
		return
	}
	vs.kbps = kbps
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
