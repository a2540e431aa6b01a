package ui

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/parlo-voip/parlo/capture"
)

// Thumbnail size and refresh period of the share picker: small and about
// once a second, which capture.Thumbnail is built for.
const (
	thumbW, thumbH = 256, 144
	thumbPeriod    = time.Second
)

// monitorChoice is the monitor the user picked.
type monitorChoice struct {
	Index int
	Name  string
	// SystemDialog: the system (the Wayland ScreenCast portal) shows its
	// own dialog to choose the screen once the share starts.
	SystemDialog bool
}

// WindowSharer is the window-sharing part of the engine (callengine.Phone
// has it). When the engine lacks it, the picker shows screens only.
type WindowSharer interface {
	Windows() ([]capture.Window, error)
	WindowThumbnail(windowID uint32, maxW, maxH int) (image.Image, error)
	StartWindowSharing(ctx context.Context, callID string, windowID uint32) error
}

// sharePicker is the dialog with a Screens tab (one card per monitor) and,
// when the engine shares windows, a Windows tab (one card per top-level
// window). Arrow keys move the selection in the open tab, Enter shares it,
// Escape cancels.
type sharePicker struct {
	w        *mainWindow
	callID   string
	dlg      *dialog.ConfirmDialog
	tabs     *container.AppTabs
	grid     *fyne.Container
	status   *widget.Label
	monitors []capture.Monitor
	cards    []*monitorCard
	selected int
	prevKey  func(*fyne.KeyEvent)
	closed   bool

	// The Windows tab (nil ws: no such tab).
	ws          WindowSharer
	winGrid     *fyne.Container
	winStatus   *widget.Label
	windows     []capture.Window
	winCards    []*monitorCard
	winSelected int

	stop chan struct{} // ends the thumbnail refreshers
}

// windowsTab reports whether the Windows tab is the one open.
func (p *sharePicker) windowsTab() bool {
	return p.ws != nil && p.tabs != nil && p.tabs.SelectedIndex() == 1
}

func (w *mainWindow) openPicker(callID string) {
	if w.picker != nil {
		return
	}
	p := &sharePicker{w: w, callID: callID, selected: -1, winSelected: -1, stop: make(chan struct{})}
	p.ws, _ = w.sharer.(WindowSharer)
	w.picker = p
	p.status = widget.NewLabel("Looking for monitors…")
	p.grid = container.NewHBox()
	hint := widget.NewLabel("Everything on the chosen monitor or window will be visible to the other party. ←/→ choose, Enter shares, Esc cancels.")
	hint.Wrapping = fyne.TextWrapWord
	screens := container.NewBorder(p.status, nil, nil, nil, container.NewHScroll(container.NewCenter(p.grid)))
	var body fyne.CanvasObject = screens
	if p.ws != nil {
		p.winStatus = widget.NewLabel("Looking for windows…")
		// Windows wrap in rows of three and scroll down: there are often
		// many.
		p.winGrid = container.NewGridWrap(fyne.NewSize(thumbW+2*theme.Padding(), thumbH+70))
		windows := container.NewBorder(p.winStatus, nil, nil, nil, container.NewVScroll(p.winGrid))
		p.tabs = container.NewAppTabs(
			container.NewTabItemWithIcon("Screens", theme.ComputerIcon(), screens),
			container.NewTabItemWithIcon("Windows", theme.ViewRestoreIcon(), windows))
		p.tabs.OnSelected = func(*container.TabItem) { p.refreshButtons() }
		body = p.tabs
	}
	content := container.NewBorder(hint, nil, nil, nil, body)
	p.dlg = dialog.NewCustomConfirm("Share your screen", "Share", "Cancel", content, func(ok bool) {
		if ok && (p.selected >= 0 || p.winSelected >= 0) {
			p.shareSelected()
			return
		}
		p.close()
	}, w.win)
	p.dlg.SetConfirmImportance(widget.DangerImportance)
	p.resize(2)
	p.prevKey = w.win.Canvas().OnTypedKey()
	w.win.Canvas().SetOnTypedKey(p.typedKey)
	p.dlg.Show()
	p.refreshButtons()

	w.wg.Add(1)
	go p.load() // owner: mainWindow (via the picker); ends on close or window stop
	if p.ws != nil {
		w.wg.Add(1)
		go p.loadWindows() // owner: as load
	}
}

