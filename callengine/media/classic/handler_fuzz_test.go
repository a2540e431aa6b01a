package classic

import (
	"context"
	"encoding/base64"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/parlo-voip/parlo/callengine/audio"
	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/capture"
	"github.com/parlo-voip/parlo/capture/videocodec"
)

// decodingSink decodes every frame it gets with libvpx, as the engine's
// VideoReceiver does, so the fuzzer reaches the decoder through RTP.
type decodingSink struct {
	dec    *capture.VP8Decoder
	frames atomic.Uint64
}

func (d *decodingSink) WriteVideoFrame(_ videocodec.Name, frame []byte) error {
	d.frames.Add(1)
	_, err := d.dec.Decode(frame)
	return err
}

// handlerRig is a classic session that answered an offer with audio (opus,
// PCMU, PCMA, telephone-event) and VP8 video, ready to take the peer's
// packets on its transports. With sdes, the peer's key is known so the
// fuzzer can also feed packets that pass SRTP authentication.
type handlerRig struct {
	s            *Session
	audio, video *line
	from         *net.UDPAddr // the peer's SDP address: admitted
	enc          *srtp.Context
	// share is our running video sender: the peer's RTCP about it (PLI,
	// NACK, receiver reports, REMB) reaches rtpmedia.VideoSend and pion's
	// NACK responder, which resends as RTX.
	share *fuzzShare
}

// fuzzShare is a media.VideoSender whose frames the rig writes itself, so
// there are sent packets for the peer's NACKs to name.
type fuzzShare struct {
	write func([]byte, time.Duration) error
}

func (f *fuzzShare) Codecs() []videocodec.Name { return []videocodec.Name{videocodec.VP8} }
func (f *fuzzShare) Start(_ videocodec.Name, w func([]byte, time.Duration) error) error {
	f.write = w
	return nil
}
func (f *fuzzShare) RequestKeyframe() {}
func (f *fuzzShare) SetBitrate(int)   {}
func (f *fuzzShare) Stop()            {}

func newHandlerRig(tb testing.TB, sdes bool) *handlerRig {
	tb.Helper()
	dec, err := capture.NewVP8Decoder(1)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { dec.Close() })
	pol, proto, crypto := media.SRTPOff, "RTP/AVP", ""
	if sdes {
		pol, proto, crypto = media.SRTPRequired, "RTP/SAVP", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 "+key+"\r\n"
	}
	s, err := newSession(media.Options{
		AudioIn: audio.NewTone(440, 0.3), AudioOut: audio.Null(), LoopbackOnly: true, SRTP: pol,
		VideoOut: &decodingSink{dec: dec},
	}, media.Events{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	share := &fuzzShare{}
	if _, err := s.SetVideoSender(share); err != nil {
		tb.Fatal(err)
	}
	offer := head +
		"m=audio 40000 " + proto + " 111 0 8 101\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:101 telephone-event/48000\r\n" + crypto +
		"m=video 40002 " + proto + " 96 97\r\na=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\n" +
		"a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n" + crypto
	if _, err := s.CreateAnswer(context.Background(), []byte(offer), media.SendRecv); err != nil {
		tb.Fatalf("answer: %v", err)
	}
	if share.write == nil {
		tb.Fatal("the answer did not start our video")
	}
	for range 3 {
		if err := share.write(make([]byte, 3000), 33*time.Millisecond); err != nil {
			tb.Fatalf("our video: %v", err)
		}
	}
	r := &handlerRig{s: s, from: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}, share: share}
	s.mu.Lock()
	r.audio, r.video = s.audioLineLocked(), s.videoLineLocked()
	s.mu.Unlock()
	if r.audio == nil || r.video == nil {
		tb.Fatal("the answer lacks an audio or a video line")
	}
	if sdes {
		k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(key, "inline:"))
		if err != nil {
			tb.Fatal(err)
		}
		if r.enc, err = srtp.CreateContext(k[:16], k[16:], srtp.ProtectionProfileAes128CmHmacSha1_80); err != nil {
			tb.Fatal(err)
		}
	}
	return r
}

// feed hands one datagram to a line as if read from its socket. The first
// byte picks the line, the component and, on an SDES rig, whether the rest
// is encrypted with the peer's key first (so it passes authentication).
func (r *handlerRig) feed(data []byte) {
	if len(data) < 2 {
		return
	}
	op, b := data[0], data[1:]
	l, from := r.audio, r.from
	if op&1 == 1 {
		l, from = r.video, &net.UDPAddr{IP: from.IP, Port: 40002}
	}
	comp := compRTP
	if op&2 == 2 {
		comp = compRTCP
		from = &net.UDPAddr{IP: from.IP, Port: from.Port + 1}
	}
	if r.enc != nil && op&4 == 4 {
		if isRTCPPacket(comp, b) {
			var h rtcp.Header
			if h.Unmarshal(b) != nil {
				return
			}
			out, err := r.enc.EncryptRTCP(nil, b, &h)
			if err != nil {
				return
			}
			b = out
		} else {
			var h rtp.Header
			if _, err := h.Unmarshal(b); err != nil {
				return
			}
			out, err := r.enc.EncryptRTP(nil, b, &h)
			if err != nil {
				return
			}
			b = out
		}
	}
	l.tr.handle(comp, b, from)
}

func isRTCPPacket(comp int, b []byte) bool {
	return comp == compRTCP || (len(b) > 1 && b[1] >= 192 && b[1] <= 223)
}

