package callengine_test

import (
	"context"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine"
	"github.com/parlo-voip/parlo/callengine/audio"
	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/callengine/media/classic"
	"github.com/parlo-voip/parlo/internal/testpeers"
)

// classicPhone is a Phone on loopback forced to the classic media path,
// sending a tone and recording what it hears.
type classicPhone struct {
	*callengine.Phone
	mu     sync.Mutex
	events []callengine.Event
	ears   []*audio.ToneDetector
}

func newClassicPhone(t *testing.T, hz float64, pol media.SRTPPolicy, auto bool, display ...string) *classicPhone {
	t.Helper()
	disp := ""
	if len(display) > 0 {
		disp = display[0]
	}
	return newEventPhone(t, hz, callengine.Options{
		Display:             disp,
		Listen:              []string{"udp:127.0.0.1:0"},
		AutoAnswer:          auto,
		ClassicMediaFactory: classic.New,
		Media:               "classic",
		SRTP:                pol,
	})
}

// newEventPhone is a Phone with opts that sends a hz tone, records what it
// hears and keeps its events.
func newEventPhone(t *testing.T, hz float64, opts callengine.Options) *classicPhone {
	t.Helper()
	cp := &classicPhone{}
	opts.NewAudioIn = func() (audio.Source, error) { return audio.NewTone(hz, 0.3), nil }
	opts.NewAudioOut = func() (audio.Sink, error) {
		d := audio.NewToneDetector(3 * time.Second)
		cp.mu.Lock()
		cp.ears = append(cp.ears, d)
		cp.mu.Unlock()
		return d, nil
	}
	p, err := callengine.NewPhone(opts)
	if err != nil {
		t.Fatalf("NewPhone: %v", err)
	}
	cp.Phone = p
	sub := p.Subscribe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range sub.C() {
			cp.mu.Lock()
			cp.events = append(cp.events, ev)
			cp.mu.Unlock()
		}
	}()
	t.Cleanup(func() { p.Close(); sub.Close(); <-done })
	return cp
}

func (cp *classicPhone) uri() string {
	l := cp.Listeners()[0]
	return fmt.Sprintf("sip:parlo@%s:%d", l.Host, l.Port)
}

// wait returns the call ID of the first event named name.
func (cp *classicPhone) wait(t *testing.T, name string, timeout time.Duration) string {
	t.Helper()
	for end := time.Now().Add(timeout); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		cp.mu.Lock()
		for _, ev := range cp.events {
			if ev.Name == name && ev.Session != nil {
				cp.mu.Unlock()
				return ev.Session.SipCallID
			}
		}
		cp.mu.Unlock()
	}
	cp.mu.Lock()
	defer cp.mu.Unlock()
	var names []string
	for _, ev := range cp.events {
		names = append(names, ev.Name)
	}
	t.Fatalf("no %s within %s; events %v", name, timeout, names)
	return ""
}

func (cp *classicPhone) ear(t *testing.T) *audio.ToneDetector {
	t.Helper()
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if len(cp.ears) == 0 {
		t.Fatal("no call audio output opened")
	}
	return cp.ears[len(cp.ears)-1]
}

func (cp *classicPhone) waitTone(t *testing.T, hz float64, timeout time.Duration) {
	t.Helper()
	ear := cp.ear(t)
	var got, rms float64
	for end := time.Now().Add(timeout); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if got, rms = ear.Frequency(500 * time.Millisecond); rms > 0.02 && math.Abs(got-hz) <= 10 {
			return
		}
	}
	t.Fatalf("want %.0f Hz, heard %.1f Hz (rms %.3f)", hz, got, rms)
}

