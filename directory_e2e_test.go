package main

import (
	"encoding/json"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/internal/testpeers"
	"github.com/parlo-voip/parlo/ui"
)

// differs counts pixels of rect that changed between a and b.
func differs(a, b image.Image, r image.Rectangle) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			ar, ag, ab, _ := a.At(x, y).RGBA()
			br, bg, bb, _ := b.At(x, y).RGBA()
			if ar != br || ag != bg || ab != bb {
				n++
			}
		}
	}
	return n
}

// TestDesktopDirectoryEndToEnd runs the real binary under Xvfb at 100 %
// and 200 % scale, with its Directory settings pointing at slapd: typing
// a name in the dial field lists people from the directory under it, and
// the Settings dialog's Directory tab fits the default window. With
// PARLO_SCREENSHOTS_DIR set the captures are kept (real-directory-*.png).
func TestDesktopDirectoryEndToEnd(t *testing.T) {
	testpeers.Require(t, "xdotool", "xprop", "ffmpeg", "Xvfb")
	bin := buildParlo(t)
	sl := testpeers.StartSlapd(t, testpeers.DirectoryPeople(300))
	d := testpeers.StartXvfb(t, 2048, 1400)
	for _, scale := range []int{1, 2} {
		t.Run("scale"+strconv.Itoa(scale), func(t *testing.T) {
			home := filepath.Join(t.TempDir(), "home")
			prefsDir := filepath.Join(home, ".config", "fyne", ui.AppID)
			if err := os.MkdirAll(prefsDir, 0o700); err != nil {
				t.Fatal(err)
			}
			prefs, _ := json.Marshal(map[string]any{
				"directory.ldap.url": sl.URL(), "directory.ldap.base": sl.BaseDN(), "directory.dialRules": "+33=0",
			})
			if err := os.WriteFile(filepath.Join(prefsDir, "preferences.json"), prefs, 0o600); err != nil {
				t.Fatal(err)
			}
			t.Setenv("FYNE_SCALE", strconv.Itoa(scale))
			a := startDesktopApp(t, d, bin, &home)
			a.waitFor("the window at its default size", 30*time.Second, func() bool {
				return a.screenshot("_size").Bounds().Dx() == 980*scale
			})
			before := a.screenshot("_before")
			a.keys("ctrl+l")
			a.typeText("martin")
			// The results appear under the dial field, in the left column.
			left := image.Rect(0, 100*scale, 340*scale, 330*scale)
			var shot image.Image
			a.waitFor("search results under the dial field", 30*time.Second, func() bool {
				shot = a.screenshot("_search")
				return differs(before, shot, left) > 2000*scale*scale
			})
			time.Sleep(300 * time.Millisecond) // the last rows' paint
			searchShot := a.screenshot(fmt.Sprintf("directory-search-scale%d", scale))
			a.keys("Escape", "ctrl+comma")
			time.Sleep(time.Second)
			// The Directory tab is the fifth; it sits at about x=530, y=93
			// in the 980x640 window (device-independent units).
			a.x("xdotool", "mousemove", "--window", a.win, strconv.Itoa(530*scale), strconv.Itoa(93*scale), "click", "1")
			time.Sleep(time.Second)
			img := a.screenshot(fmt.Sprintf("directory-settings-scale%d", scale))
			if img.Bounds().Dx() != 980*scale || img.Bounds().Dy() != 640*scale {
				t.Fatalf("window is %v, not the default size at scale %d", img.Bounds(), scale)
			}
			// The dialog covers the middle of the window.
			if n := differs(searchShot, img, image.Rect(200*scale, 150*scale, 780*scale, 500*scale)); n < 20000*scale*scale {
				t.Fatalf("the Settings dialog did not open (%d pixels changed)", n)
			}
		})
	}
}
