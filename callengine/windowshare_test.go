package callengine

import (
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/capture"
	"github.com/parlo-voip/parlo/internal/testpeers"
)

// startXterm starts a real X client, xterm, titled title on display and
// returns it once the window is listed as shareable. The test owns the
// process: it is killed and awaited at cleanup.
func startXterm(t *testing.T, display, title string) (*exec.Cmd, capture.Window) {
	t.Helper()
	testpeers.Require(t, "xterm")
	cmd := exec.Command("xterm", "-T", title, "-geometry", "80x24+100+80", "-e", "sh", "-c", "seq 1 30; sleep 600")
	cmd.Env = append(os.Environ(), "DISPLAY="+display)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		list, err := capture.WindowsOn(display)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range list {
			if w.Title == title {
				return cmd, w
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("xterm %q not listed among %+v", title, list)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWindowShareIntegration shares an xterm window from A to B: B decodes
// frames of the window's size, and when the window closes the share ends
// as for an unplugged monitor while the call goes on.
func TestWindowShareIntegration(t *testing.T) {
	d := testpeers.StartXvfb(t, 1280, 720)
	a := newTestPhone(t, testPhoneOpts{toneHz: 440, display: d.Name()})
	b := newTestPhone(t, testPhoneOpts{toneHz: 660, display: d.Name()})
	aID, bID := connect(t, a, b)
	xterm, win := startXterm(t, d.Name(), "Parlo window share")

	wins, err := a.Windows()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, w := range wins {
		found = found || w.ID == win.ID
	}
	if !found {
		t.Fatalf("Phone.Windows() %+v lacks the xterm %#x", wins, win.ID)
	}
	if img, err := a.WindowThumbnail(win.ID, 160, 160); err != nil || img.Bounds().Dx() == 0 {
		t.Fatalf("thumbnail: %v %v", img, err)
	}

	ctx := ctxT(t, 30*time.Second)
	if err := a.StartWindowSharing(ctx, aID, win.ID); err != nil {
		t.Fatal(err)
	}
	a.rec.wait(t, EventScreenShareStarted, aID, 5*time.Second)
	waitFrames(t, b, bID, 1, 10*time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := b.Stats(bID)
		if err != nil {
			t.Fatal(err)
		}
		if st.Video.Received.Width == win.Width&^1 && st.Video.Received.Height == win.Height&^1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("B decodes %dx%d, want the window's %dx%d", st.Video.Received.Width, st.Video.Received.Height, win.Width, win.Height)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Closing the window ends the share.
	if err := xterm.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	a.rec.wait(t, EventScreenShareEnding, aID, 5*time.Second)
	a.rec.wait(t, EventScreenShareEnded, aID, 5*time.Second)
	assertNoCapture(t, a, "window closed")
	b.waitTone(t, 440, 5*time.Second)
}
