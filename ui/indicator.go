package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// shareBanner is the red "Sharing <monitor> — Stop" bar of the call view.
// It shows only while the call's entry says sharing, which only the
// engine's onScreenShareStarted sets and onScreenShareEnded/Ending clear:
// it cannot claim a share the engine does not run, nor hide one it does.
type shareBanner struct {
	text *canvas.Text
	stop *widget.Button
	root *fyne.Container
}

func newShareBanner(onStop func()) *shareBanner {
	b := &shareBanner{}
	bg := canvas.NewRectangle(sharingRed)
	bg.CornerRadius = theme.InputRadiusSize()
	dot := canvas.NewCircle(color.White)
	b.text = canvas.NewText("", color.White)
	b.text.TextStyle = fyne.TextStyle{Bold: true}
	b.stop = widget.NewButtonWithIcon("Stop", theme.MediaStopIcon(), onStop)
	left := container.NewHBox(container.NewCenter(container.NewGridWrap(fyne.NewSquareSize(10), dot)), container.NewCenter(b.text))
	b.root = container.NewStack(bg, container.NewPadded(container.NewBorder(nil, nil, left, b.stop)))
	b.root.Hide()
	return b
}

func (b *shareBanner) object() fyne.CanvasObject { return b.root }

func (b *shareBanner) update(e *callEntry) {
	if e == nil || !e.sharing {
		b.root.Hide()
		return
	}
	b.text.Text = "Sharing " + monitorLabel(e.shareMonitor) + " — " + e.remoteName() + " sees it"
	b.text.Refresh()
	b.root.Show()
}

// visible reports whether the banner shows (tests).
func (b *shareBanner) visible() bool { return b.root.Visible() }

func monitorLabel(name string) string {
	if name == "" {
		return "your screen"
	}
	return name
}

// sharingTitle prefixes the window title while a share runs, so the state
// shows in the task bar even when the window is covered.
func sharingTitle(sharing *callEntry, title string) string {
	if sharing == nil {
		return title
	}
	return "● Sharing " + monitorLabel(sharing.shareMonitor) + " — " + title
}
