package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/parlo-voip/parlo/internal/directory"
)

// ErrNoContacts means the local contacts file could not be opened (the
// log says why), so there is nothing to add to or edit.
var ErrNoContacts = errors.New("ui: contacts are not available (see the log)")

// Timing of search-as-you-type: a search starts once typing pauses, and
// a caller's name is wanted while the phone rings.
const (
	searchDebounce   = 250 * time.Millisecond
	maxShownResults  = 6
	callerNameBudget = 3 * time.Second
)

// directoryPanel is search-as-you-type under the dial field and the
// caller-name lookup of incoming calls. All its fields are touched on the
// UI goroutine only; searches and lookups run in goroutines owned by the
// main window (w.wg, w.ctx) and post their answers back through opts.do.
type directoryPanel struct {
	w   *mainWindow
	dir *directory.Directory // nil: no directory (the contacts file is unreadable)

	// parent is the container the results sit in, laid out again when
	// they change height.
	parent  fyne.CanvasObject
	box     *fyne.Container
	rows    *fyne.Container
	status  *widget.Label
	results []directory.Contact
	// selected is the highlighted result (arrow keys), -1 for none.
	selected int
	// gen numbers the searches; an answer for an older one is dropped.
	gen int
	// mu guards cancel and debounce, which the window's stop also reaches
	// from outside the UI goroutine.
	mu       sync.Mutex
	cancel   context.CancelFunc
	debounce *time.Timer
	// quiet suppresses the search while the dial field is set by Parlo.
	quiet bool
	// names are the looked-up names of incoming calls, by call ID.
	names map[string]directory.Contact
	// contacts is the open Contacts window, if any.
	contacts *contactsWindow
}

func newDirectoryPanel(w *mainWindow) *directoryPanel {
	p := &directoryPanel{w: w, selected: -1, names: map[string]directory.Contact{}}
	p.rows = container.NewVBox()
	p.status = widget.NewLabel("")
	p.status.Importance = widget.WarningImportance
	p.status.Wrapping = fyne.TextWrapWord
	p.status.Hide()
	p.box = container.NewVBox(p.rows, p.status)
	p.box.Hide()
	p.reload()
	return p
}

func (p *directoryPanel) object() fyne.CanvasObject { return p.box }

// reload (re)opens the directory from the saved settings; a problem is
// shown, and search goes on with what could be opened.
func (p *directoryPanel) reload() {
	s, err := LoadDirectorySettings(p.w.app.Preferences(), p.w.opts.secrets)
	if err != nil {
		p.w.log.Warn("directory passwords", "error", err)
	}
	cfg, err := s.Config(p.localPath())
	if err != nil {
		p.w.log.Warn("directory settings", "error", err)
		cfg.CardDAV, cfg.LDAP = directory.CardDAVOptions{}, directory.LDAPOptions{}
	}
	cfg.Logger = p.w.log
	dir, err := directory.Open(cfg)
	if err != nil {
		p.w.log.Warn("contacts not available", "error", err)
		return
	}
	p.dir = dir
}

// queryChanged is the dial field's OnChanged: it cancels the search under
// way and starts a new one once typing pauses.
func (p *directoryPanel) queryChanged(text string) {
	if p.quiet {
		return
	}
	p.gen++
	p.stopPending()
	q := strings.TrimSpace(text)
	if p.dir == nil || q == "" || strings.Contains(q, ":") || strings.Contains(q, "@") {
		p.show(directory.Result{}, "", true)
		return
	}
	gen := p.gen
	p.mu.Lock()
	p.debounce = time.AfterFunc(searchDebounce, func() {
		p.w.opts.do(func() { p.start(gen, q) })
	})
	p.mu.Unlock()
}

// stopPending stops the debounce timer and cancels the search under way.
func (p *directoryPanel) stopPending() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.debounce != nil {
		p.debounce.Stop()
	}
	if p.cancel != nil {
		p.cancel()
		p.cancel = nil
	}
}

// start runs search gen unless a newer one has begun.
func (p *directoryPanel) start(gen int, q string) {
	if gen != p.gen || p.w.ctx.Err() != nil {
		return
	}
	ctx, cancel := context.WithCancel(p.w.ctx)
	p.mu.Lock()
	p.cancel = cancel
	p.mu.Unlock()
	dir := p.dir
	p.w.wg.Add(1)
	go func() { // owner: mainWindow (w.wg); ends by the searcher's deadline or cancel
		defer p.w.wg.Done()
		defer cancel()
		// Local contacts (and fast servers) show at once; a slow server's
		// answer completes the list when it comes.
		res := dir.SearchEach(ctx, q, func(part directory.Result) {
			p.w.opts.do(func() {
				if gen == p.gen {
					p.show(part, q, false)
				}
			})
		})
		if ctx.Err() != nil {
			return // cancelled by the next keystroke or the window's end
		}
		p.w.opts.do(func() {
			if gen == p.gen {
				p.show(res, q, true)
			}
		})
	}()
}

