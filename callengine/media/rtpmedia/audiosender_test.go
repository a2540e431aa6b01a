package rtpmedia

import (
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/parlo-voip/parlo/callengine/audio"
)

// TestAudioSenderNumbering checks what a receiver relies on: sequence
// numbers without gaps across mute, timestamps that follow the clock while
// nothing is sent (RFC 3550 §5.1), and the marker on the first packet of
// each talkspurt (RFC 3551 §4.1).
func TestAudioSenderNumbering(t *testing.T) {
	var c Counters
	a := NewAudioSender(&c, slog.Default())
	codec := AudioSendCodec{Name: audio.CodecPCMU, PT: 0, Clock: 8000, SSRC: 42}
	frame := make([]int16, audio.FrameSamples)
	var got []rtp.Packet
	write := func(p *rtp.Packet) error {
		got = append(got, rtp.Packet{Header: p.Header, Payload: append([]byte(nil), p.Payload...)})
		return nil
	}
	// send, send, skip (mute), send, failed write, send
	steps := []string{"send", "send", "skip", "send", "fail", "send"}
	for _, st := range steps {
		ts := a.Advance(codec.Clock)
		switch st {
		case "send":
			a.Send(frame, ts, codec, write)
		case "skip":
			a.Pause()
		case "fail":
			a.Send(frame, ts, codec, func(*rtp.Packet) error { return errors.New("not keyed") })
		}
	}
	if len(got) != 4 {
		t.Fatalf("sent %d packets, want 4", len(got))
	}
	const step = 160 // 20 ms at 8 kHz
	wantTSOffset := []uint32{0, step, 3 * step, 5 * step}
	wantMarker := []bool{true, false, true, false}
	for i, p := range got {
		if p.SequenceNumber != got[0].SequenceNumber+uint16(i) {
			t.Errorf("packet %d: seq %d, want %d (no gap)", i, p.SequenceNumber, got[0].SequenceNumber+uint16(i))
		}
		if p.Timestamp-got[0].Timestamp != wantTSOffset[i] {
			t.Errorf("packet %d: timestamp +%d, want +%d", i, p.Timestamp-got[0].Timestamp, wantTSOffset[i])
		}
		if p.Marker != wantMarker[i] {
			t.Errorf("packet %d: marker %v, want %v", i, p.Marker, wantMarker[i])
		}
		if p.SSRC != 42 || p.PayloadType != 0 || len(p.Payload) != 160 {
			t.Errorf("packet %d: ssrc %d pt %d payload %d", i, p.SSRC, p.PayloadType, len(p.Payload))
		}
	}
	st := c.Audio(nil)
	if st.PacketsSent != 4 || st.BytesSent != 4*160 || st.Codec != audio.CodecPCMU {
		t.Errorf("stats %+v", st)
	}
}

// TestAudioSenderCodecSwitch: a re-INVITE that changes the codec changes
// the encoder and the clock the timestamps follow.
func TestAudioSenderCodecSwitch(t *testing.T) {
	var c Counters
	a := NewAudioSender(&c, slog.Default())
	frame := make([]int16, audio.FrameSamples)
	var last rtp.Packet
	write := func(p *rtp.Packet) error { last = *p; return nil }
	ts0 := a.Advance(8000)
	a.Send(frame, ts0, AudioSendCodec{Name: audio.CodecPCMA, PT: 8, Clock: 8000}, write)
	if len(last.Payload) != 160 {
		t.Fatalf("PCMA payload %d bytes", len(last.Payload))
	}
	ts1 := a.Advance(48000)
	a.Send(frame, ts1, AudioSendCodec{Name: audio.CodecOpus, PT: 111, Clock: 48000}, write)
	if last.PayloadType != 111 || ts1-ts0 != 160 {
		t.Errorf("pt %d, ts step %d", last.PayloadType, ts1-ts0)
	}
	if ts2 := a.Advance(0); ts2-ts1 != 960 {
		t.Errorf("Advance(0) stepped %d, want the last clock's 960", ts2-ts1)
	}
	if got := c.Audio(nil).Codec; got != audio.CodecOpus {
		t.Errorf("send codec %q", got)
	}
}

// TestRunAudioCaptureNow: a value on now runs a tick at once instead of on
// the 20 ms clock. Five ticks on the clock alone take at least 100 ms; five
// asked for on now take a few scheduler wake-ups.
func TestRunAudioCaptureNow(t *testing.T) {
	done, now := make(chan struct{}), make(chan struct{})
	ticked := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		RunAudioCaptureNow(done, now, audio.NewTone(440, 0.5), slog.Default(), func([]int16) { ticked <- struct{}{} })
	}()
	defer func() { close(done); <-finished }()
	start := time.Now()
	for i := range 5 {
		select {
		case now <- struct{}{}:
		case <-time.After(5 * time.Second):
			t.Fatalf("kick %d not taken", i)
		}
		<-ticked
	}
	if took := time.Since(start); took >= 5*frameInterval {
		t.Fatalf("5 ticks asked for on now took %s, as long as the 20 ms clock", took)
	}
	// The clock goes on after the last kick.
	select {
	case <-ticked:
	case <-time.After(5 * time.Second):
		t.Fatal("no tick on the clock after the kicks")
	}
}
