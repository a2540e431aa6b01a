package audio

import (
	"errors"
	"math"
	"testing"

	"gopkg.in/hraban/opus.v2"
)

// TestOpusBitrate: the encoder keeps to the bitrate it was given (RFC 7587
// §3.1.1); a tone's payloads average no more than 1.3 times the target.
func TestOpusBitrate(t *testing.T) {
	for _, bitrate := range []int{16000, 32000} {
		enc, err := NewOpusEncoder(bitrate)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := NewOpusDecoder()
		if err != nil {
			t.Fatal(err)
		}
		_, sizes := encodeDecode(t, enc, dec, readFrames(t, NewTone(440, 0.5), 50))
		var total int
		for _, s := range sizes[10:] {
			total += s
		}
		kbps := float64(total*8) / (float64(len(sizes)-10) * 0.02) / 1000
		if kbps > float64(bitrate)/1000*1.3 {
			t.Errorf("bitrate %d: payloads average %.1f kb/s", bitrate, kbps)
		}
		t.Logf("%d b/s: %.1f kb/s", bitrate, kbps)
	}
}

// TestOpusDecodeStereoPackets: RFC 7587 lets the sender code stereo; the mono
// decoder must take such packets.
func TestOpusDecodeStereoPackets(t *testing.T) {
	enc, err := opus.NewEncoder(SampleRate, 2, opus.AppAudio)
	if err != nil {
		t.Fatal(err)
	}
	dec, _ := NewOpusDecoder()
	mono := readFrames(t, NewTone(440, 0.5), 30)
	stereo := make([]int16, 2*FrameSamples)
	payload := make([]byte, 1500)
	frame := make([]int16, FrameSamples)
	var out []int16
	for f := 0; f < len(mono); f += FrameSamples {
		for i := range FrameSamples {
			stereo[2*i], stereo[2*i+1] = mono[f+i], mono[f+i]
		}
		n, err := enc.Encode(stereo, payload)
		if err != nil {
			t.Fatal(err)
		}
		got, err := dec.Decode(payload[:n], frame)
		if err != nil || got != FrameSamples {
			t.Fatalf("Decode stereo packet = %d, %v", got, err)
		}
		out = append(out, frame...)
	}
	if hz, _ := DominantFrequency(out[10*FrameSamples:], SampleRate); math.Abs(hz-440) > 5 {
		t.Errorf("stereo packets decoded to %.2f Hz", hz)
	}
}

// TestOpusLongPacket: a 60 ms packet (a peer with ptime 60) must not write
// past the 20 ms frame.
func TestOpusLongPacket(t *testing.T) {
	enc, _ := opus.NewEncoder(SampleRate, 1, opus.AppVoIP)
	pcm := sine(440, 0.5, 3*FrameSamples, SampleRate)
	payload := make([]byte, 1500)
	n, err := enc.Encode(pcm, payload)
	if err != nil {
		t.Fatal(err)
	}
	dec, _ := NewOpusDecoder()
	buf := make([]int16, 2*FrameSamples)
	for i := range buf {
		buf[i] = 7
	}
	got, err := dec.Decode(payload[:n], buf[:FrameSamples])
	if !errors.Is(err, ErrFrameSize) || got != FrameSamples {
		t.Errorf("Decode of 60 ms packet = %d, %v; want %d, ErrFrameSize", got, err, FrameSamples)
	}
	if buf[FrameSamples] != 7 {
		t.Error("decoder wrote past the frame")
	}
}

func TestOpusEncodeWrongFrame(t *testing.T) {
	enc, _ := NewOpusEncoder(0)
	if _, err := enc.Encode(make([]int16, 100), make([]byte, 1500)); !errors.Is(err, ErrFrameSize) {
		t.Errorf("Encode of 100 samples = %v, want ErrFrameSize", err)
	}
}

func BenchmarkOpusEncode(b *testing.B) {
	enc, _ := NewOpusEncoder(32000)
	pcm := readFrames(b, NewTone(440, 0.5), 50)
	payload := make([]byte, 1500)
	i := 0
	for b.Loop() {
		f := (i % 50) * FrameSamples
		if _, err := enc.Encode(pcm[f:f+FrameSamples], payload); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkOpusDecode(b *testing.B) {
	enc, _ := NewOpusEncoder(32000)
	pcm := readFrames(b, NewTone(440, 0.5), 50)
	var packets [][]byte
	for f := 0; f < len(pcm); f += FrameSamples {
		p := make([]byte, 1500)
		n, _ := enc.Encode(pcm[f:f+FrameSamples], p)
		packets = append(packets, p[:n])
	}
	dec, _ := NewOpusDecoder()
	frame := make([]int16, FrameSamples)
	i := 0
	for b.Loop() {
		if _, err := dec.Decode(packets[i%len(packets)], frame); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