// show lists the results (at most maxShownResults) and the failed sources;
// before the final answer (final false) other sources are still searching.
func (p *directoryPanel) show(res directory.Result, q string, final bool) {
	p.results = res.Contacts
	p.selected = -1
	p.rows.RemoveAll()
	for i, c := range res.Contacts {
		if i == maxShownResults {
			more := widget.NewLabel(fmt.Sprintf("%d more… type more of the name", len(res.Contacts)-maxShownResults))
			more.Importance = widget.LowImportance
			p.rows.Add(more)
			break
		}
		b := widget.NewButton(resultText(c), func() { p.call(i) })
		b.Alignment = widget.ButtonAlignLeading
		b.Importance = widget.LowImportance
		p.rows.Add(b)
	}
	if q != "" && len(res.Contacts) == 0 && (len(res.Errors) == 0 || !final) {
		text := "No contact matches " + q
		if !final {
			text = "Searching…"
		}
		none := widget.NewLabel(text)
		none.Importance = widget.LowImportance
		p.rows.Add(none)
	}
	var msgs []string
	for _, e := range res.Errors {
		msgs = append(msgs, e.Error())
	}
	p.status.SetText(strings.Join(msgs, "\n"))
	p.status.Hidden = len(msgs) == 0
	if len(p.rows.Objects) == 0 && len(msgs) == 0 {
		p.box.Hide()
	} else {
		p.box.Show()
	}
	p.box.Refresh()
	if p.parent != nil {
		p.parent.Refresh()
	}
}

// resultText is one result row: name, number and where it came from.
func resultText(c directory.Contact) string {
	s := c.Name
	if n := c.PrimaryNumber(); n != "" && n != c.Name {
		s += " · " + n
	}
	if c.Organization != "" {
		s += " · " + c.Organization
	}
	return s + "  (" + c.Source + ")"
}

// move highlights the next (+1) or previous (-1) result.
func (p *directoryPanel) move(d int) bool {
	n := min(len(p.results), maxShownResults)
	if !p.box.Visible() || n == 0 {
		return false
	}
	p.selected = (p.selected + d + n + 1) % (n + 1) // n: back to the field
	if p.selected == n {
		p.selected = -1
	}
	for i, o := range p.rows.Objects {
		if b, ok := o.(*widget.Button); ok {
			b.Importance = widget.LowImportance
			if i == p.selected {
				b.Importance = widget.HighImportance
			}
			b.Refresh()
		}
	}
	return true
}

// hide closes the results (Escape, or a call placed).
func (p *directoryPanel) hide() {
	p.gen++
	p.stopPending()
	p.show(directory.Result{}, "", true)
}

// call places a call to result i's first number.
func (p *directoryPanel) call(i int) {
	if i < 0 || i >= len(p.results) {
		return
	}
	n := p.results[i].PrimaryNumber()
	if n == "" {
		return
	}
	p.quiet = true
	p.w.dial.SetText(n)
	p.quiet = false
	p.hide()
	p.w.placeCall()
}

// selectedCall calls the highlighted result; false when none is.
func (p *directoryPanel) selectedCall() bool {
	if p.selected < 0 || !p.box.Visible() {
		return false
	}
	p.call(p.selected)
	return true
}

// rewrite applies the dialling rules to a target about to be called.
func (p *directoryPanel) rewrite(target string) string {
	if p.dir == nil {
		return target
	}
	return p.dir.Rewrite(target)
}

// lookupCaller names an incoming call from the directory: the local book
// answers at once, the servers within the searcher's lookup deadline, and
// the card changes when the name arrives.
func (p *directoryPanel) lookupCaller(id, number string) {
	if p.dir == nil || number == "" {
		return
	}
	dir := p.dir
	ctx, cancel := context.WithTimeout(p.w.ctx, callerNameBudget)
	p.w.wg.Add(1)
	go func() { // owner: mainWindow (w.wg); ends by its deadline
		defer p.w.wg.Done()
		defer cancel()
		c, err := dir.Lookup(ctx, number)
		if err != nil {
			return
		}
		p.w.opts.do(func() {
			p.names[id] = c
			if e := p.w.find(id); e != nil {
				e.dirName = c.Name
			}
			p.w.refresh()
		})
	}()
}

// callerName is the directory's name for call id, if it found one.
func (p *directoryPanel) callerName(id string) (directory.Contact, bool) {
	c, ok := p.names[id]
	return c, ok
}

// close stops the pending debounce timer and the search under way; the
// window's stop then awaits the search goroutine (w.wg).
func (p *directoryPanel) close() { p.stopPending() }

// forget drops what was looked up for a call that ended.
func (p *directoryPanel) forget(id string) { delete(p.names, id) }

// addContact asks for a name and keeps number in the local contacts:
// from the dial field, or from the call in view.
func (p *directoryPanel) addContact(name, number string) {
	p.addContactIn(p.w.win, name, number)
}

// addContactIn is addContact with its dialog over parent.
func (p *directoryPanel) addContactIn(parent fyne.Window, name, number string) {
	if p.dir == nil {
		p.w.action.fail(ErrNoContacts)
		return
	}
	if strings.TrimSpace(number) == "" {
		p.w.action.info("Type a number, or select a call, to add a contact")
		return
	}
	nameEntry := widget.NewEntry()
	nameEntry.SetText(name)
	numEntry := widget.NewEntry()
	numEntry.SetText(number)
	dialog.ShowForm("Add to contacts", "Add", "Cancel", []*widget.FormItem{
		widget.NewFormItem("Name", nameEntry), widget.NewFormItem("Number", numEntry),
	}, func(ok bool) {
		if !ok {
			return
		}
		c, err := p.dir.Local().AddNumber(strings.TrimSpace(nameEntry.Text), strings.TrimSpace(numEntry.Text))
		if err != nil {
			p.w.action.fail(fmt.Errorf("add contact: %w", err))
			return
		}
		p.w.action.info("Added " + c.Name + " to contacts")
	}, parent)
}