// load lists the monitors, then refreshes their thumbnails until closed.
func (p *sharePicker) load() {
	defer p.w.wg.Done()
	mons, err := p.w.sharer.Monitors()
	p.w.opts.do(func() { p.setMonitors(mons, err) })
	if err != nil {
		return
	}
	t := time.NewTicker(thumbPeriod)
	defer t.Stop()
	for {
		thumbs := make([]image.Image, len(mons))
		for i, m := range mons {
			select {
			case <-p.stop:
				return
			case <-p.w.ctx.Done():
				return
			default:
			}
			img, err := p.w.sharer.Thumbnail(m.Index, thumbW, thumbH)
			if err == nil {
				thumbs[i] = img
			}
		}
		p.w.opts.do(func() { p.setThumbnails(thumbs) })
		select {
		case <-p.stop:
			return
		case <-p.w.ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (p *sharePicker) setMonitors(mons []capture.Monitor, err error) {
	if p.closed {
		return
	}
	if err != nil {
		p.status.SetText("Cannot list monitors: " + err.Error())
		return
	}
	if len(mons) == 0 {
		p.status.SetText("No monitor found to share.")
		return
	}
	p.status.SetText(fmt.Sprintf("%d monitor(s). Thumbnails refresh every second.", len(mons)))
	p.monitors = mons
	p.resize(len(mons))
	for i, m := range mons {
		c := newMonitorCard(m, func() { p.choose(i) }, func() { p.choose(i); p.shareSelected() })
		p.cards = append(p.cards, c)
		p.grid.Add(c)
	}
	// Preselect the primary monitor: the likeliest choice.
	sel := 0
	for i, m := range mons {
		if m.Primary {
			sel = i
			break
		}
	}
	p.choose(sel)
}

// resize fits the dialog to n cards (at most three side by side; more
// scroll).
func (p *sharePicker) resize(n int) {
	n = min(max(n, 2), 3)
	if p.ws != nil {
		// Room for three window cards a row and two rows, within the
		// main window's default size.
		n = 3
	}
	h := float32(thumbH + 300)
	if p.ws != nil {
		h = 2*(thumbH+70) + 220
	}
	p.dlg.Resize(fyne.NewSize(float32(n)*(thumbW+4*theme.Padding())+8*theme.Padding(), h))
}

func (p *sharePicker) setThumbnails(thumbs []image.Image) {
	if p.closed {
		return
	}
	for i, img := range thumbs {
		if i < len(p.cards) && img != nil {
			p.cards[i].setThumbnail(img)
		}
	}
}

func (p *sharePicker) choose(i int) {
	if i < 0 || i >= len(p.cards) {
		return
	}
	p.selected = i
	for j, c := range p.cards {
		c.setSelected(j == i)
	}
	p.refreshButtons()
}

func (p *sharePicker) refreshButtons() {
	switch {
	case p.windowsTab() && p.winSelected >= 0:
		p.dlg.SetConfirmText("Share window " + ellipsize(p.windows[p.winSelected].Title, 40))
	case !p.windowsTab() && p.selected >= 0:
		p.dlg.SetConfirmText("Share " + p.monitors[p.selected].Name)
	default:
		p.dlg.SetConfirmText("Share")
	}
}

// ellipsize cuts s to n runes with an ellipsis.
func ellipsize(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func (p *sharePicker) typedKey(e *fyne.KeyEvent) {
	if p.windowsTab() {
		switch e.Name {
		case fyne.KeyLeft, fyne.KeyUp:
			p.chooseWindow(max(p.winSelected-1, 0))
			return
		case fyne.KeyRight, fyne.KeyDown:
			p.chooseWindow(min(p.winSelected+1, len(p.winCards)-1))
			return
		}
	}
	switch e.Name {
	case fyne.KeyLeft, fyne.KeyUp:
		p.choose(max(p.selected-1, 0))
	case fyne.KeyRight, fyne.KeyDown:
		p.choose(min(p.selected+1, len(p.cards)-1))
	case fyne.KeyReturn, fyne.KeyEnter:
		p.shareSelected()
	case fyne.KeyEscape:
		p.dlg.Hide()
		p.close()
	}
}

// shareSelected asks the engine to share the chosen monitor. The sharing
// indicator waits for the engine's onScreenShareStarted.
func (p *sharePicker) shareSelected() {
	if p.closed {
		return
	}
	if p.windowsTab() {
		if p.winSelected < 0 {
			return
		}
		win := p.windows[p.winSelected]
		p.dlg.Hide()
		p.close()
		p.w.startWindowShare(p.callID, p.ws, win)
		return
	}
	if p.selected < 0 {
		return
	}
	m := p.monitors[p.selected]
	p.dlg.Hide()
	p.close()
	p.w.startShare(p.callID, monitorChoice{Index: m.Index, Name: m.Name, SystemDialog: m.Width == 0 || m.Height == 0})
}

func (p *sharePicker) close() {
	if p.closed {
		return
	}
	p.closed = true
	close(p.stop)
	p.w.win.Canvas().SetOnTypedKey(p.prevKey)
	if p.w.picker == p {
		p.w.picker = nil
	}
}

// monitorCard is one monitor in the picker: thumbnail, name, resolution and
// a primary marker; tap selects, double-tap shares.
type monitorCard struct {
	widget.BaseWidget
	bg       *canvas.Rectangle
	thumb    *canvas.Image
	name     *widget.Label
	info     *widget.Label
	onTap    func()
	onDouble func()
	selected bool
}

func newMonitorCard(m capture.Monitor, onTap, onDouble func()) *monitorCard {
	if m.Width == 0 || m.Height == 0 {
		// Wayland: the system's dialog shows the screens and asks.
		return newShareCard(m.Name, "the system asks which screen", onTap, onDouble)
	}
	info := fmt.Sprintf("%d × %d", m.Width, m.Height)
	if m.Primary {
		info += " · ★ primary"
	}
	return newShareCard(m.Name, info, onTap, onDouble)
}

// newShareCard is a picker card: thumbnail, name and a line of detail.
func newShareCard(name, info string, onTap, onDouble func()) *monitorCard {
	c := &monitorCard{onTap: onTap, onDouble: onDouble}
	c.bg = canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground))
	c.bg.CornerRadius = theme.InputRadiusSize()
	c.bg.StrokeWidth = 3
	c.thumb = canvas.NewImageFromImage(nil)
	c.thumb.FillMode = canvas.ImageFillContain
	c.thumb.SetMinSize(fyne.NewSize(thumbW, thumbH))
	c.name = widget.NewLabelWithStyle(name, fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	c.name.Truncation = fyne.TextTruncateEllipsis
	c.info = widget.NewLabelWithStyle(info, fyne.TextAlignCenter, fyne.TextStyle{})
	c.info.SizeName = theme.SizeNameCaptionText
	c.ExtendBaseWidget(c)
	return c
}

func (c *monitorCard) CreateRenderer() fyne.WidgetRenderer {
	thumbBG := canvas.NewRectangle(color.NRGBA{R: 0x11, G: 0x14, B: 0x18, A: 0xFF}) // letterbox, as the video area
	return widget.NewSimpleRenderer(container.NewStack(c.bg,
		container.NewPadded(container.NewBorder(
			container.NewStack(thumbBG, c.thumb), nil, nil, nil,
			container.New(&tightVBox{}, c.name, c.info)))))
}

func (c *monitorCard) setThumbnail(img image.Image) {
	c.thumb.Image = img
	c.thumb.Refresh()
}

func (c *monitorCard) setSelected(on bool) {
	c.selected = on
	if on {
		c.bg.StrokeColor = theme.Color(theme.ColorNamePrimary)
		c.bg.FillColor = withAlpha(theme.Color(theme.ColorNamePrimary), 0x30)
	} else {
		c.bg.StrokeColor = theme.Color(theme.ColorNameSeparator)
		c.bg.FillColor = theme.Color(theme.ColorNameInputBackground)
	}
	c.bg.Refresh()
}

// Tapped selects the card.
func (c *monitorCard) Tapped(*fyne.PointEvent) { c.onTap() }

// DoubleTapped shares the card's monitor.
func (c *monitorCard) DoubleTapped(*fyne.PointEvent) { c.onDouble() }

// loadWindows lists the windows, then refreshes their thumbnails until the
// picker closes; the list itself is read again every few seconds so that
// windows opened or closed meanwhile appear or go.
func (p *sharePicker) loadWindows() {
	defer p.w.wg.Done()
	t := time.NewTicker(thumbPeriod)
	defer t.Stop()
	var wins []capture.Window
	for round := 0; ; round++ {
		if round%windowListEvery == 0 {
			list, err := p.ws.Windows()
			wins = list
			p.w.opts.do(func() { p.setWindows(list, err) })
		}
		thumbs := make([]image.Image, len(wins))
		for i, win := range wins {
			select {
			case <-p.stop:
				return
			case <-p.w.ctx.Done():
				return
			default:
			}
			if img, err := p.ws.WindowThumbnail(win.ID, thumbW, thumbH); err == nil {
				thumbs[i] = img
			}
		}
		ids := make([]uint32, len(wins))
		for i, win := range wins {
			ids[i] = win.ID
		}
		p.w.opts.do(func() { p.setWindowThumbnails(ids, thumbs) })
		select {
		case <-p.stop:
			return
		case <-p.w.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// windowListEvery is how many thumbnail rounds pass between two readings
// of the window list.
const windowListEvery = 3

func (p *sharePicker) setWindows(wins []capture.Window, err error) {
	if p.closed {
		return
	}
	if err != nil {
		p.winStatus.SetText("Cannot list windows: " + err.Error())
		return
	}
	same := len(wins) == len(p.windows)
	for i := 0; same && i < len(wins); i++ {
		same = wins[i].ID == p.windows[i].ID && wins[i].Title == p.windows[i].Title
	}
	if same && p.winCards != nil {
		p.windows = wins
		return
	}
	var keep uint32
	if p.winSelected >= 0 && p.winSelected < len(p.windows) {
		keep = p.windows[p.winSelected].ID
	}
	p.windows, p.winCards, p.winSelected = wins, nil, -1
	p.winGrid.RemoveAll()
	if len(wins) == 0 {
		p.winStatus.SetText("No window found to share.")
		p.refreshButtons()
		return
	}
	p.winStatus.SetText(fmt.Sprintf("%d window(s). Thumbnails refresh every second.", len(wins)))
	for i, win := range wins {
		c := newShareCard(win.Title, fmt.Sprintf("%d × %d", win.Width, win.Height),
			func() { p.chooseWindow(i) }, func() { p.chooseWindow(i); p.shareSelected() })
		p.winCards = append(p.winCards, c)
		p.winGrid.Add(c)
		if win.ID == keep {
			p.winSelected = i
		}
	}
	if p.winSelected < 0 {
		p.winSelected = 0
	}
	p.chooseWindow(p.winSelected)
}

// setWindowThumbnails applies thumbnails taken of the windows ids (the list
// may have changed meanwhile: matched by id).
func (p *sharePicker) setWindowThumbnails(ids []uint32, thumbs []image.Image) {
	if p.closed {
		return
	}
	for i, id := range ids {
		for j, win := range p.windows {
			if win.ID == id && j < len(p.winCards) && thumbs[i] != nil {
				p.winCards[j].setThumbnail(thumbs[i])
			}
		}
	}
}

func (p *sharePicker) chooseWindow(i int) {
	if i < 0 || i >= len(p.winCards) {
		return
	}
	p.winSelected = i
	for j, c := range p.winCards {
		c.setSelected(j == i)
	}
	p.refreshButtons()
}

// startWindowShare asks the engine to share window win; as for a monitor,
// the indicator waits for onScreenShareStarted.
func (w *mainWindow) startWindowShare(callID string, ws WindowSharer, win capture.Window) {
	w.shareRequested[callID] = win.Title
	w.run("Starting screen share of "+win.Title, actionTimeout, func(ctx context.Context) error {
		return ws.StartWindowSharing(ctx, callID, win.ID)
	})
}
