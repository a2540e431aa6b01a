package rtpmedia

import (
	"encoding/binary"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"github.com/parlo-voip/parlo/callengine/audio"
)

// datagrams cuts fuzz input into length-prefixed datagrams (2-byte big
// endian length), as the network would deliver them.
func datagrams(data []byte) [][]byte {
	var out [][]byte
	for len(data) >= 2 {
		n := int(binary.BigEndian.Uint16(data)) % 1600
		data = data[2:]
		n = min(n, len(data))
		out = append(out, data[:n])
		data = data[n:]
	}
	return out
}

func withLen(b []byte) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(b))), b...)
}

func rtpBytes(seq uint16, ts uint32, marker bool, payload []byte) []byte {
	b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: ts, Marker: marker, SSRC: 1}, Payload: payload}).Marshal()
	return b
}

// FuzzFrameAssemblerStream feeds a stream of whatever parses as RTP to the
// assemblers of both video codecs (VP8, RFC 7741; H.264, RFC 6184 with
// STAP-A and FU-A): no panic, and no frame larger than what came in (plus
// the start codes H.264 adds per NAL unit).
func FuzzFrameAssemblerStream(f *testing.F) {
	var seed []byte
	seed = append(seed, withLen(rtpBytes(1, 90, false, []byte{0x10, 0x9d, 0x01, 0x2a, 1, 2}))...)
	seed = append(seed, withLen(rtpBytes(2, 90, true, []byte{0x00, 3, 4}))...)
	f.Add(seed)
	seed = nil
	seed = append(seed, withLen(rtpBytes(7, 180, false, []byte{0x7c, 0x85, 0x88, 0x84}))...) // FU-A start
	seed = append(seed, withLen(rtpBytes(8, 180, true, []byte{0x7c, 0x45, 0x21}))...)        // FU-A end
	seed = append(seed, withLen(rtpBytes(9, 270, true, []byte{0x78, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce}))...)
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		fas := []*FrameAssembler{NewFrameAssembler(&codecs.VP8Packet{}), NewFrameAssembler(&codecs.H264Packet{})}
		in := 0
		for _, d := range datagrams(data) {
			p := &rtp.Packet{}
			if p.Unmarshal(d) != nil {
				continue
			}
			in += len(p.Payload)
			for _, fa := range fas {
				frames, _ := fa.Push(p)
				for _, frame := range frames {
					if len(frame) > 3*in+4 {
						t.Fatalf("a %d-byte frame from %d bytes of payload", len(frame), in)
					}
				}
			}
		}
	})
}

// FuzzDepacketizers runs pion's depacketisers Parlo uses on single
// payloads: no panic on any input.
func FuzzDepacketizers(f *testing.F) {
	f.Add([]byte{0x90, 0x80, 0x80, 1})
	f.Add([]byte{0x78, 0, 2, 0x67, 0x42, 0, 0})
	f.Add([]byte{0x7c, 0x85})
	f.Fuzz(func(t *testing.T, payload []byte) {
		for _, d := range []rtp.Depacketizer{&codecs.VP8Packet{}, &codecs.H264Packet{}, &codecs.H264Packet{IsAVC: true}, &codecs.OpusPacket{}} {
			_ = d.IsPartitionHead(payload)
			_, _ = d.Unmarshal(payload)
		}
	})
}

// FuzzAudioPlayout drives the audio receive path (jitter buffer and
// decoders, codec switches included) with arbitrary packets interleaved
// with playout ticks: no panic, every frame full-size, silence when not
// receiving.
func FuzzAudioPlayout(f *testing.F) {
	f.Add([]byte{0, 0, 1, 0, 0, 0, 3, 0xfc, 0xff, 0xfe, 1, 1})
	f.Add([]byte{1, 0xff, 0xff, 0, 0, 0, 160, 0x7f, 0x80, 2, 0x80, 0, 0, 0, 0, 0, 1, 0xd5})
	names := []string{audio.CodecOpus, audio.CodecPCMU, audio.CodecPCMA, "telephone-event"}
	f.Fuzz(func(t *testing.T, ops []byte) {
		p := NewAudioPlayout()
		frame := make([]int16, audio.FrameSamples)
		for len(ops) > 0 {
			op := ops[0]
			ops = ops[1:]
			switch {
			case op&0x80 != 0: // a playout tick
				receiving := op&1 == 1
				p.next(frame, receiving)
				if len(frame) != audio.FrameSamples {
					t.Fatalf("frame of %d samples", len(frame))
				}
				if !receiving {
					for _, s := range frame {
						if s != 0 {
							t.Fatal("sound while not receiving")
						}
					}
				}
			case len(ops) >= 7: // a packet: seq, ts, payload length, payload
				seq := binary.BigEndian.Uint16(ops)
				ts := binary.BigEndian.Uint32(ops[2:])
				n := min(int(ops[6]), len(ops)-7)
				p.Push(names[int(op)%len(names)], seq, ts, ops[7:7+n])
				ops = ops[7+n:]
			default:
				return
			}
		}
		_ = p.Lost()
		_ = p.Codec()
	})
}
