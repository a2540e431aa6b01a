package rtpmedia

import (
	"sync"
	"sync/atomic"

	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/capture/videocodec"
)

// Counters are one session's RTP counters, updated by its media goroutines
// and read by Stats from anywhere.
type Counters struct {
	packetsSent, bytesSent         atomic.Uint64
	packetsReceived, bytesReceived atomic.Uint64

	videoPackets, videoBytes, videoFrames atomic.Uint64

	// dtxFrames counts 20 ms frames not sent as DTX silence.
	dtxFrames atomic.Uint64
	// videoRTX counts retransmissions (RFC 4588) of the peer's video.
	videoRTX atomic.Uint64

	mu         sync.Mutex
	sendCodec  string
	videoCodec videocodec.Name // of the peer's video
}

// AudioSent counts one audio or telephone-event packet of n payload bytes
// that went on the wire.
func (c *Counters) AudioSent(n int) {
	c.packetsSent.Add(1)
	c.bytesSent.Add(uint64(n))
}

// AudioReceived counts one audio packet of n payload bytes from the peer.
func (c *Counters) AudioReceived(n int) {
	c.packetsReceived.Add(1)
	c.bytesReceived.Add(uint64(n))
}

func (c *Counters) setSendCodec(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sendCodec = name
}

// Audio fills the audio part of Stats; p is the playout, nil before the
// first packet (the codec is then the one we send, or none).
func (c *Counters) Audio(p *AudioPlayout) media.AudioStats {
	c.mu.Lock()
	st := media.AudioStats{Codec: c.sendCodec}
	c.mu.Unlock()
	st.PacketsSent = c.packetsSent.Load()
	st.BytesSent = c.bytesSent.Load()
	st.PacketsReceived = c.packetsReceived.Load()
	st.BytesReceived = c.bytesReceived.Load()
	st.DTXFrames = c.dtxFrames.Load()
	if p != nil {
		st.PacketsLost = p.Lost()
		st.FECDecoded = p.FECDecoded()
		st.PlayoutDelayMs = float64(p.TargetDelay().Microseconds()) / 1000
		if st.Codec == "" {
			st.Codec = p.Codec()
		}
	}
	return st
}

// VideoRetransmission counts one RTX packet (RFC 4588) of the peer's
// video.
func (c *Counters) VideoRetransmission() { c.videoRTX.Add(1) }

func (c *Counters) setVideoCodec(name videocodec.Name) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.videoCodec = name
}

// VideoReceived is the received part of the video Stats (zero before the
// first packet). Decoder numbers are the engine's to fill.
func (c *Counters) VideoReceived() media.VideoReceivedStats {
	n := c.videoPackets.Load()
	if n == 0 {
		return media.VideoReceivedStats{}
	}
	c.mu.Lock()
	codec := c.videoCodec
	c.mu.Unlock()
	return media.VideoReceivedStats{
		Codec:           string(codec),
		Packets:         n,
		Bytes:           c.videoBytes.Load(),
		FramesAssembled: c.videoFrames.Load(),
		Retransmissions: c.videoRTX.Load(),
	}
}
