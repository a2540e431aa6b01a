package testpeers

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"testing"
	"time"
)

// wavPCM is the mono float signal of a 16-bit PCM WAV file.
type wavPCM struct {
	rate    int
	samples []float64
}

// readWAV parses a RIFF/WAVE file with 16-bit PCM. It tolerates a data chunk
// whose size field was not finalised (still 0 or too large) by reading to the
// end of the file.
func readWAV(path string) (wavPCM, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return wavPCM{}, err
	}
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return wavPCM{}, errors.New("not a RIFF/WAVE file")
	}
	var channels, bits, rate int
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:off+8]))
		body := b[off+8:]
		switch id {
		case "fmt ":
			if len(body) < 16 {
				return wavPCM{}, errors.New("short fmt chunk")
			}
			channels = int(binary.LittleEndian.Uint16(body[2:4]))
			rate = int(binary.LittleEndian.Uint32(body[4:8]))
			bits = int(binary.LittleEndian.Uint16(body[14:16]))
		case "data":
			if bits != 16 || channels < 1 || rate <= 0 {
				return wavPCM{}, fmt.Errorf("unsupported format: %d bit, %d channels, %d Hz", bits, channels, rate)
			}
			if size == 0 || size > len(body) {
				size = len(body)
			}
			frame := 2 * channels
			w := wavPCM{rate: rate}
			for i := 0; i+frame <= size; i += frame {
				var sum float64
				for c := range channels {
					sum += float64(int16(binary.LittleEndian.Uint16(body[i+2*c:])))
				}
				w.samples = append(w.samples, sum/float64(channels)/32768)
			}
			return w, nil
		}
		off += 8 + size + size%2
	}
	return wavPCM{}, errors.New("no data chunk")
}

