package ui

import (
	"context"
	"fmt"
	"image"
	"testing"

	"fyne.io/fyne/v2"

	"github.com/parlo-voip/parlo/capture"
)

// fakeWindows are the fake engine's shareable windows.
var fakeWindows = []capture.Window{
	{ID: 0x1200007, Title: "notes.txt — Text Editor", X: 80, Y: 60, Width: 1100, Height: 760},
	{ID: 0x1400003, Title: "Terminal — ~/src/parlo", X: 300, Y: 200, Width: 960, Height: 600},
	{ID: 0x1600012, Title: "Quarterly report.pdf — Document Viewer", X: 0, Y: 0, Width: 1280, Height: 1000},
	{ID: 0x1800001, Title: "Calculator", X: 1500, Y: 400, Width: 360, Height: 520},
}

func (f *fakeEngine) Windows() ([]capture.Window, error) {
	return append([]capture.Window(nil), fakeWindows...), nil
}

func (f *fakeEngine) WindowThumbnail(id uint32, maxW, maxH int) (image.Image, error) {
	for i, w := range fakeWindows {
		if w.ID == id {
			// Keep the window's aspect, as capture.WindowThumbnail does.
			tw, th := maxW, maxW*w.Height/w.Width
			if th > maxH {
				tw, th = maxH*w.Width/w.Height, maxH
			}
			return testPicture(tw, th, i+2, 1), nil
		}
	}
	return nil, fmt.Errorf("%w: no window %#x", capture.ErrWindowGone, id)
}

func (f *fakeEngine) StartWindowSharing(_ context.Context, id string, windowID uint32) error {
	f.record("StartWindowSharing %s %#x", id, windowID)
	return nil
}

func TestPickerWindowsTabSharesAWindow(t *testing.T) {
	h, f, id := activeFakeCall(t)
	h.w.toggleShare()
	p := h.w.picker
	if p == nil || p.tabs == nil {
		t.Fatal("picker without Screens/Windows tabs for an engine that shares windows")
	}
	if p.windowsTab() {
		t.Error("the picker opened on the Windows tab; Screens comes first")
	}
	p.tabs.SelectIndex(1)
	h.waitFor("window cards with thumbnails", func() bool {
		if len(p.winCards) != len(fakeWindows) {
			return false
		}
		for _, c := range p.winCards {
			if c.thumb.Image == nil {
				return false
			}
		}
		return true
	})
	if got := p.winCards[1].name.Text; got != fakeWindows[1].Title {
		t.Errorf("card 1 title %q", got)
	}
	if got := p.winCards[3].info.Text; got != "360 × 520" {
		t.Errorf("card 3 info %q", got)
	}
	c := h.w.win.Canvas()
	c.OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyRight})
	c.OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyRight})
	if p.winSelected != 2 {
		t.Fatalf("two Right arrows: window %d selected, want 2", p.winSelected)
	}
	c.OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyReturn})
	want := fmt.Sprintf("StartWindowSharing %s %#x", id, fakeWindows[2].ID)
	h.waitFor(want, func() bool { return f.has(want) })
	if f.has("StartScreenSharing " + id + " 0") {
		t.Error("Enter on the Windows tab shared a monitor")
	}
	if h.w.picker != nil {
		t.Error("picker still open after Enter")
	}
}
