package capture

import (
	"errors"
	"image"
	"testing"
)

func TestMonitorsDualXorg(t *testing.T) {
	display := startDualMonitorXorg(t)
	mons, err := MonitorsOn(display)
	if err != nil {
		t.Fatal(err)
	}
	want := []Monitor{
		{Index: 0, Name: "DUMMY0", X: 0, Y: 0, Width: 1920, Height: 1080, Primary: true, Display: display},
		{Index: 1, Name: "DUMMY1", X: 1920, Y: 0, Width: 1280, Height: 720, Display: display},
	}
	if len(mons) != len(want) {
		t.Fatalf("got %d monitors %+v, want %+v", len(mons), mons, want)
	}
	for i := range want {
		if mons[i] != want[i] {
			t.Errorf("monitor %d = %+v, want %+v", i, mons[i], want[i])
		}
	}

	// Paint each monitor a different colour with a white marker 10x10 at
	// (100, 50) inside the monitor, then check the crops.
	p := newPainter(t, display)
	colours := []uint32{0xff0000, 0x0000ff}
	for i, m := range mons {
		p.fill(m.Rect(), colours[i])
		p.fill(image.Rect(m.X+100, m.Y+50, m.X+110, m.Y+60), 0xffffff)
	}
	g, err := NewX11Grabber(display)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if !g.UsesSharedMemory() {
		t.Error("MIT-SHM not used on a local Xorg")
	}
	for i, m := range mons {
		f, err := g.Grab(m.Rect())
		if err != nil {
			t.Fatalf("grab %s: %v", m.Name, err)
		}
		if f.Width != m.Width || f.Height != m.Height {
			t.Fatalf("grab %s: %dx%d", m.Name, f.Width, f.Height)
		}
		wantR, wantB := byte(colours[i]>>16), byte(colours[i])
		for _, pt := range []image.Point{{0, 0}, {m.Width - 1, m.Height - 1}, {99, 50}, {110, 59}} {
			b, gg, r := f.At(pt.X, pt.Y)
			if r != wantR || gg != 0 || b != wantB {
				t.Errorf("%s %v = rgb(%d,%d,%d), want colour %06x", m.Name, pt, r, gg, b, colours[i])
			}
		}
		for _, pt := range []image.Point{{100, 50}, {109, 59}} {
			if b, gg, r := f.At(pt.X, pt.Y); r != 255 || gg != 255 || b != 255 {
				t.Errorf("%s marker %v = rgb(%d,%d,%d), want white", m.Name, pt, r, gg, b)
			}
		}
	}
}

func TestX11GrabberCropsXvfb(t *testing.T) {
	display := startXvfb(t, "1920x1080x24")
	mons, err := MonitorsOn(display)
	if err != nil {
		t.Fatal(err)
	}
	if len(mons) != 1 || mons[0].Width != 1920 || mons[0].Height != 1080 || !mons[0].Primary {
		t.Fatalf("Xvfb monitors = %+v, want one primary 1920x1080", mons)
	}
	// Xvfb has one monitor: treat quadrants as synthetic monitors.
	quads := []struct {
		r   image.Rectangle
		rgb uint32
	}{
		{image.Rect(0, 0, 960, 540), 0x102030},
		{image.Rect(960, 0, 1920, 540), 0x405060},
		{image.Rect(0, 540, 960, 1080), 0x708090},
		{image.Rect(960, 540, 1920, 1080), 0xa0b0c0},
	}
	p := newPainter(t, display)
	for _, q := range quads {
		p.fill(q.r, q.rgb)
	}
	for _, shm := range []bool{true, false} {
		g, err := NewX11Grabber(display)
		if err != nil {
			t.Fatal(err)
		}
		if shm && !g.UsesSharedMemory() {
			t.Fatal("MIT-SHM not used on a local Xvfb")
		}
		g.useShm = shm
		for _, q := range quads {
			// Grab a rectangle straddling the quadrant's edge by 1 px to
			// prove the crop is exact.
			f, err := g.Grab(q.r)
			if err != nil {
				t.Fatal(err)
			}
			for y := 0; y < f.Height; y += 37 {
				for x := 0; x < f.Width; x += 41 {
					b, gg, r := f.At(x, y)
					if got := uint32(r)<<16 | uint32(gg)<<8 | uint32(b); got != q.rgb {
						t.Fatalf("shm=%v %v at (%d,%d) = %06x, want %06x", shm, q.r, x, y, got, q.rgb)
					}
				}
			}
		}
		straddle := image.Rect(959, 539, 961, 541)
		f, err := g.Grab(straddle)
		if err != nil {
			t.Fatal(err)
		}
		wantPx := []uint32{0x102030, 0x405060, 0x708090, 0xa0b0c0}
		for i, pt := range []image.Point{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
			b, gg, r := f.At(pt.X, pt.Y)
			if got := uint32(r)<<16 | uint32(gg)<<8 | uint32(b); got != wantPx[i] {
				t.Errorf("shm=%v straddle %v = %06x, want %06x", shm, pt, got, wantPx[i])
			}
		}
		if _, err := g.Grab(image.Rect(1900, 0, 2000, 10)); !errors.Is(err, ErrMonitorGone) {
			t.Errorf("grab outside screen: err = %v, want ErrMonitorGone", err)
		}
		g.Close()
		if _, err := g.Grab(quads[0].r); !errors.Is(err, ErrClosed) {
			t.Errorf("grab after close: %v", err)
		}
		if err := g.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	}
}

func TestMonitorsNoDisplay(t *testing.T) {
	_, err := MonitorsOn(":999999")
	if !errors.Is(err, ErrNoDisplay) {
		t.Fatalf("err = %v, want ErrNoDisplay", err)
	}
	t.Setenv("DISPLAY", "")
	if _, err := Monitors(); !errors.Is(err, ErrNoDisplay) {
		t.Fatalf("empty $DISPLAY: err = %v, want ErrNoDisplay", err)
	}
}

func TestThumbnail(t *testing.T) {
	display := sharedXvfbDisplay(t)
	mons, err := MonitorsOn(display)
	if err != nil {
		t.Fatal(err)
	}
	p := newPainter(t, display)
	p.fill(image.Rect(0, 0, 960, 1080), 0xff0000)
	p.fill(image.Rect(960, 0, 1920, 1080), 0x00ff00)
	img, err := Thumbnail(mons[0], 320, 320)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 320 || b.Dy() != 180 {
		t.Fatalf("thumbnail %v, want 320x180 (aspect kept)", b)
	}
	for _, c := range []struct {
		x       int
		r, g, b uint32
	}{{10, 0xffff, 0, 0}, {310, 0, 0xffff, 0}} {
		r, g, b, _ := img.At(c.x, 90).RGBA()
		if r != c.r || g != c.g || b != c.b {
			t.Errorf("thumbnail at x=%d = %x/%x/%x", c.x, r, g, b)
		}
	}
	// Second call reuses the cached grabber.
	if _, err := Thumbnail(mons[0], 64, 64); err != nil {
		t.Fatal(err)
	}
}
