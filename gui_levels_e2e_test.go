package main

import (
	"image"
	"image/png"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine"
	"github.com/parlo-voip/parlo/callengine/audio"
	"github.com/parlo-voip/parlo/internal/testpeers"
)

// levelPixels counts the pixels of the call view's level bars (green
// #2E9D4F, amber #E09A1B) and how many bars are lit at least 30 px wide:
// the lit columns fall into one run per bar, the two bars being side by
// side with a gap.
func levelPixels(img image.Image) (n, bars int) {
	b := img.Bounds()
	lit := make([]bool, b.Dx())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if near(r>>8, 0x2E) && near(g>>8, 0x9D) && near(bl>>8, 0x4F) ||
				near(r>>8, 0xE0) && near(g>>8, 0x9A) && near(bl>>8, 0x1B) {
				n++
				lit[x-b.Min.X] = true
			}
		}
	}
	start, last := -1, -1000
	for x, on := range append(lit, false) {
		switch {
		case on && x-last > 20:
			start, last = x, x
		case on:
			last = x
		case start >= 0 && x-last > 20:
			if last-start >= 30 {
				bars++
			}
			start = -1
		}
	}
	return n, bars
}

// keepScreenshot saves img (a frame already checked) as a document.
func keepScreenshot(t *testing.T, a *desktopApp, name string, img image.Image) {
	t.Helper()
	if a.shots == "" {
		return
	}
	f, err := os.Create(filepath.Join(a.shots, "real-"+name+".png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

// TestDesktopAppCallLevelsEndToEnd runs the real parlo window under Xvfb
// at its default size with a real sound server: speech-like noise plays
// into the microphone, the peer sends speech-like noise too, and the call
// view's level bars show both and move (two screenshots differ). The
// screenshot is docs/screenshots/real-call-levels.png with make
// screenshots.
func TestDesktopAppCallLevelsEndToEnd(t *testing.T) {
	testpeers.Require(t, "xdotool", "xprop", "ffmpeg", "Xvfb")
	pa := testpeers.StartPulse(t)
	pa.Play(t, testpeers.SinkMicWire, audio.NewSpeechLike(3, 0.4))
	d := testpeers.StartXvfb(t, 1600, 1000)

	peer, err := callengine.NewPhone(callengine.Options{
		Listen: []string{"udp:127.0.0.1:0"}, User: "bob", AutoAnswer: true,
		NewAudioIn: func() (audio.Source, error) { return audio.NewSpeechLike(9, 0.5), nil },
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()

	a := startDesktopApp(t, d, buildParlo(t), nil, "PULSE_SERVER="+pa.Server())
	if n, _ := levelPixels(a.screenshot("_idle")); n > 0 {
		t.Fatalf("%d level-bar pixels with no call", n)
	}
	a.keys("ctrl+l")
	a.typeText(peer.ContactURI())
	a.keys("ctrl+Return")
	a.waitFor("the peer to answer", 20*time.Second, func() bool {
		for _, s := range peer.Calls() {
			if s.IsEstablished() {
				return true
			}
		}
		return false
	})
	a.waitFor("the window to show the call", 10*time.Second, func() bool {
		return strings.Contains(a.title(), "bob") || strings.Contains(a.title(), peer.ContactURI())
	})
	// Moving: three different lit-pixel counts in successive screenshots,
	// and at least once both bars lit (microphone and far end), which is
	// the screenshot kept.
	var counts []int
	both := false
	a.waitFor("both level bars lit, and moving", 30*time.Second, func() bool {
		img := a.screenshot("_levels")
		n, bars := levelPixels(img)
		if n > 0 && (len(counts) == 0 || n != counts[len(counts)-1]) {
			counts = append(counts, n)
		}
		if bars == 2 && !both {
			both = true
			keepScreenshot(t, a, "call-levels", img)
		}
		return both && len(counts) >= 3
	})
	t.Logf("level-bar pixels in successive screenshots: %v", counts)

	a.keys("ctrl+shift+e") // hang up
	a.waitFor("the call to end at the peer", 10*time.Second, func() bool { return len(peer.Calls()) == 0 })
	a.waitFor("the bars gone", 10*time.Second, func() bool { n, _ := levelPixels(a.screenshot("_ended")); return n == 0 })
}
