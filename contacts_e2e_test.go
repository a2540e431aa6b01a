package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/internal/testpeers"
)

// TestDesktopAppContactsPanelEndToEnd starts the real parlo window under
// Xvfb with two watched extensions and a voicemail number in its saved
// settings (no account: the lamps stay grey, the panel and the voicemail
// button show) and grabs it at its default size: the contacts panel and
// the top bar must fit the 980×640 window. The lamps lit by a real server
// are ui.TestContactsPanelWithKamailioIntegration's screenshot.
func TestDesktopAppContactsPanelEndToEnd(t *testing.T) {
	testpeers.Require(t, "xdotool", "ffmpeg", "Xvfb")
	d := testpeers.StartXvfb(t, 1280, 800)
	home := filepath.Join(t.TempDir(), "home")
	prefs := filepath.Join(home, ".config", "fyne", "io.parlo.Parlo")
	if err := os.MkdirAll(prefs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(prefs, "preferences.json"),
		[]byte(`{"lamps.watchedExtensions":"1002, 1003","lamps.voicemailNumber":"*97"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	a := startDesktopApp(t, d, buildParlo(t), &home)
	time.Sleep(500 * time.Millisecond) // first frames; the screenshot is a document, the size below the check
	img := a.screenshot("contacts")
	if b := img.Bounds(); b.Dx() != 980 || b.Dy() != 640 {
		t.Errorf("window is %dx%d, want the default 980x640", b.Dx(), b.Dy())
	}
}
