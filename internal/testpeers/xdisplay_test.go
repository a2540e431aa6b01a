package testpeers

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"testing"
)

func writePNG(t *testing.T, c color.Color, w, h int) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, c)
		}
	}
	path := filepath.Join(t.TempDir(), fmt.Sprintf("%02x%02x%02x.png", c.(color.RGBA).R, c.(color.RGBA).G, c.(color.RGBA).B))
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	return path
}

// pixelAt grabs one pixel from the display with ffmpeg's x11grab, a reader
// independent of Parlo's capture code.
func pixelAt(t *testing.T, d *Display, x, y int) color.RGBA {
	t.Helper()
	cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error",
		"-f", "x11grab", "-video_size", "1x1", "-i", fmt.Sprintf("%s+%d,%d", d.Name(), x, y),
		"-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-")
	cmd.Env = d.Env()
	out, err := cmd.Output()
	if err != nil || len(out) != 3 {
		t.Fatalf("grab pixel (%d,%d) of %s: %v (%d bytes)", x, y, d.Name(), err, len(out))
	}
	return color.RGBA{out[0], out[1], out[2], 255}
}

func near(a, b color.RGBA) bool {
	d := func(x, y uint8) int {
		if x > y {
			return int(x - y)
		}
		return int(y - x)
	}
	return d(a.R, b.R) < 16 && d(a.G, b.G) < 16 && d(a.B, b.B) < 16
}

func TestDummyTwoMonitorsIntegration(t *testing.T) {
	d := StartDummyTwoMonitors(t)
	got, err := d.Monitors()
	if err != nil {
		t.Fatal(err)
	}
	want := []Monitor{
		{Name: "DUMMY0", X: 0, Y: 0, Width: 1920, Height: 1080},
		{Name: "DUMMY1", X: 1920, Y: 0, Width: 1280, Height: 720},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("monitors = %+v, want %+v", got, want)
	}

	// A known picture on each monitor, checked pixel by pixel.
	red, blue := color.RGBA{250, 0, 0, 255}, color.RGBA{0, 0, 250, 255}
	d.ShowImage(t, 100, 100, writePNG(t, red, 200, 150))
	d.ShowImage(t, 1920+300, 200, writePNG(t, blue, 200, 150))
	for _, c := range []struct {
		x, y int
		want color.RGBA
	}{
		{150, 150, red},
		{1920 + 350, 250, blue},
	} {
		if got := pixelAt(t, d, c.x, c.y); !near(got, c.want) {
			t.Errorf("pixel (%d,%d) = %v, want %v", c.x, c.y, got, c.want)
		}
	}

	if err := d.Unplug("DUMMY1"); err != nil {
		t.Fatal(err)
	}
	got, err = d.Monitors()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want[:1]) {
		t.Fatalf("after unplugging DUMMY1: monitors = %+v, want %+v", got, want[:1])
	}
}

func TestXvfbIntegration(t *testing.T) {
	d := StartXvfb(t, 800, 600)
	cmd := exec.Command("xdpyinfo")
	cmd.Env = d.Env()
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`dimensions:\s+(\d+x\d+)`).FindSubmatch(out); m == nil || string(m[1]) != "800x600" {
		t.Fatalf("xdpyinfo on %s: dimensions %q, want 800x600", d.Name(), m)
	}
	// The X root window starts black; a non-black pixel inside the window
	// proves ffplay painted the pattern there.
	d.ShowTestPattern(t, 0, 0, 320, 240)
	if got := pixelAt(t, d, 20, 20); got == (color.RGBA{0, 0, 0, 255}) {
		t.Errorf("test pattern pixel is black")
	}
}
