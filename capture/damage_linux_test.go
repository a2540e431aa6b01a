package capture

import (
	"context"
	"image"
	"math"
	"sync"
	"testing"
	"time"
)

// screenI420 grabs the whole monitor directly (a second connection) as the
// ground truth the decoded share is compared with.
func screenI420(t *testing.T, m Monitor) *I420 {
	t.Helper()
	g, err := NewX11Grabber(m.Display)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	f, err := g.Grab(m.Rect())
	if err != nil {
		t.Fatal(err)
	}
	out := NewI420(f.Width, f.Height)
	BGRAToI420(out, f.Pix, f.Stride, f.Width, f.Height)
	return out
}

// encodedShare is a Source feeding a VP8 encoder and decoder, the pipeline
// of a share and its receiver, with what each frame carried.
type encodedShare struct {
	src *Source

	mu      sync.Mutex
	frames  []Frame // Image dropped: Seq, Refresh, Dirty
	encodes int
	partial int
	decoded *I420
	err     error
}

func startEncodedShare(t *testing.T, m Monitor, opts SourceOptions) *encodedShare {
	t.Helper()
	enc, err := NewVP8Encoder(VP8Options{EncoderOptions: EncoderOptions{Width: m.Width, Height: m.Height, FPS: 30, BitrateKbps: 2500, ScreenContent: true}, CPUUsed: 12})
	if err != nil {
		t.Fatal(err)
	}
	dec, err := NewVP8Decoder(1)
	if err != nil {
		t.Fatal(err)
	}
	es := &encodedShare{}
	opts.OnFrame = func(f Frame) {
		before := enc.PartialFrames()
		data, _, err := enc.EncodeFrame(f, false)
		var pic *I420
		if err == nil && len(data) > 0 {
			pic, err = dec.Decode(data)
		}
		es.mu.Lock()
		defer es.mu.Unlock()
		g := f
		g.Image = nil
		es.frames = append(es.frames, g)
		es.encodes++
		if enc.PartialFrames() > before {
			es.partial++
		}
		if err != nil && es.err == nil {
			es.err = err
		}
		if pic != nil {
			es.decoded = pic.Clone()
		}
	}
	src, err := NewSource(m, opts)
	if err != nil {
		t.Fatal(err)
	}
	es.src = src
	t.Cleanup(func() {
		src.Close()
		enc.Close()
		dec.Close()
	})
	if err := src.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return es
}

func (es *encodedShare) snapshot() (frames []Frame, encodes, partial int, decoded *I420, err error) {
	es.mu.Lock()
	defer es.mu.Unlock()
	return append([]Frame(nil), es.frames...), es.encodes, es.partial, es.decoded, es.err
}

// TestSourceDamageIdleAndChange shares a 1080p Xvfb screen through the
// damage-driven Source into VP8 and back: a still screen costs (almost) no
// grab and no encode, a painted rectangle is grabbed alone, delivered with
// dirty rows covering it, coded with an active map, and the decoded picture
// matches the screen.
func TestSourceDamageIdleAndChange(t *testing.T) {
	display := startXvfb(t, "1920x1080x24")
	m := monitorOf(t, display, 0)
	p := newPainter(t, display)
	// Something to look at: text-like stripes on a grey desktop.
	p.fill(image.Rect(0, 0, 1920, 1080), 0x3c3f41)
	for i := 0; i < 40; i++ {
		p.fill(image.Rect(100+i*37, 200+i*17, 130+i*37, 204+i*17), 0xe0e0e0)
	}
	es := startEncodedShare(t, m, SourceOptions{FPS: 30, RefreshInterval: 100 * time.Millisecond, IdleRefreshInterval: 2 * time.Second})
	if !es.src.Stats().Damage {
		t.Fatal("Xvfb has DAMAGE, but the Source polls")
	}
	// The first frame and the settling refreshes (3 × 100 ms).
	waitFor(t, 5*time.Second, "settled", func() bool { return es.src.Stats().Refreshes >= settleRefreshes })

	// Idle: at most one refresh (IdleRefreshInterval 2 s) over 3 s, where
	// polling would grab 90 times.
	before := es.src.Stats()
	_, enc0, _, _, _ := es.snapshot()
	time.Sleep(3 * time.Second)
	after := es.src.Stats()
	_, enc1, _, _, _ := es.snapshot()
	grabs, encodes := after.Captured-before.Captured, enc1-enc0
	t.Logf("idle 3 s: %d grabs, %d encodes, %d pixels grabbed", grabs, encodes, after.GrabbedPixels-before.GrabbedPixels)
	if grabs > 2 || encodes > 2 || after.Refreshes-before.Refreshes > 2 {
		t.Errorf("idle screen: %d grabs and %d encodes in 3 s, want at most the 1–2 idle refreshes", grabs, encodes)
	}

	// A change: a 300x40 rectangle.
	frames0, _, partial0, _, _ := es.snapshot()
	px0 := es.src.Stats().GrabbedPixels
	box := image.Rect(700, 500, 1000, 540)
	p.fill(box, 0x20a0f0)
	var got Frame
	waitFor(t, 3*time.Second, "the changed frame", func() bool {
		frames, _, _, _, _ := es.snapshot()
		for _, f := range frames[len(frames0):] {
			if !f.Refresh {
				got = f
				return true
			}
		}
		return false
	})
	if got.Dirty.First > box.Min.Y || got.Dirty.Last < box.Max.Y-1 {
		t.Errorf("dirty rows %+v do not cover the painted rows %d..%d", got.Dirty, box.Min.Y, box.Max.Y-1)
	}
	if got.Dirty.First < box.Min.Y-16 || got.Dirty.Last > box.Max.Y+16 {
		t.Errorf("dirty rows %+v reach far beyond the painted rows %d..%d", got.Dirty, box.Min.Y, box.Max.Y-1)
	}
	if px := es.src.Stats().GrabbedPixels - px0; px > uint64(4*box.Dx()*box.Dy()) {
		t.Errorf("grabbed %d pixels for a %d-pixel change", px, box.Dx()*box.Dy())
	}
	_, _, partial1, _, _ := es.snapshot()
	if partial1 <= partial0 {
		t.Error("the change was not encoded with an active map")
	}

	// The receiver's picture equals the screen once the encoder refined it.
	truth := screenI420(t, m)
	var ssim, psnr float64
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, _, _, dec, err := es.snapshot()
		if err != nil {
			t.Fatal(err)
		}
		ssim, psnr = SSIMY(dec, truth), psnrY(dec, truth)
		if ssim >= 0.98 && psnr >= 38 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("decoded vs screen: SSIM %.4f, PSNR %.1f dB", ssim, psnr)
	if ssim < 0.98 || psnr < 38 || math.IsNaN(ssim) {
		t.Errorf("decoded share differs from the screen: SSIM %.4f, PSNR %.1f dB (want ≥ 0.98, ≥ 38 dB)", ssim, psnr)
	}
}

