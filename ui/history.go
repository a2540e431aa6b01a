package ui

import (
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/parlo-voip/parlo/internal/history"
)

// historyLimit bounds how many records the History view lists.
const historyLimit = 500

// historyWindow lists past calls, newest first, with a search field. Enter
// (in the field or the list) or a double-click calls the selected party
// back; ↑/↓ in the field move the selection.
type historyWindow struct {
	w       *mainWindow
	win     fyne.Window
	search  *historySearch
	list    *widget.List
	info    *widget.Label
	records []history.Record
	sel     int
}

// openHistory shows the History window (one at a time).
func (w *mainWindow) openHistory() {
	if w.history != nil {
		w.history.reload()
		w.history.win.Show()
		w.history.win.RequestFocus()
		return
	}
	h := &historyWindow{w: w, sel: -1}
	h.win = w.app.NewWindow("Parlo — Call history")
	h.win.SetIcon(Icon())
	h.search = newHistorySearch(h)
	h.search.SetPlaceHolder("Search name, number, outcome…")
	h.search.OnChanged = func(string) { h.reload() }
	h.search.OnSubmitted = func(string) { h.callBack(h.sel) }
	h.info = widget.NewLabel("")
	h.info.Importance = widget.LowImportance
	h.list = widget.NewList(
		func() int { return len(h.records) },
		func() fyne.CanvasObject { return newHistoryRow(h) },
		func(i widget.ListItemID, o fyne.CanvasObject) { o.(*historyRow).set(i, h.records[i]) },
	)
	h.list.OnSelected = func(i widget.ListItemID) { h.sel = i }
	callBtn := widget.NewButtonWithIcon("Call back", theme.MailForwardIcon(), func() { h.callBack(h.sel) })
	callBtn.Importance = widget.HighImportance
	h.win.SetContent(container.NewBorder(
		container.NewBorder(nil, nil, widget.NewIcon(theme.SearchIcon()), nil, h.search),
		container.NewBorder(nil, nil, nil, container.NewHBox(h.addContactButton(), callBtn), h.info), nil, nil, h.list))
	h.win.Resize(fyne.NewSize(620, 480))
	h.win.SetOnClosed(func() { w.history = nil })
	w.history = h
	h.reload()
	h.win.Show()
	h.win.Canvas().Focus(h.search)
}

// reload runs the search again (the store is local: fast enough for the
// UI goroutine).
func (h *historyWindow) reload() {
	st := h.w.opts.desktop.history
	if st == nil {
		h.records = nil
		h.info.SetText("Call history is not available (see the log).")
		h.list.Refresh()
		return
	}
	recs, err := st.Search(h.search.Text, historyLimit)
	if err != nil {
		h.info.SetText("Reading the history failed: " + err.Error())
	}
	h.records = recs
	switch {
	case err != nil:
	case len(recs) == 0 && h.search.Text != "":
		h.info.SetText("No call matches.")
	case len(recs) == 0:
		h.info.SetText("No calls yet.")
	default:
		h.info.SetText(fmt.Sprintf("%d calls — Enter or double-click calls back", len(recs)))
	}
	h.sel = -1
	h.list.UnselectAll()
	if len(recs) > 0 {
		h.selectRow(0)
	}
	h.list.Refresh()
}

func (h *historyWindow) selectRow(i int) {
	if i < 0 || i >= len(h.records) {
		return
	}
	h.sel = i
	h.list.Select(i)
	h.list.ScrollTo(i)
}

// callBack dials the party of record i from the main window.
func (h *historyWindow) callBack(i int) {
	if i < 0 || i >= len(h.records) {
		return
	}
	target := h.records[i].Remote
	if target == "" {
		return
	}
	h.w.dial.SetText(target)
	h.w.placeCall()
	h.w.showWindow()
}

// historySearch is the search field; ↑/↓ move through the results.
type historySearch struct {
	widget.Entry
	h *historyWindow
}

func newHistorySearch(h *historyWindow) *historySearch {
	e := &historySearch{h: h}
	e.ExtendBaseWidget(e)
	return e
}

func (e *historySearch) TypedKey(k *fyne.KeyEvent) {
	switch k.Name {
	case fyne.KeyDown:
		e.h.selectRow(e.h.sel + 1)
	case fyne.KeyUp:
		e.h.selectRow(e.h.sel - 1)
	default:
		e.Entry.TypedKey(k)
	}
}

// historyRow is one record; double-tap calls back.
type historyRow struct {
	widget.BaseWidget
	h      *historyWindow
	i      int
	icon   *widget.Icon
	name   *widget.Label
	detail *widget.Label
	when   *widget.Label
	root   fyne.CanvasObject
}

func newHistoryRow(h *historyWindow) *historyRow {
	r := &historyRow{h: h, icon: widget.NewIcon(theme.DownloadIcon()),
		name:   widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		detail: widget.NewLabel(""), when: widget.NewLabel("")}
	r.name.Truncation = fyne.TextTruncateEllipsis
	r.detail.Truncation = fyne.TextTruncateEllipsis
	r.detail.SizeName = theme.SizeNameCaptionText
	r.when.SizeName = theme.SizeNameCaptionText
	r.when.Alignment = fyne.TextAlignTrailing
	r.root = container.NewBorder(nil, nil, r.icon, r.when, container.New(&tightVBox{}, r.name, r.detail))
	r.ExtendBaseWidget(r)
	return r
}

func (r *historyRow) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(r.root) }

// Tapped selects the row (the list's own tap handling sits below us).
func (r *historyRow) Tapped(*fyne.PointEvent) { r.h.selectRow(r.i) }

// DoubleTapped calls back.
func (r *historyRow) DoubleTapped(*fyne.PointEvent) { r.h.callBack(r.i) }

func (r *historyRow) set(i int, rec history.Record) {
	r.i = i
	if rec.Direction == history.Outgoing {
		r.icon.SetResource(theme.UploadIcon())
	} else {
		r.icon.SetResource(theme.DownloadIcon())
	}
	name := rec.RemoteName
	if name == "" {
		name = rec.Remote
	}
	r.name.SetText(name)
	r.name.Importance = widget.MediumImportance
	if rec.Outcome == history.OutcomeMissed {
		r.name.Importance = widget.DangerImportance
	}
	r.detail.SetText(historyDetail(rec))
	r.when.SetText(rec.Start.Local().Format("Jan 2 15:04"))
}

// historyDetail is the second line: direction, outcome, reason, duration,
// sharing, and the address when a name is shown above it.
func historyDetail(rec history.Record) string {
	s := string(rec.Direction) + " · " + string(rec.Outcome)
	if rec.Reason != "" {
		s += " (" + rec.Reason + ")"
	}
	if rec.Outcome == history.OutcomeAnswered {
		s += " · " + formatDuration(rec.Duration.Round(time.Second))
	}
	if rec.Shared {
		s += " · shared screen"
	}
	if rec.RemoteName != "" && rec.Remote != "" {
		s += " · " + rec.Remote
	}
	return s
}