// seedPackets are well-formed datagrams of every kind the handler takes;
// ours is the SSRC of our video, which the peer's feedback names.
func seedPackets(tb testing.TB, ours uint32) [][]byte {
	tb.Helper()
	enc, err := capture.NewVP8Encoder(capture.VP8Options{EncoderOptions: capture.EncoderOptions{Width: 64, Height: 48}, CPUUsed: 16})
	if err != nil {
		tb.Fatal(err)
	}
	defer enc.Close()
	frame, _, err := enc.Encode(capture.NewI420(64, 48), true)
	if err != nil {
		tb.Fatal(err)
	}
	rtpOf := func(pt uint8, seq uint16, marker bool, payload []byte) []byte {
		b, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: 1000, SSRC: 7, Marker: marker}, Payload: payload}).Marshal()
		if err != nil {
			tb.Fatal(err)
		}
		return b
	}
	// VP8 payload descriptor (RFC 7741 §4.2): S bit set, partition 0.
	vp8 := append([]byte{0x10}, frame...)
	pli, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.PictureLossIndication{SenderSSRC: 7, MediaSSRC: 9}})
	sr, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.SenderReport{SSRC: 7, Reports: []rtcp.ReceptionReport{{SSRC: 9}}}})
	// Feedback on our video: a NACK (answered as RTX), a PLI, a receiver
	// report with loss, a REMB.
	feedback, _ := rtcp.Marshal([]rtcp.Packet{
		&rtcp.ReceiverReport{SSRC: 7, Reports: []rtcp.ReceptionReport{{SSRC: ours, FractionLost: 64, LastSequenceNumber: 5}}},
		&rtcp.TransportLayerNack{SenderSSRC: 7, MediaSSRC: ours, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{0, 1, 2, 3})},
		&rtcp.PictureLossIndication{SenderSSRC: 7, MediaSSRC: ours},
		&rtcp.ReceiverEstimatedMaximumBitrate{SenderSSRC: 7, Bitrate: 300e3, SSRCs: []uint32{ours}},
	})
	// The peer's own retransmission (RFC 4588 §4: the original sequence
	// number first).
	rtx := append([]byte{0, 10}, vp8...)
	var out [][]byte
	for _, op := range []byte{0, 4} { // plain, and encrypted on an SDES rig
		out = append(out,
			append([]byte{op}, rtpOf(0, 1, false, make([]byte, 160))...),
			append([]byte{op}, rtpOf(111, 2, false, []byte{0xfc, 0xff, 0xfe})...),
			append([]byte{op}, rtpOf(101, 3, true, []byte{1, 0x80, 0, 160})...),
			append([]byte{op | 1}, rtpOf(96, 10, true, vp8)...),
			append([]byte{op | 1 | 2}, pli...),
			append([]byte{op | 2}, sr...),
			append([]byte{op | 1 | 2}, feedback...),
			append([]byte{op | 1}, rtpOf(97, 11, true, rtx)...),
		)
	}
	out = append(out, []byte{0, 22, 254, 253, 0, 0}, []byte{1, 0, 1, 0, 0})
	return out
}

// FuzzClassicPacketHandler feeds datagrams to the transports of a classic
// session that negotiated audio and VP8 video, plain and SDES: RTP and RTCP
// parsing, SRTP/SRTCP decryption, the audio playout and the VP8 frame
// assembler and decoder behind it. Nothing may panic, and the session must
// still answer for its stats.
func FuzzClassicPacketHandler(f *testing.F) {
	rigs := map[bool]*handlerRig{false: newHandlerRig(f, false), true: newHandlerRig(f, true)}
	for _, sdes := range []bool{false, true} {
		for _, p := range seedPackets(f, rigs[sdes].ourVideoSSRC()) {
			f.Add(sdes, p)
		}
	}
	f.Fuzz(func(t *testing.T, sdes bool, data []byte) {
		r := rigs[sdes]
		r.feed(data)
		_ = r.s.Stats()
		// Our video keeps going whatever the peer said about it.
		if err := r.share.write(make([]byte, 1500), 33*time.Millisecond); err != nil {
			t.Fatalf("our video after %x: %v", data, err)
		}
	})
}

// The rig itself works: a real VP8 keyframe fed as RTP (and, on the SDES
// rig, encrypted with the peer's key) is assembled and decoded, so the
// fuzzer's seeds reach the decoder.
func TestClassicPacketHandlerRig(t *testing.T) {
	for _, sdes := range []bool{false, true} {
		r := newHandlerRig(t, sdes)
		for _, p := range seedPackets(t, r.ourVideoSSRC()) {
			r.feed(p)
		}
		sink := r.s.opts.VideoOut.(*decodingSink)
		deadline := time.Now().Add(2 * time.Second)
		for sink.frames.Load() == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if sink.frames.Load() == 0 {
			t.Fatalf("sdes=%v: no video frame reached the sink; stats %+v", sdes, r.s.Stats())
		}
		st := r.s.Stats()
		if st.Audio.PacketsReceived == 0 {
			t.Fatalf("sdes=%v: no audio packet counted: %+v", sdes, st)
		}
		// The feedback on our video reached its sender: the PLI and the
		// REMB's 300 kbit/s.
		if st.Video.Sent.KeyframeRequests == 0 || st.Video.Sent.BitrateKbps != 300 {
			t.Fatalf("sdes=%v: our video got %d keyframe requests, target %d kbit/s; want the PLI and the REMB's 300",
				sdes, st.Video.Sent.KeyframeRequests, st.Video.Sent.BitrateKbps)
		}
	}
}

// ourVideoSSRC is the SSRC our video goes out with.
func (r *handlerRig) ourVideoSSRC() uint32 {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	return r.s.video.ssrc
}
