package ui

import (
	"image/color"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// levelPeriod is how often the call view reads the audio levels: 12.5 Hz,
// fast enough to follow syllables, slow enough that the UI goroutine does
// almost nothing (and nothing at all while the level does not move).
const levelPeriod = 80 * time.Millisecond

// levelSteps quantises a bar: a redraw happens only when the level moves
// by a step (2.5 % of the bar, 1.5 dB on the -60..0 dBFS scale).
const levelSteps = 40

// LevelSource is the audio stage's levels: the RMS (0..1) of the last
// microphone audio sent after processing, and of the last audio played
// (*audio.VoiceIO has both).
type LevelSource interface {
	MicLevel() float64
	SpeakerLevel() float64
}

// callLevels is the call view's level indicator: the microphone ("You")
// and the far end ("Them", what the speaker plays), each a thin bar.
type callLevels struct {
	w        *mainWindow
	src      LevelSource
	mic, far *levelBar
	root     *fyne.Container

	// The poller of the shown call; owner: callLevels.
	callID string
	stopC  chan struct{}
	wg     sync.WaitGroup
}

// newCallLevels makes the indicator; with no level source it stays hidden.
func newCallLevels(w *mainWindow, src LevelSource) *callLevels {
	l := &callLevels{w: w, src: src, mic: newLevelBar(), far: newLevelBar()}
	micIcon := widget.NewIcon(theme.MediaRecordIcon())
	farIcon := widget.NewIcon(theme.VolumeUpIcon())
	row := func(icon *widget.Icon, label string, bar *levelBar) fyne.CanvasObject {
		t := widget.NewLabel(label)
		t.SizeName = theme.SizeNameCaptionText
		left := container.NewHBox(container.NewCenter(container.NewGridWrap(fyne.NewSquareSize(16), icon)), t)
		return container.NewBorder(nil, nil, left, nil, container.NewVBox(layout.NewSpacer(), bar, layout.NewSpacer()))
	}
	l.root = container.NewGridWithColumns(2, row(micIcon, "You", l.mic), row(farIcon, "Them", l.far))
	l.root.Hide()
	return l
}

func (l *callLevels) object() fyne.CanvasObject { return l.root }

// watch shows and polls the levels while callID ("" for none) is the
// shown, established call.
func (l *callLevels) watch(callID string) {
	if l.src == nil || callID == l.callID {
		return
	}
	l.stop()
	l.callID = callID
	if callID == "" {
		l.root.Hide()
		return
	}
	l.mic.set(0)
	l.far.set(0)
	l.root.Show()
	stop := make(chan struct{})
	l.stopC = stop
	l.wg.Add(1)
	go func() { // owner: callLevels; ends on stop
		defer l.wg.Done()
		t := time.NewTicker(levelPeriod)
		defer t.Stop()
		lastMic, lastFar := -1, -1
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			mic := levelStep(l.src.MicLevel())
			far := levelStep(l.src.SpeakerLevel())
			if mic == lastMic && far == lastFar {
				continue
			}
			lastMic, lastFar = mic, far
			l.w.opts.do(func() {
				if l.callID != callID {
					return
				}
				l.mic.set(mic)
				l.far.set(far)
			})
		}
	}()
}

// stop ends the poller and waits for it.
func (l *callLevels) stop() {
	if l.stopC != nil {
		close(l.stopC)
		l.stopC = nil
	}
	l.callID = ""
	l.wg.Wait()
}

// levels returns the bars' steps (tests).
func (l *callLevels) levels() (mic, far int) { return l.mic.step, l.far.step }

// levelStep maps an RMS level to a bar step on the meter's dB scale.
func levelStep(rms float64) int { return int(meterValue(rms)*levelSteps + 0.5) }

// levelBar is a thin horizontal bar: green, amber near full scale.
type levelBar struct {
	widget.BaseWidget
	bg, fill *canvas.Rectangle
	step     int
}

func newLevelBar() *levelBar {
	b := &levelBar{
		bg:   canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground)),
		fill: canvas.NewRectangle(levelGreen),
	}
	b.bg.CornerRadius, b.fill.CornerRadius = 3, 3
	b.fill.Hide() // step 0
	b.ExtendBaseWidget(b)
	return b
}

var (
	levelGreen = color.NRGBA{R: 0x2E, G: 0x9D, B: 0x4F, A: 0xFF}
	levelAmber = color.NRGBA{R: 0xE0, G: 0x9A, B: 0x1B, A: 0xFF}
)

func (b *levelBar) set(step int) {
	if step == b.step {
		return
	}
	b.step = step
	b.Refresh()
}

func (b *levelBar) CreateRenderer() fyne.WidgetRenderer {
	return &levelBarRenderer{b: b}
}

type levelBarRenderer struct{ b *levelBar }

func (r *levelBarRenderer) Layout(size fyne.Size) {
	r.b.bg.Resize(size)
	r.b.bg.Move(fyne.NewPos(0, 0))
	w := size.Width * float32(r.b.step) / levelSteps
	r.b.fill.Resize(fyne.NewSize(w, size.Height))
	r.b.fill.Move(fyne.NewPos(0, 0))
}

func (r *levelBarRenderer) MinSize() fyne.Size { return fyne.NewSize(120, 8) }

func (r *levelBarRenderer) Refresh() {
	r.b.bg.FillColor = theme.Color(theme.ColorNameInputBackground)
	r.b.fill.FillColor = levelGreen
	if r.b.step > levelSteps*9/10 {
		r.b.fill.FillColor = levelAmber
	}
	// An empty bar draws no fill: the rounded corners would leave a
	// sliver that reads as a level.
	if r.b.step == 0 {
		r.b.fill.Hide()
	} else {
		r.b.fill.Show()
	}
	r.Layout(r.b.Size())
	canvas.Refresh(r.b.bg)
	canvas.Refresh(r.b.fill)
}

func (r *levelBarRenderer) Objects() []fyne.CanvasObject {
	return []fyne.CanvasObject{r.b.bg, r.b.fill}
}

func (r *levelBarRenderer) Destroy() {}
