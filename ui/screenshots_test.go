package ui

import (
	"image"
	"image/color"
	"os"
	"path/filepath"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"

	"github.com/parlo-voip/parlo/callengine"
)

// variantTheme forces the default theme's light or dark variant.
type variantTheme struct {
	fyne.Theme
	v fyne.ThemeVariant
}

func (t variantTheme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	return t.Theme.Color(n, t.v)
}

// TestScreenshots renders the main scenes in light and dark theme with the
// Fyne software renderer. With PARLO_SCREENSHOTS_DIR set (make screenshots)
// the PNGs go there, else to a temporary directory.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("PARLO_SCREENSHOTS_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	scenes := []struct {
		name  string
		setup func(h *harness, f *fakeEngine)
	}{
		{"idle", func(h *harness, f *fakeEngine) {}},
		{"incoming", func(h *harness, f *fakeEngine) {
			a := f.incoming("Alice Martin", "sip:alice@192.0.2.20")
			f.establish(a)
			h.waitFor("active", func() bool { return len(h.w.calls) == 1 && stateOf(h.w.calls[0].s) == stateActive })
			f.incoming("Bob Keller", "sip:bob@192.0.2.30")
			h.waitFor("prompt", func() bool { return len(h.w.incoming.showing()) == 1 })
		}},
		{"sharing", func(h *harness, f *fakeEngine) {
			a := f.incoming("Alice Martin", "sip:alice@192.0.2.20")
			f.establish(a)
			f.emit(callengine.EventScreenShareStarted, a, callengine.ScreenSharePayload{Monitor: "DP-1"})
			h.waitFor("banner", func() bool { return h.w.view.banner.visible() })
		}},
		{"picker", func(h *harness, f *fakeEngine) {
			a := f.incoming("Alice Martin", "sip:alice@192.0.2.20")
			f.establish(a)
			h.waitFor("active", func() bool { e := h.w.active(); return e != nil && stateOf(e.s) == stateActive })
			h.w.toggleShare()
			h.waitFor("thumbnails", func() bool {
				p := h.w.picker
				return p != nil && len(p.cards) == 2 && p.cards[1].thumb.Image != nil
			})
		}},
		// The picker's Windows tab: one card per top-level window.
		{"picker-windows", func(h *harness, f *fakeEngine) {
			a := f.incoming("Alice Martin", "sip:alice@192.0.2.20")
			f.establish(a)
			h.waitFor("active", func() bool { e := h.w.active(); return e != nil && stateOf(e.s) == stateActive })
			h.w.toggleShare()
			h.waitFor("picker", func() bool { return h.w.picker != nil && h.w.picker.tabs != nil })
			h.w.picker.tabs.SelectIndex(1)
			h.waitFor("window thumbnails", func() bool {
				p := h.w.picker
				return p != nil && len(p.winCards) == 4 && p.winCards[3].thumb.Image != nil
			})
		}},
		{"receiving", func(h *harness, f *fakeEngine) {
			a := f.incoming("Alice Martin", "sip:alice@192.0.2.20")
			f.establish(a)
			fr := &fakeFrames{}
			fr.put(testPicture(1280, 720, 1, 7))
			f.setVideo(a, fr)
			f.emit(callengine.EventVideoStream, a, callengine.TrackPayload{Kind: "video"})
			h.waitFor("frame", func() bool { return h.w.view.video.HasFrame() })
		}},
		// In a call with the keypad and the chat open and a quality reading.
		{"call-tools", func(h *harness, f *fakeEngine) {
			a := f.incoming("Alice Martin", "sip:alice@192.0.2.20")
			f.establish(a)
			f.emit(callengine.EventNetworkStats, a, callengine.NetworkStatsPayload{Stats: callengine.NetworkStats{Quality: "good", RTTMs: 38, JitterMs: 4}})
			f.emit(callengine.EventChat, a, callengine.ChatPayload{Content: "Can you press 2 for the support queue?"})
			h.waitFor("chat and quality", func() bool { e := h.w.active(); return e != nil && len(e.chat) == 1 && e.quality != nil })
			h.w.toggleKeypad()
			for _, k := range []string{"2", "1", "#"} {
				h.w.sendDTMF(k)
			}
			h.w.toggleChat()
			h.w.view.chat.entry.SetText("Done, thanks")
		}},
		// A three-way conference being recorded.
		{"conference", func(h *harness, f *fakeEngine) {
			a := f.incoming("Alice Martin", "sip:alice@192.0.2.20")
			f.establish(a)
			b := f.incoming("Bob Keller", "sip:bob@192.0.2.30")
			f.establish(b)
			h.waitFor("two calls", func() bool { return len(h.w.mergeable()) == 2 })
			h.w.setActive(a)
			h.w.toggleMerge()
			h.waitFor("merged", func() bool { e := h.w.active(); return e != nil && e.s.Conference })
			h.w.toggleRecord()
			h.waitFor("recording", func() bool { return h.w.view.conf.mark.Text != "" })
		}},
		// The transfer dialog over an active call.
		{"transfer-dialog", func(h *harness, f *fakeEngine) {
			a := f.incoming("Alice Martin", "sip:alice@192.0.2.20")
			f.establish(a)
			h.waitFor("active", func() bool { e := h.w.active(); return e != nil && stateOf(e.s) == stateActive })
			h.w.openTransfer()
			h.w.transferDlg.entry.SetText("sip:carol@192.0.2.40")
		}},
		// An attended transfer: the held call's view, target answered.
		{"transfer-attended", func(h *harness, f *fakeEngine) {
			a := f.incoming("Alice Martin", "sip:alice@192.0.2.20")
			f.establish(a)
			h.waitFor("active", func() bool { e := h.w.active(); return e != nil && stateOf(e.s) == stateActive })
			h.w.consultTransfer(a, "Carol Weber")
			h.waitFor("consultation", func() bool { return h.w.xfers[a] != "" && h.w.find(h.w.xfers[a]) != nil })
			f.establish(h.w.xfers[a])
			h.waitFor("consultation answered", func() bool { return stateOf(h.w.find(h.w.xfers[a]).s) == stateActive })
			h.w.setActive(a)
		}},
	}
	for _, variant := range []struct {
		name string
		v    fyne.ThemeVariant
	}{{"light", theme.VariantLight}, {"dark", theme.VariantDark}} {
		for _, sc := range scenes {
			t.Run(sc.name+"-"+variant.name, func(t *testing.T) {
				f := newFakeEngine()
				clock := &fakeClock{t: time.Now().Add(83 * time.Second)}
				h := newHarness(t, f, harnessOpts{theme: variantTheme{theme.DefaultTheme(), variant.v}, clock: clock})
				sc.setup(h, f)
				h.w.tick()
				h.settle()
				img := h.w.win.Canvas().Capture()
				checkNotBlank(t, img)
				writeScreenshot(t, filepath.Join(dir, sc.name+"-"+variant.name+".png"), img)
			})
		}
	}
}

// checkNotBlank fails on an image of one colour (nothing rendered).
func checkNotBlank(t *testing.T, img image.Image) {
	t.Helper()
	b := img.Bounds()
	if b.Dx() < 600 || b.Dy() < 400 {
		t.Fatalf("capture is only %v", b)
	}
	first := img.At(b.Min.X, b.Min.Y)
	for y := b.Min.Y; y < b.Max.Y; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			if img.At(x, y) != first {
				return
			}
		}
	}
	t.Fatal("capture is blank")
}
