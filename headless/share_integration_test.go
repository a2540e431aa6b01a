package headless_test

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/internal/testpeers"
)

// quadrantPicture is a known picture of w x h: four flat colour quadrants
// and a white square in the top-left one, so a wrong monitor, a shifted or
// mirrored crop all show. Flat areas survive VP8 and I420 nearly intact.
func quadrantPicture(w, h int, quad [4]color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	white := color.RGBA{R: 250, G: 250, B: 250, A: 255}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			q := 0
			if x >= w/2 {
				q++
			}
			if y >= h/2 {
				q += 2
			}
			c := quad[q]
			if x > w/8 && x < w/4 && y > h/8 && y < h/4 {
				c = white
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

func savePNG(t *testing.T, img image.Image, name string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	return p
}

func loadPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("snapshot file: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("snapshot %s is not a PNG: %v", path, err)
	}
	return img
}

// replyTo waits for the reply to id, ok or not.
func (d *driver) replyTo(id string, timeout time.Duration) map[string]any {
	d.t.Helper()
	_, r := d.waitFor("reply to "+id, 0, timeout, func(o map[string]any) bool { return o["id"] == id })
	return r
}

// TestHeadlessShareIntegration drives two real `parlo headless` processes
// through stdin/stdout only, on a two-monitor X display with a known
// picture on each monitor: A (--display) calls B, B accepts, A lists the
// monitors and shares monitor 1; B's stats and snapshot must show monitor
// 1's picture at its size; then a moving picture covers monitor 1 and
// frames flow; A stops the share, B's video stops, audio goes on; both
// quit. It logs the time from the share command to B's first decoded frame.
//
// Set PARLO_TRANSCRIPT=path to save the session's transcript
// (testdata/share-transcript.txt is one).
func TestHeadlessShareIntegration(t *testing.T) {
	bin := buildParlo(t)
	disp := testpeers.StartDummyTwoMonitors(t)
	xr, err := disp.Monitors()
	if err != nil || len(xr) != 2 {
		t.Fatalf("xrandr monitors of %s: %v %v", disp.Name(), xr, err)
	}
	// The ground truth, from xrandr rather than from the code under test.
	byName := map[string]testpeers.Monitor{}
	for _, m := range xr {
		byName[m.Name] = m
	}
	mon0, mon1 := byName["DUMMY0"], byName["DUMMY1"]
	if mon0.Width == 0 || mon1.Width == 0 || mon1.X <= mon0.X {
		t.Fatalf("unexpected dummy layout (want DUMMY0 left of DUMMY1): %+v", xr)
	}

	// Saturated colours, and monitor 0's picture is monitor 1's inverted
	// (at its own size), so the two differ by >100 per channel everywhere.
	quad := [4]color.RGBA{{230, 30, 30, 255}, {30, 200, 60, 255}, {40, 60, 220, 255}, {240, 220, 30, 255}}
	var inv [4]color.RGBA
	for i, c := range quad {
		inv[i] = color.RGBA{255 - c.R, 255 - c.G, 255 - c.B, 255}
	}
	pic0 := quadrantPicture(mon0.Width, mon0.Height, inv)
	pic1 := quadrantPicture(mon1.Width, mon1.Height, quad)
	disp.ShowImage(t, mon0.X, mon0.Y, savePNG(t, pic0, "monitor0.png"))
	disp.ShowImage(t, mon1.X, mon1.Y, savePNG(t, pic1, "monitor1.png"))

	dir := t.TempDir()
	tr := &transcript{start: time.Now()}
	defer func() {
		if t.Failed() {
			t.Logf("transcript:\n%s", tr)
		}
		writeTranscriptIfAsked(t, tr)
	}()
	// A gets the display by flag only: the test's own environment keeps no
	// DISPLAY (parallel tests would share it).
	a := startDriver(t, bin, "A", tr, "--listen", "udp:127.0.0.1:0", "--username", "alice", "--audio-in", "tone:440",
		"--display", disp.Name(), "--fps", "30")
	b := startDriver(t, bin, "B", tr, "--listen", "udp:127.0.0.1:0", "--username", "bob", "--audio-in", "tone:660")
	isReady := func(o map[string]any) bool { return o["event"] == "ready" }
	a.waitFor("ready", 0, 10*time.Second, isReady)
	_, readyB := b.waitFor("ready", 0, 10*time.Second, isReady)

	// monitors: both, left to right, with xrandr's geometry.
	res := a.do(map[string]any{"cmd": "monitors"})
	list, _ := res["monitors"].([]any)
	if len(list) != 2 {
		t.Fatalf("monitors: want 2 entries, got %v", res)
	}
	primaries := 0
	for i, want := range []testpeers.Monitor{mon0, mon1} {
		m, _ := list[i].(map[string]any)
		name, _ := m["name"].(string)
		got := testpeers.Monitor{Name: name, X: int(num(t, m, "x")), Y: int(num(t, m, "y")), Width: int(num(t, m, "width")), Height: int(num(t, m, "height"))}
		if num(t, m, "index") != float64(i) || got != want {
			t.Errorf("monitors[%d] = %v, want index %d and %+v", i, m, i, want)
		}
		if p, ok := m["primary"].(bool); !ok {
			t.Errorf("monitors[%d] has no boolean primary: %v", i, m)
		} else if p {
			primaries++
		}
	}
	if primaries != 1 {
		t.Errorf("want exactly one primary monitor, got %d: %v", primaries, list)
	}

	res = a.do(map[string]any{"cmd": "call", "to": readyB["contact"]})
	callID, _ := dig(res, "session.sipCallId").(string)
	if callID == "" {
		t.Fatalf("call result without sipCallId: %v", res)
	}
	b.waitEvent("onCallIncoming", callID, 10*time.Second)
	b.do(map[string]any{"cmd": "accept", "call": callID})
	for _, d := range []*driver{a, b} {
		d.waitEvent("onMediaConnected", callID, 10*time.Second)
	}

	// snapshot before any share: a clean error, no file.
	early := filepath.Join(dir, "early.png")
	r := b.replyTo(b.send(map[string]any{"cmd": "snapshot", "call": callID, "path": early}), 10*time.Second)
	if e, _ := r["error"].(string); r["ok"] != false || !strings.Contains(e, "no remote video frame") {
		t.Fatalf("snapshot before any frame: want an error reply, got %v", r)
	}
	if _, err := os.Stat(early); !os.IsNotExist(err) {
		t.Fatalf("a failed snapshot left a file behind: %v", err)
	}

	// share monitor 1, and time it until B has decoded a frame.
	shareAt := time.Now()
	shareID := a.send(map[string]any{"cmd": "share", "call": callID, "monitor": 1})
	var firstFrame time.Duration
	var st map[string]any
	for deadline := time.Now().Add(15 * time.Second); ; {
		st = b.do(map[string]any{"cmd": "stats", "call": callID})
		if num(t, st, "video.received.framesDecoded") > 0 {
			firstFrame = time.Since(shareAt)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("B decoded no frame within 15 s of share: %v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("share command → first frame decoded at B: %v (stats polled every 20 ms)", firstFrame.Round(time.Millisecond))
	if w, h := num(t, st, "video.received.width"), num(t, st, "video.received.height"); int(w) != mon1.Width || int(h) != mon1.Height {
		t.Fatalf("B decodes %vx%v, monitor 1 is %dx%d: %v", w, h, mon1.Width, mon1.Height, st)
	}
	if c := dig(st, "video.received.codec"); c != "VP8" {
		t.Fatalf("video.received.codec = %v, want VP8", c)
	}

	r = a.replyTo(shareID, 15*time.Second)
	if r["ok"] != true || dig(r, "result.session.screensharing") != true {
		t.Fatalf("share reply: %v", r)
	}
	started := a.waitEvent("onScreenShareStarted", callID, 5*time.Second)
	if dig(started, "session.screensharing") != true || started["monitor"] != "DUMMY1" || num(t, started, "width") != float64(mon1.Width) {
		t.Fatalf("onScreenShareStarted: %v", started)
	}
	vs := b.waitEvent("onVideoStream", callID, 5*time.Second)
	if vs["kind"] != "video" {
		t.Fatalf("onVideoStream: %v", vs)
	}
	b.waitEvent("onTrack", callID, 5*time.Second)
	if i := b.indexOf(func(o map[string]any) bool { return o["event"] == "onScreenShareStarted" }); i >= 0 {
		t.Fatal("the receiver got onScreenShareStarted: it is for the sharer only")
	}

	// B's snapshot is monitor 1's picture, at its size, not monitor 0's.
	// Poll: the first frames may still be refining.
	var snap image.Image
	var diff1 float64
	for i, deadline := 0, time.Now().Add(10*time.Second); ; i++ {
		path := filepath.Join(dir, "snap.png")
		res := b.do(map[string]any{"cmd": "snapshot", "call": callID, "path": path})
		if res["path"] != path || num(t, res, "width") != float64(mon1.Width) || num(t, res, "height") != float64(mon1.Height) {
			t.Fatalf("snapshot reply %v, want path and %dx%d", res, mon1.Width, mon1.Height)
		}
		snap = loadPNG(t, path)
		if diff1 = testpeers.MeanDiff(snap, pic1); diff1 < 12 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("B's snapshot differs from monitor 1's picture by %.1f per channel after %d tries", diff1, i+1)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if sz := snap.Bounds(); sz.Dx() != mon1.Width || sz.Dy() != mon1.Height {
		t.Fatalf("snapshot is %v, monitor 1 is %dx%d", sz, mon1.Width, mon1.Height)
	}
	diff0 := testpeers.MeanDiff(snap, pic0)
	t.Logf("snapshot vs monitor 1's picture: %.1f per channel; vs monitor 0's: %.1f", diff1, diff0)
	if diff0 < 60 {
		t.Fatalf("snapshot is too close to monitor 0's picture (%.1f per channel)", diff0)
	}

	sa := a.do(map[string]any{"cmd": "stats", "call": callID})
	if dig(sa, "video.sent.codec") != "VP8" || num(t, sa, "video.sent.frames") <= 0 || num(t, sa, "video.sent.bytes") <= 0 ||
		int(num(t, sa, "video.sent.width")) != mon1.Width || int(num(t, sa, "video.sent.height")) != mon1.Height {
		t.Fatalf("A's video.sent: %v", dig(sa, "video.sent"))
	}
	t.Logf("still picture: A sent %v frames, %v bytes", dig(sa, "video.sent.frames"), dig(sa, "video.sent.bytes"))

	// A moving picture over monitor 1: frames keep flowing (and the check
	// after unshare below means something: a still picture sends nothing).
	disp.ShowTestPattern(t, mon1.X, mon1.Y, mon1.Width, mon1.Height)
	f0 := num(t, b.do(map[string]any{"cmd": "stats", "call": callID}), "video.received.framesDecoded")
	movingAt := time.Now()
	for deadline := movingAt.Add(10 * time.Second); ; {
		st = b.do(map[string]any{"cmd": "stats", "call": callID})
		if num(t, st, "video.received.framesDecoded") >= f0+30 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("B decoded only %v new frames of a moving picture in 10 s", num(t, st, "video.received.framesDecoded")-f0)
		}
		time.Sleep(100 * time.Millisecond)
	}
	sa = a.do(map[string]any{"cmd": "stats", "call": callID})
	t.Logf("moving picture: 30 frames decoded at B in %v; B reports %v fps, A %v fps (%v frames, %v bytes sent)",
		time.Since(movingAt).Round(time.Millisecond), dig(st, "video.received.fps"),
		dig(sa, "video.sent.fps"), dig(sa, "video.sent.frames"), dig(sa, "video.sent.bytes"))

	// unshare: A hears onScreenShareEnded, B's video stops, audio goes on.
	res = a.do(map[string]any{"cmd": "unshare", "call": callID})
	if dig(res, "session.screensharing") != false {
		t.Fatalf("unshare reply: %v", res)
	}
	ended := a.waitEvent("onScreenShareEnded", callID, 5*time.Second)
	if dig(ended, "session.screensharing") != false {
		t.Fatalf("onScreenShareEnded: %v", ended)
	}
	// Frames already in flight may still land; after that nothing may.
	time.Sleep(300 * time.Millisecond)
	before := b.do(map[string]any{"cmd": "stats", "call": callID})
	time.Sleep(700 * time.Millisecond)
	after := b.do(map[string]any{"cmd": "stats", "call": callID})
	if f0, f1 := num(t, before, "video.received.framesDecoded"), num(t, after, "video.received.framesDecoded"); f1 != f0 {
		t.Fatalf("B still decodes after unshare: %v → %v frames", f0, f1)
	}
	if p0, p1 := num(t, before, "audio.packetsReceived"), num(t, after, "audio.packetsReceived"); p1 <= p0 {
		t.Fatalf("audio stopped with the share: %v → %v packets", p0, p1)
	}

	for _, d := range []*driver{a, b} {
		d.do(map[string]any{"cmd": "quit"})
		if err := d.waitExit(10 * time.Second); err != nil {
			t.Fatalf("%s exit: %v (want 0)", d.name, err)
		}
	}
}