func (cp *classicPhone) waitSilence(t *testing.T, timeout time.Duration) {
	t.Helper()
	ear := cp.ear(t)
	var rms float64
	for end := time.Now().Add(timeout); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if _, rms = ear.Frequency(300 * time.Millisecond); rms < 0.01 {
			return
		}
	}
	t.Fatalf("audio still flowing on hold (rms %.3f)", rms)
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func checkStats(t *testing.T, p *callengine.Phone, id, wantSRTP string) media.Stats {
	t.Helper()
	st, err := p.Stats(id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Path != "classic" || st.SRTP != wantSRTP {
		t.Fatalf("stats path %q srtp %q, want classic/%s", st.Path, st.SRTP, wantSRTP)
	}
	return st
}

// Parlo ↔ Parlo, both forced to media=classic with srtp=required: SDES,
// tones both ways, hold and resume.
func TestClassicParloToParloIntegration(t *testing.T) {
	a := newClassicPhone(t, 440, media.SRTPRequired, false)
	b := newClassicPhone(t, 660, media.SRTPRequired, true)
	ctx := ctxFor(t, 30*time.Second)
	s, err := a.Call(ctx, b.uri(), callengine.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a.wait(t, callengine.EventCallAccepted, 10*time.Second)
	bid := b.wait(t, callengine.EventCallIncoming, 5*time.Second)
	a.waitTone(t, 660, 5*time.Second)
	b.waitTone(t, 440, 5*time.Second)
	checkStats(t, a.Phone, s.SipCallID, "sdes")
	checkStats(t, b.Phone, bid, "sdes")
	if err := a.Hold(ctx, s.SipCallID); err != nil {
		t.Fatalf("Hold: %v", err)
	}
	a.waitSilence(t, 3*time.Second)
	b.waitSilence(t, 3*time.Second)
	if err := a.Resume(ctx, s.SipCallID); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	a.waitTone(t, 660, 5*time.Second)
	b.waitTone(t, 440, 5*time.Second)
	if err := a.Hangup(ctx, s.SipCallID); err != nil {
		t.Fatal(err)
	}
	b.wait(t, callengine.EventCallEnded, 5*time.Second)
}

// baresipHeard reads baresip's recording of the call (after it closed) and
// returns its dominant frequency.
func baresipHeard(t *testing.T, bs *testpeers.Baresip) float64 {
	t.Helper()
	var (
		pcm  []int16
		rate int
		err  error
	)
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if path := bs.RecordingPath(); path != "" {
			if pcm, rate, err = audio.ReadWAV(path); err == nil && len(pcm) > rate {
				break
			}
		}
	}
	if len(pcm) <= rate || rate == 0 {
		t.Fatalf("baresip recorded nothing usable (%v)\n%s", err, bs.Log())
	}
	pcm = pcm[rate/2:] // skip set-up and jitter-buffer fill
	hz, _ := audio.DominantFrequency(pcm, rate)
	return hz
}

// Interop with baresip 1.0 per profile: Parlo calls baresip for the
// profiles Parlo offers (plain, SDES), baresip calls Parlo for DTLS-SRTP
// with ICE (Parlo never offers DTLS). Audio is checked both ways by tone.
func TestClassicBaresipIntegration(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mediaEnc string
		mediaNAT string
		policy   media.SRTPPolicy
		parloDia bool
		wantSRTP string
		video    bool
	}{
		{"plain", "", "", media.SRTPOff, true, "none", false},
		{"sdes", "srtp-mand", "", media.SRTPRequired, true, "sdes", false},
		{"sdes-incoming", "srtp-mand", "", media.SRTPRequired, false, "sdes", false},
		// Audio+video without BUNDLE: an audio-only DTLS+ICE offer has one
		// m-line and takes the WebRTC path (media.ChoosePath).
		{"dtls-ice-video-incoming", "dtls_srtp", "ice", media.SRTPRequired, false, "dtls", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newClassicPhone(t, 660, tc.policy, !tc.parloDia)
			bs := testpeers.StartBaresip(t, testpeers.BaresipOptions{
				MediaEnc: tc.mediaEnc, MediaNAT: tc.mediaNAT, AutoAnswer: tc.parloDia, ToneHz: 440,
				Video: tc.video,
			})
			ctx := ctxFor(t, 30*time.Second)
			var id string
			if tc.parloDia {
				s, err := p.Call(ctx, bs.URI(), callengine.CallOptions{})
				if err != nil {
					t.Fatal(err)
				}
				id = s.SipCallID
				p.wait(t, callengine.EventCallAccepted, 10*time.Second)
			} else {
				if _, err := bs.DialAndWaitEstablished(ctx, p.uri()); err != nil {
					t.Fatalf("baresip dial: %v\n%s", err, bs.Log())
				}
				id = p.wait(t, callengine.EventCallIncoming, 5*time.Second)
			}
			p.wait(t, callengine.EventMediaConnected, 10*time.Second)
			p.waitTone(t, 440, 5*time.Second)
			// Give baresip two seconds of our tone.
			for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
				if st, _ := p.Stats(id); st.Audio.PacketsSent >= 100 {
					break
				}
			}
			st := checkStats(t, p.Phone, id, tc.wantSRTP)
			if tc.video {
				// baresip's fakevideo reaches us over the second line's own
				// ICE+DTLS transport.
				for end := time.Now().Add(5 * time.Second); time.Now().Before(end) && st.Video.Received.FramesAssembled < 5; time.Sleep(50 * time.Millisecond) {
					st, _ = p.Stats(id)
				}
				if st.Video.Received.FramesAssembled < 5 {
					t.Fatalf("no video from baresip on the video line: %+v", st.Video.Received)
				}
			}
			t.Logf("%s: audio %+v video received %+v", tc.name, st.Audio, st.Video.Received)
			if err := p.Hangup(ctx, id); err != nil {
				t.Fatal(err)
			}
			if _, err := bs.WaitEvent(ctx, "CALL_CLOSED"); err != nil {
				t.Fatalf("baresip did not close: %v", err)
			}
			if hz := baresipHeard(t, bs); math.Abs(hz-660) > 10 {
				t.Fatalf("baresip heard %.1f Hz, want 660", hz)
			}
		})
	}
}

