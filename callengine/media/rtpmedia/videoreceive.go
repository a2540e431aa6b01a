package rtpmedia

import (
	"github.com/pion/rtp"

	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/capture/videocodec"
)

// VideoReceive turns the peer's video RTP of one codec into complete
// encoded frames for a media.VideoSink, shared by both media paths. Any
// frame lost on the way, or refused by the sink, asks for a keyframe.
type VideoReceive struct {
	codec           videocodec.Name
	fa              *FrameAssembler
	out             media.VideoSink // nil: count and drop
	requestKeyframe func()
	stats           *Counters
}

// NewVideoReceive makes the receiver of codec; requestKeyframe sends a
// (throttled) PLI. It fails with ErrUnsupportedCodec.
func NewVideoReceive(codec videocodec.Name, out media.VideoSink, requestKeyframe func(), stats *Counters) (*VideoReceive, error) {
	d, err := newDepacketizer(codec)
	if err != nil {
		return nil, err
	}
	stats.setVideoCodec(codec)
	return &VideoReceive{codec: codec, fa: NewFrameAssembler(d), out: out, requestKeyframe: requestKeyframe, stats: stats}, nil
}

// Codec is the codec this receiver depacketises.
func (r *VideoReceive) Codec() videocodec.Name { return r.codec }

// Push takes one RTP packet (from the transport's goroutine).
func (r *VideoReceive) Push(p *rtp.Packet) {
	r.stats.videoPackets.Add(1)
	r.stats.videoBytes.Add(uint64(len(p.Payload)))
	// A retransmission may complete several frames that waited behind it.
	frames, dropped := r.fa.Push(p)
	if dropped {
		r.requestKeyframe()
	}
	for _, frame := range frames {
		r.stats.videoFrames.Add(1)
		if r.out != nil {
			if err := r.out.WriteVideoFrame(r.codec, frame); err != nil {
				r.requestKeyframe()
			}
		}
	}
}
