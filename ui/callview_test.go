package ui

import (
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/parlo-voip/parlo/callengine"
)

func TestRemoteVideoShownWithPlaceholderFitAndFullscreen(t *testing.T) {
	h, f, id := activeFakeCall(t)
	if h.w.view.video.HasFrame() {
		t.Fatal("frame shown before any video")
	}
	frames := &fakeFrames{}
	f.setVideo(id, frames)
	f.emit(callengine.EventVideoStream, id, callengine.TrackPayload{Kind: "video"})
	h.settle()
	if h.w.view.video.HasFrame() {
		t.Fatal("frame shown while the source has none")
	}
	frames.put(testPicture(640, 360, 0, 1))
	h.waitFor("frame", func() bool { return h.w.view.video.HasFrame() })
	if rows := h.w.list.rowTexts(); rows[0][len(rows[0])-1] != "VIEWING" {
		t.Errorf("row %q lacks the VIEWING badge", rows[0])
	}
	test.Tap(h.w.view.fit)
	if !h.w.view.video.Original() || h.w.view.fit.Text != "Fit" {
		t.Errorf("1:1 toggle: original %v, button %q", h.w.view.video.Original(), h.w.view.fit.Text)
	}
	test.DoubleTap(h.w.view.video)
	if !h.w.win.FullScreen() || h.w.win.Content() == h.w.content {
		t.Fatal("double-click did not go fullscreen with the video alone")
	}
	test.DoubleTap(h.w.view.video)
	if h.w.win.FullScreen() || h.w.win.Content() != h.w.content || len(h.w.view.videoSlot.Objects) != 1 {
		t.Fatal("double-click again did not restore the window")
	}
	f.end(id)
	h.waitFor("placeholder after end", func() bool { return !h.w.view.video.HasFrame() })
}