func waitVideo(t *testing.T, p *callengine.Phone, id string, frames uint64, w int, timeout time.Duration) media.VideoReceivedStats {
	t.Helper()
	var st media.Stats
	for end := time.Now().Add(timeout); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		st, _ = p.Stats(id)
		if st.Video.Received.FramesDecoded >= frames && st.Video.Received.Width == w {
			return st.Video.Received
		}
	}
	t.Fatalf("video received %+v, want %d frames %d wide", st.Video.Received, frames, w)
	return st.Video.Received
}

// Parlo shares its second monitor (1280x720) with Parlo over the classic
// path: a re-INVITE adds an SDES video line with its own port; stopping
// disables it.
func TestClassicParloShareIntegration(t *testing.T) {
	d := testpeers.StartDummyTwoMonitors(t)
	d.ShowTestPattern(t, 1920, 0, 1280, 720)
	a := newClassicPhone(t, 440, media.SRTPRequired, false, d.Name())
	b := newClassicPhone(t, 660, media.SRTPRequired, true, d.Name())
	ctx := ctxFor(t, 30*time.Second)
	s, err := a.Call(ctx, b.uri(), callengine.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a.wait(t, callengine.EventCallAccepted, 10*time.Second)
	bid := b.wait(t, callengine.EventCallIncoming, 5*time.Second)
	b.waitTone(t, 440, 5*time.Second)
	if err := a.StartScreenSharing(ctx, s.SipCallID, 1); err != nil {
		t.Fatalf("StartScreenSharing: %v", err)
	}
	got := waitVideo(t, b.Phone, bid, 5, 1280, 10*time.Second)
	t.Logf("Parlo→Parlo classic share: %+v", got)
	checkStats(t, b.Phone, bid, "sdes")
	if err := a.StopScreenSharing(ctx, s.SipCallID); err != nil {
		t.Fatalf("StopScreenSharing: %v", err)
	}
	// Audio survives the share's end.
	b.waitTone(t, 440, 5*time.Second)
	a.waitTone(t, 660, 5*time.Second)
}

// baresip (audio+video, DTLS-SRTP+ICE, no BUNDLE) calls Parlo; Parlo shares
// its second monitor on the video line baresip opened.
func TestClassicBaresipShareIntegration(t *testing.T) {
	d := testpeers.StartDummyTwoMonitors(t)
	d.ShowTestPattern(t, 1920, 0, 1280, 720)
	p := newClassicPhone(t, 660, media.SRTPRequired, true, d.Name())
	bs := testpeers.StartBaresip(t, testpeers.BaresipOptions{MediaEnc: "dtls_srtp", MediaNAT: "ice", Video: true})
	ctx := ctxFor(t, 30*time.Second)
	if _, err := bs.DialAndWaitEstablished(ctx, p.uri()); err != nil {
		t.Fatalf("baresip dial: %v\n%s", err, bs.Log())
	}
	id := p.wait(t, callengine.EventCallIncoming, 5*time.Second)
	p.wait(t, callengine.EventMediaConnected, 10*time.Second)
	if err := p.StartScreenSharing(ctx, id, 1); err != nil {
		t.Fatalf("StartScreenSharing: %v", err)
	}
	var st media.Stats
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if st, _ = p.Stats(id); st.Video.Sent.Frames >= 2 {
			break
		}
	}
	out, _ := bs.Command(ctx, "callstat", "")
	t.Logf("Parlo sent %+v\nbaresip callstat:\n%s", st.Video.Sent, out)
	if st.Video.Sent.Frames < 2 {
		t.Fatalf("Parlo sent no share: %+v", st.Video.Sent)
	}
	if log := bs.Log(); !strings.Contains(log, "DTLS-SRTP complete (video/RTP)") || !regexp.MustCompile(`video rx pipeline: .*<--- VP8`).MatchString(log) {
		t.Fatalf("baresip set up no VP8 receive pipeline:\n%s", log)
	}
	// baresip's snapshot module saves the next frame its decoder produced:
	// the share really decodes at the far end, at the monitor's size.
	prefix := filepath.Join(t.TempDir(), "bs")
	if _, err := bs.Command(ctx, "snapshot_recv", prefix); err != nil {
		t.Fatalf("baresip snapshot-recv: %v", err)
	}
	var snap image.Image
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end) && snap == nil; time.Sleep(100 * time.Millisecond) {
		files, _ := filepath.Glob(prefix + "*") // baresip writes the name as given
		for _, f := range files {
			if fh, err := os.Open(f); err == nil {
				snap, _ = png.Decode(fh)
				fh.Close()
			}
		}
	}
	if snap == nil {
		t.Fatalf("baresip wrote no snapshot of the received video\n%s", bs.Log())
	}
	if b := snap.Bounds(); b.Dx() != 1280 || b.Dy() != 720 {
		t.Fatalf("baresip decoded a %v picture, the shared monitor is 1280x720", b)
	}
	t.Logf("baresip decoded Parlo's share: %v snapshot", snap.Bounds())
}
