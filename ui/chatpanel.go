package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// chatPanel is the chat of the active call, at the right of the call view:
// the call's messages (phone/ON_CHAT, and plain-text MESSAGEs) and a field
// to send one (SendChat). Each call keeps its own messages; the panel shows
// those of the call on screen.
type chatPanel struct {
	w      *mainWindow
	open   bool
	callID string // whose messages are shown
	shown  int    // how many of them are drawn

	title  *widget.Label
	lines  *fyne.Container
	scroll *container.Scroll
	entry  *chatEntry
	send   *widget.Button
	root   *fyne.Container
}

func newChatPanel(w *mainWindow) *chatPanel {
	p := &chatPanel{w: w}
	p.title = widget.NewLabelWithStyle("Chat", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	p.title.Truncation = fyne.TextTruncateEllipsis
	closeBtn := widget.NewButtonWithIcon("", theme.WindowCloseIcon(), w.toggleChat)
	closeBtn.Importance = widget.LowImportance
	p.lines = container.NewVBox()
	p.scroll = container.NewVScroll(p.lines)
	p.entry = newChatEntry(w)
	p.entry.SetPlaceHolder("Message")
	p.entry.OnSubmitted = func(string) { p.submit() }
	p.send = widget.NewButtonWithIcon("", theme.MailSendIcon(), p.submit)
	p.root = container.NewBorder(
		container.NewBorder(nil, nil, nil, closeBtn, p.title),
		container.NewBorder(nil, nil, nil, p.send, p.entry),
		nil, nil, p.scroll)
	p.root.Hide()
	return p
}

func (p *chatPanel) object() fyne.CanvasObject { return p.root }

func (p *chatPanel) toggle() { p.open = !p.open }

// showing reports whether the panel is on screen with call id's messages.
func (p *chatPanel) showing(id string) bool {
	return p.open && p.root.Visible() && p.callID == id
}

func (p *chatPanel) submit() {
	if p.callID == "" {
		return
	}
	text := p.entry.Text
	p.entry.SetText("")
	p.w.sendChat(p.callID, text)
}

// update shows e's chat (nil or a call that is over hides the panel).
func (p *chatPanel) update(e *callEntry) {
	if !p.open || e == nil || p.w.ctl.chat == nil {
		p.root.Hide()
		return
	}
	if e.id() != p.callID {
		p.callID = e.id()
		p.shown = 0
		p.lines.RemoveAll()
	}
	p.title.SetText("Chat with " + e.remoteName())
	live := stateOf(e.s) == stateActive || stateOf(e.s) == stateHeld
	if live {
		p.entry.Enable()
		p.send.Enable()
	} else {
		p.entry.Disable()
		p.send.Disable()
	}
	if p.shown > len(e.chat) { // trimmed to maxChatLines: redraw
		p.shown = 0
		p.lines.RemoveAll()
	}
	added := p.shown < len(e.chat)
	for _, l := range e.chat[p.shown:] {
		p.lines.Add(p.lineObject(e, l))
	}
	p.shown = len(e.chat)
	e.unread = 0
	p.root.Show()
	if added {
		p.scroll.ScrollToBottom()
	}
}

func (p *chatPanel) lineObject(e *callEntry, l chatLine) fyne.CanvasObject {
	who := e.remoteName()
	if l.mine {
		who = "You"
	}
	head := widget.NewLabelWithStyle(who+" · "+l.at.Format("15:04"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	head.SizeName = theme.SizeNameCaptionText
	body := widget.NewLabel(l.text)
	body.Wrapping = fyne.TextWrapWord
	return container.NewVBox(head, body)
}

// texts is the shown messages as "who: text" (tests).
func (p *chatPanel) texts() []string {
	var out []string
	for _, o := range p.lines.Objects {
		box := o.(*fyne.Container)
		head := box.Objects[0].(*widget.Label).Text
		who := head
		if i := len(head) - len(" · 15:04"); i > 0 {
			who = head[:i]
		}
		out = append(out, who+": "+box.Objects[1].(*widget.Label).Text)
	}
	return out
}

// chatEntry is the chat field; like the dial field it hands Parlo's
// shortcuts on to the window, since a focused Entry swallows them.
type chatEntry struct {
	widget.Entry
	w *mainWindow
}

func newChatEntry(w *mainWindow) *chatEntry {
	e := &chatEntry{w: w}
	e.ExtendBaseWidget(e)
	return e
}

func (e *chatEntry) TypedShortcut(s fyne.Shortcut) {
	if e.w.shortcuts != nil && e.w.shortcuts.trigger(s) {
		return
	}
	e.Entry.TypedShortcut(s)
}
