package rtpmedia

import (
	"errors"
	"fmt"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"github.com/parlo-voip/parlo/capture/videocodec"
)

// ErrUnsupportedCodec means a video codec we cannot packetise or
// depacketise.
var ErrUnsupportedCodec = errors.New("rtpmedia: unsupported video codec")

// VideoMTU bounds an RTP video payload: 1200 bytes keeps a packet with SRTP's
// tag and the IP/UDP headers inside a 1500-byte Ethernet frame and under
// common tunnel MTUs, as Chrome does.
const VideoMTU = 1200

// NewPayloader returns the RTP payloader of codec: RFC 7741 for VP8 (with
// the 15-bit PictureID of §4.2, which lets a receiver tell a lost frame from
// a late one), RFC 6184 packetization-mode 1 for H.264.
func NewPayloader(codec videocodec.Name) (rtp.Payloader, error) {
	switch codec {
	case videocodec.VP8:
		return &codecs.VP8Payloader{EnablePictureID: true}, nil
	case videocodec.H264:
		return &codecs.H264Payloader{}, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnsupportedCodec, codec)
}

// NewPacketizer returns a packetizer for codec on payload type pt and ssrc,
// its sequence numbers starting at random (RFC 3550 §5.1).
func NewPacketizer(codec videocodec.Name, pt uint8, ssrc uint32) (rtp.Packetizer, error) {
	pl, err := NewPayloader(codec)
	if err != nil {
		return nil, err
	}
	return rtp.NewPacketizer(VideoMTU, pt, ssrc, pl, rtp.NewRandomSequencer(), videocodec.ClockRate), nil
}

// newDepacketizer returns the depacketizer of codec; H.264 comes out in
// Annex-B (start codes), what the decoders take.
func newDepacketizer(codec videocodec.Name) (rtp.Depacketizer, error) {
	switch codec {
	case videocodec.VP8:
		return &codecs.VP8Packet{}, nil
	case videocodec.H264:
		return &codecs.H264Packet{}, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnsupportedCodec, codec)
}
