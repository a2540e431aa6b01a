package capture

import (
	"context"
	"image"
	"sync"
	"testing"
	"time"
)

// A monitor Source that ends parks its display connection and buffers in
// FrameBuffers; the next Source on the display takes them, shows what the
// screen shows now (not what it showed when parked, although the parked
// connection saw damage meanwhile), and still follows changes. Drop
// releases them; a polling Source neither takes nor parks a connection.
func TestSourceReusesParkedConnection(t *testing.T) {
	display := startXvfb(t, "640x480x24")
	m := monitorOf(t, display, 0)
	p := newPainter(t, display)
	p.fill(image.Rect(0, 0, 640, 480), 0xd02020)
	var fb FrameBuffers

	type seen struct {
		mu     sync.Mutex
		frames []Frame
		luma   []int // Y at (100, 100) of each frame
	}
	start := func(s *seen, polling bool) *Source {
		t.Helper()
		src, err := NewSource(m, SourceOptions{FPS: 30, Buffers: &fb, Polling: polling, RefreshInterval: time.Hour, OnFrame: func(f Frame) {
			s.mu.Lock()
			defer s.mu.Unlock()
			g := f
			g.Image = nil
			s.frames = append(s.frames, g)
			s.luma = append(s.luma, lumaAt(f.Image, 100, 100))
		}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { src.Close() })
		if err := src.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		return src
	}
	count := func(s *seen) int {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.frames)
	}

	var first seen
	src1 := start(&first, false)
	waitFor(t, 5*time.Second, "the first Source's first frame", func() bool { return count(&first) > 0 })
	g1 := src1.g
	src1.Close()
	if !fb.Kept() {
		t.Fatal("the ended Source parked nothing")
	}
	red := first.luma[0]

	// Drawn while parked: damage events reach the parked connection.
	for i := 0; i < 20; i++ {
		p.fill(image.Rect(0, 0, 640, 480), 0x2020d0+uint32(i))
	}
	var second seen
	src2 := start(&second, false)
	if src2.g != g1 {
		t.Fatal("the second Source opened a connection of its own")
	}
	if !src2.Stats().Damage {
		t.Fatal("the reused connection does not track damage")
	}
	waitFor(t, 5*time.Second, "the second Source's first frame", func() bool { return count(&second) > 0 })
	second.mu.Lock()
	blue := second.luma[0]
	second.mu.Unlock()
	if blue == red {
		t.Fatalf("the second Source's first frame shows the parked picture (Y %d)", blue)
	}
	n := count(&second)
	p.fill(image.Rect(80, 80, 140, 140), 0xf0f0f0)
	waitFor(t, 5*time.Second, "the change after reuse", func() bool {
		second.mu.Lock()
		defer second.mu.Unlock()
		for i := n; i < len(second.frames); i++ {
			if !second.frames[i].Refresh && second.luma[i] > 200 {
				return true
			}
		}
		return false
	})
	src2.Close()

	var polled seen
	src3 := start(&polled, true)
	if src3.g == g1 {
		t.Fatal("a polling Source took the parked damage-tracking connection")
	}
	src3.Close()
	fb.Drop(0)
	if fb.Kept() {
		t.Fatal("Drop(0) kept something")
	}
	if _, err := g1.Grab(image.Rect(0, 0, 10, 10)); err == nil {
		t.Fatal("the dropped connection still grabs")
	}

	// Closed: a Source ending later closes its connection itself.
	var last seen
	src4 := start(&last, false)
	waitFor(t, 5*time.Second, "the last Source's first frame", func() bool { return count(&last) > 0 })
	fb.Close()
	src4.Close()
	if fb.Kept() {
		t.Fatal("a closed FrameBuffers kept a connection")
	}
	if _, err := src4.g.Grab(image.Rect(0, 0, 10, 10)); err == nil {
		t.Fatal("the connection of a Source ended after Close still grabs")
	}
}
