package callengine

import (
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/capture"
	"github.com/parlo-voip/parlo/internal/testpeers"
)

// movingShare is a call in which A shares monitor 1 of a two-monitor X
// server showing a moving test pattern (full motion, every frame differs),
// and B has decoded the first frame: the rig of the frame-rate, loss and
// bandwidth tests.
type movingShare struct {
	a, b     *testPhone
	aID, bID string
	mon      capture.Monitor
}

// startMovingShare sets the rig up; wrap, if not nil, wraps both phones'
// media sessions (e.g. to offer H.264 only).
func startMovingShare(t *testing.T, wrap func(media.Session) media.Session) *movingShare {
	t.Helper()
	d := testpeers.StartDummyTwoMonitors(t)
	mons, err := capture.MonitorsOn(d.Name())
	if err != nil || len(mons) < 2 {
		t.Fatal(mons, err)
	}
	m := &movingShare{mon: mons[1]}
	d.ShowTestPattern(t, m.mon.X, m.mon.Y, m.mon.Width, m.mon.Height)
	m.a = newTestPhone(t, testPhoneOpts{toneHz: 440, display: d.Name(), wrap: wrap})
	m.b = newTestPhone(t, testPhoneOpts{toneHz: 660, display: d.Name(), wrap: wrap})
	m.aID, m.bID = connect(t, m.a, m.b)
	if err := m.a.StartScreenSharing(ctxT(t, 30*time.Second), m.aID, m.mon.Index); err != nil {
		t.Fatal(err)
	}
	waitFrames(t, m.b, m.bID, 1, 10*time.Second)
	return m
}

// shareWindow is what crossed the call over one measurement, and both
// ends' statistics at its end.
type shareWindow struct {
	sentFPS, decodedFPS float64
	sentKbps            float64 // video bytes A sent, in kbit/s
	framesDecoded       uint64
	keyframeRequests    uint64
	audioLost           uint64
	sender, receiver    media.Stats
}

// measure watches the share for d.
func (m *movingShare) measure(d time.Duration) shareWindow {
	b0, _ := m.b.Stats(m.bID)
	a0, _ := m.a.Stats(m.aID)
	t0 := time.Now()
	time.Sleep(d)
	b1, _ := m.b.Stats(m.bID)
	a1, _ := m.a.Stats(m.aID)
	secs := time.Since(t0).Seconds()
	decoded := b1.Video.Received.FramesDecoded - b0.Video.Received.FramesDecoded
	return shareWindow{
		sentFPS:          float64(a1.Video.Sent.Frames-a0.Video.Sent.Frames) / secs,
		sentKbps:         float64(a1.Video.Sent.Bytes-a0.Video.Sent.Bytes) * 8 / secs / 1000,
		decodedFPS:       float64(decoded) / secs,
		framesDecoded:    decoded,
		keyframeRequests: a1.Video.Sent.KeyframeRequests - a0.Video.Sent.KeyframeRequests,
		audioLost:        b1.Audio.PacketsLost - b0.Audio.PacketsLost,
		sender:           a1,
		receiver:         b1,
	}
}