// goertzelPower is the power of freq in samples (Goertzel algorithm).
func goertzelPower(samples []float64, rate int, freq float64) float64 {
	coeff := 2 * math.Cos(2*math.Pi*freq/float64(rate))
	var s1, s2 float64
	for _, x := range samples {
		s0 := x + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	return s1*s1 + s2*s2 - coeff*s1*s2
}

// dominantFrequency sweeps 100..3000 Hz in 5 Hz steps and returns the
// strongest frequency and the signal's RMS.
func dominantFrequency(w wavPCM) (freq, rms float64) {
	var best float64
	for f := 100.0; f <= 3000 && f < float64(w.rate)/2; f += 5 {
		if p := goertzelPower(w.samples, w.rate, f); p > best {
			best, freq = p, f
		}
	}
	for _, x := range w.samples {
		rms += x * x
	}
	return freq, math.Sqrt(rms / float64(len(w.samples)))
}

func TestGoertzelFindsTone(t *testing.T) {
	for _, want := range []float64{300, 440, 1000} {
		w := wavPCM{rate: 8000}
		for i := range 8000 {
			w.samples = append(w.samples, 0.5*math.Sin(2*math.Pi*want*float64(i)/8000))
		}
		if got, _ := dominantFrequency(w); math.Abs(got-want) > 5 {
			t.Errorf("dominant frequency of a %v Hz sine = %v", want, got)
		}
	}
}

// waitRecording polls until the WAV file that find names holds at least
// secs seconds of audio.
func waitRecording(ctx context.Context, find func() string, secs float64) error {
	for {
		if p := find(); p != "" {
			if w, err := readWAV(p); err == nil && float64(len(w.samples)) >= secs*float64(w.rate) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// TestBaresipCallIntegration is also the baresip-to-baresip reference for
// Parlo's call set-up benchmarks: it logs the time to CALL_ESTABLISHED.
func TestBaresipCallIntegration(t *testing.T) {
	tests := []struct {
		name             string
		codecs           string
		mediaEnc, natMed string
		toneA, toneB     int
		manualAnswer     bool
	}{
		{"PCMU plain RTP", "PCMU", "", "", 440, 300, false},
		{"opus DTLS-SRTP ICE", "opus/48000/2", "dtls_srtp", "ice", 440, 700, false},
		{"PCMA SDES SRTP manual answer", "PCMA", "srtp-mand", "", 1000, 440, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			common := BaresipOptions{AudioCodecs: tc.codecs, MediaEnc: tc.mediaEnc, MediaNAT: tc.natMed}
			aOpts, bOpts := common, common
			aOpts.User, aOpts.ToneHz = "a", tc.toneA
			bOpts.User, bOpts.ToneHz, bOpts.AutoAnswer = "b", tc.toneB, !tc.manualAnswer
			a := StartBaresip(t, aOpts)
			b := StartBaresip(t, bOpts)
			logs := func() string { return "\n--- A ---\n" + a.Log() + "\n--- B ---\n" + b.Log() }

			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			if tc.manualAnswer {
				// baresip 1.0 reports CALL_INCOMING only when it does not
				// answer by itself.
				go func() {
					if _, err := b.WaitEvent(ctx, "CALL_INCOMING"); err != nil {
						return // the dial below then fails with the log
					}
					_, _ = b.Command(ctx, "accept", "")
				}()
			}
			setup, err := a.DialAndWaitEstablished(ctx, b.URI())
			if err != nil {
				t.Fatalf("dial: %v%s", err, logs())
			}
			t.Logf("A: dial to CALL_ESTABLISHED in %v", setup)
			ev, err := b.WaitEvent(ctx, "CALL_ESTABLISHED")
			if err != nil {
				t.Fatalf("B: %v%s", err, logs())
			}
			if ev.Direction != "incoming" || ev.PeerURI != a.URI() {
				t.Errorf("B's CALL_ESTABLISHED: direction %q peer %q, want incoming from %s", ev.Direction, ev.PeerURI, a.URI())
			}

			// Let 2 s of audio reach B's recording, bounded by the context.
			if err := waitRecording(ctx, b.RecordingPath, 2); err != nil {
				t.Fatalf("B's recording %q did not grow: %v%s", b.RecordingPath(), err, logs())
			}
			if _, err := a.Command(ctx, "hangup", ""); err != nil {
				t.Fatalf("hangup: %v%s", err, logs())
			}
			for name, p := range map[string]*Baresip{"A": a, "B": b} {
				if _, err := p.WaitEvent(ctx, "CALL_CLOSED"); err != nil {
					t.Fatalf("%s: %v%s", name, err, logs())
				}
			}

			for _, c := range []struct {
				who  *Baresip
				name string
				want int
			}{{b, "B", tc.toneA}, {a, "A", tc.toneB}} {
				w, err := readWAV(c.who.RecordingPath())
				if err != nil {
					t.Fatalf("%s's recording %q: %v", c.name, c.who.RecordingPath(), err)
				}
				secs := float64(len(w.samples)) / float64(w.rate)
				freq, rms := dominantFrequency(w)
				t.Logf("%s heard %.2f s at %d Hz: dominant %v Hz, RMS %.3f", c.name, secs, w.rate, freq, rms)
				if secs < 1 {
					t.Errorf("%s's recording is %.2f s long, want at least 1 s", c.name, secs)
				}
				if rms < 0.01 {
					t.Errorf("%s's recording is silent (RMS %.4f)", c.name, rms)
				}
				if math.Abs(freq-float64(c.want)) > 15 {
					t.Errorf("%s heard %v Hz, want %d Hz", c.name, freq, c.want)
				}
			}
		})
	}
}

func TestBaresipCommandErrors(t *testing.T) {
	p := StartBaresip(t, BaresipOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := p.Command(ctx, "no-such-command", ""); !errors.Is(err, ErrCommandFailed) {
		t.Fatalf("unknown command: err = %v, want ErrCommandFailed", err)
	}
	if _, err := p.Command(ctx, "reginfo", ""); err != nil {
		t.Fatalf("reginfo after a failed command: %v", err)
	}
}

// TestBaresipVideoCallIntegration checks the Video option: both phones offer
// and answer video and RTP flows on the video stream too.
func TestBaresipVideoCallIntegration(t *testing.T) {
	a := StartBaresip(t, BaresipOptions{User: "a", Video: true})
	b := StartBaresip(t, BaresipOptions{User: "b", Video: true, AutoAnswer: true})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := a.DialAndWaitEstablished(ctx, b.URI()); err != nil {
		t.Fatalf("dial: %v\n%s", err, b.Log())
	}
	for name, p := range map[string]*Baresip{"A": a, "B": b} {
		_, err := p.WaitEventFunc(ctx, func(ev BaresipEvent) bool {
			return ev.Type == "CALL_RTPESTAB" && ev.Param == "video"
		})
		if err != nil {
			t.Fatalf("%s: no video RTP: %v\n%s", name, err, p.Log())
		}
	}
}
