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

// In-band FEC (RFC 7587 §3.3) rebuilds a lost frame from the next packet
// closer to what was sent than concealment does, once the encoder expects
// loss; without FEC coded, decode_fec falls back to concealment.
func TestOpusFECRecoversLostFrame(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fec    bool
		better bool
	}{
		{"fec", true, true},
		{"no-fec", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := NewOpusEncoder(DefaultOpusBitrate)
			if err != nil {
				t.Fatal(err)
			}
			enc := e.(*OpusEncoder)
			if err := enc.SetInBandFEC(tc.fec); err != nil {
				t.Fatal(err)
			}
			if err := enc.SetExpectedLoss(20); err != nil {
				t.Fatal(err)
			}
			src := NewSpeechLike(7, 0.3)
			var pkts [][]byte
			for range 100 {
				frame := make([]int16, FrameSamples)
				if err := src.ReadFrame(frame); err != nil {
					t.Fatal(err)
				}
				buf := make([]byte, 1275)
				n, err := enc.Encode(frame, buf)
				if err != nil {
					t.Fatal(err)
				}
				pkts = append(pkts, buf[:n])
			}
			// Three decoders see the same stream; packet lostAt is lost
			// to two of them, rebuilt by FEC or concealed.
			const lostAt = 60
			ref, _ := NewOpusDecoder()
			fec, _ := NewOpusDecoder()
			plc, _ := NewOpusDecoder()
			var refOut, fecOut, plcOut []int16
			for i, p := range pkts {
				r, f, c := make([]int16, FrameSamples), make([]int16, FrameSamples), make([]int16, FrameSamples)
				if _, err := ref.Decode(p, r); err != nil {
					t.Fatal(err)
				}
				if i == lostAt {
					if _, err := fec.(*OpusDecoder).DecodeFEC(pkts[i+1], f); err != nil {
						t.Fatal(err)
					}
					if _, err := plc.Decode(nil, c); err != nil {
						t.Fatal(err)
					}
				} else {
					_, _ = fec.Decode(p, f)
					_, _ = plc.Decode(p, c)
				}
				if i == lostAt {
					refOut, fecOut, plcOut = r, f, c
				}
			}
			sqErr := func(a, b []int16) float64 {
				var s float64
				for i := range a {
					d := float64(a[i]) - float64(b[i])
					s += d * d
				}
				return s
			}
			ef, ep := sqErr(refOut, fecOut), sqErr(refOut, plcOut)
			t.Logf("squared error of the lost frame: FEC %.3g, concealment %.3g", ef, ep)
			if tc.better && ef >= 0.9*ep {
				t.Fatalf("FEC error %.3g, concealment %.3g: want FEC clearly closer", ef, ep)
			}
			if !tc.better && math.Abs(ef-ep) > 0.05*ep {
				t.Fatalf("without FEC coded, decode_fec error %.3g differs from concealment %.3g", ef, ep)
			}
		})
	}
}