// TestSourcePollingFallback forces the polling path (what a display without
// DAMAGE gets) and checks it still sees a change with its rows.
func TestSourcePollingFallback(t *testing.T) {
	display := startXvfb(t, "640x480x24")
	m := monitorOf(t, display, 0)
	var mu sync.Mutex
	var changed []DirtyRows
	src, err := NewSource(m, SourceOptions{FPS: 50, Polling: true, RefreshInterval: time.Hour, OnFrame: func(f Frame) {
		if !f.Refresh {
			mu.Lock()
			changed = append(changed, f.Dirty)
			mu.Unlock()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if src.Stats().Damage {
		t.Fatal("Polling set, but the Source is damage-driven")
	}
	if err := src.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, "first frame", func() bool { return src.Stats().Delivered >= 1 })
	newPainter(t, display).fill(image.Rect(10, 300, 50, 310), 0xffffff)
	waitFor(t, 2*time.Second, "changed frame", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(changed) >= 2
	})
	mu.Lock()
	d := changed[1]
	mu.Unlock()
	if d != (DirtyRows{300, 309}) {
		t.Errorf("dirty rows %+v, want 300..309", d)
	}
	waitFor(t, 2*time.Second, "10 grabs", func() bool { return src.Stats().Captured >= 10 })
	if st := src.Stats(); st.GrabbedPixels < st.Captured*640*480 {
		t.Errorf("polling stats %+v: want a whole-screen grab per tick", st)
	}
}

func TestClipRegions(t *testing.T) {
	mon := image.Rect(1920, 0, 3200, 720)
	for _, tc := range []struct {
		name  string
		rects []image.Rectangle
		want  []image.Rectangle
	}{
		{"outside", []image.Rectangle{image.Rect(0, 0, 100, 100)}, nil},
		{"clipped and translated", []image.Rectangle{image.Rect(1900, 10, 1930, 20)}, []image.Rectangle{image.Rect(0, 10, 10, 20)}},
		{"far apart kept apart", []image.Rectangle{image.Rect(1920, 0, 1930, 16), image.Rect(3100, 700, 3200, 720)},
			[]image.Rectangle{image.Rect(0, 0, 10, 16), image.Rect(1180, 700, 1280, 720)}},
		{"close together merged", []image.Rectangle{image.Rect(1920, 0, 2000, 16), image.Rect(1920, 16, 2000, 32)},
			[]image.Rectangle{image.Rect(0, 0, 80, 32)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := clipRegions(tc.rects, mon)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
	many := make([]image.Rectangle, maxRegionGrabs+1)
	for i := range many {
		many[i] = image.Rect(1920+i*100, i*50, 1925+i*100, i*50+5)
	}
	if got := clipRegions(many, mon); len(got) != 1 || got[0] != image.Rect(0, 0, 805, 405) {
		t.Errorf("many rects: got %v, want their bounding box", got)
	}
}
