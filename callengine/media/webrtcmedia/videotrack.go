package webrtcmedia

import (
	"errors"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/parlo-voip/parlo/callengine/media/rtpmedia"
	"github.com/parlo-voip/parlo/capture/videocodec"
)

// errNoVideoCodec means the negotiated video line has no codec we can encode.
var errNoVideoCodec = errors.New("webrtcmedia: no negotiated video codec to send")

// errVideoNotBound means a frame came before pion bound the track (or after
// it unbound it) or in another codec than the one bound.
var errVideoNotBound = errors.New("webrtcmedia: video track not bound to that codec")

// videoTrack is our outgoing video as a pion TrackLocal bound to whatever
// video codec the negotiation put first among those we encode (RFC 3264
// §6.1: the answerer's order is the preference for what we send), so a
// peer that only takes H.264 gets H.264. pion's static sample track is
// fixed to one MIME type before negotiation. It packetises encoded frames
// itself: RFC 7741 for VP8, RFC 6184 (packetization-mode 1) for H.264.
type videoTrack struct {
	id, streamID string

	mu     sync.Mutex
	writer webrtc.TrackLocalWriter
	codec  webrtc.RTPCodecParameters
	name   videocodec.Name
	pk     rtp.Packetizer
}

func newVideoTrack(id, streamID string) *videoTrack {
	return &videoTrack{id: id, streamID: streamID}
}

// Bind is called by pion once negotiation has fixed the codecs.
func (t *videoTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	for _, c := range ctx.CodecParameters() {
		name, ok := videocodec.Parse(c.MimeType)
		if !ok {
			continue
		}
		// The packetizer's SSRC and payload type are overwritten by pion's
		// write stream.
		pk, err := rtpmedia.NewPacketizer(name, uint8(c.PayloadType), uint32(ctx.SSRC()))
		if err != nil {
			return webrtc.RTPCodecParameters{}, err
		}
		t.mu.Lock()
		defer t.mu.Unlock()
		t.writer = ctx.WriteStream()
		t.codec = c
		t.name = name
		t.pk = pk
		return c, nil
	}
	return webrtc.RTPCodecParameters{}, errNoVideoCodec
}

// Unbind is called when the sender stops.
func (t *videoTrack) Unbind(webrtc.TrackLocalContext) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.writer = nil
	return nil
}

// ID implements webrtc.TrackLocal.
func (t *videoTrack) ID() string { return t.id }

// RID implements webrtc.TrackLocal (no simulcast).
func (t *videoTrack) RID() string { return "" }

// StreamID implements webrtc.TrackLocal.
func (t *videoTrack) StreamID() string { return t.streamID }

// Kind implements webrtc.TrackLocal.
func (t *videoTrack) Kind() webrtc.RTPCodecType { return webrtc.RTPCodecTypeVideo }

// boundCodec returns the encoding name bound ("" before Bind).
func (t *videoTrack) boundCodec() videocodec.Name {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.writer == nil {
		return ""
	}
	return t.name
}

// writeFrame packetises one encoded frame of codec and sends it, each
// packet when pace lets it go; the RTP timestamp advances by d first (90 kHz
// clock), like pion's TrackLocalStaticSample.WriteSample. It returns the
// number of packets written.
func (t *videoTrack) writeFrame(codec videocodec.Name, frame []byte, d time.Duration, pace func(int)) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.writer == nil || t.name != codec {
		return 0, errVideoNotBound
	}
	samples := uint32(d.Seconds() * float64(t.codec.ClockRate))
	n := 0
	for _, p := range t.pk.Packetize(frame, samples) {
		pace(p.MarshalSize())
		if _, err := t.writer.WriteRTP(&p.Header, p.Payload); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
