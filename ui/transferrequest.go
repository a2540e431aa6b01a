package ui

import (
	"context"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/parlo-voip/parlo/callengine"
)

// TransferConsenter answers the far end's transfer requests (REFER): the
// engine asks before calling anyone on a peer's word.
type TransferConsenter interface {
	AcceptTransfer(ctx context.Context, callID string) error
	DeclineTransfer(ctx context.Context, callID string) error
}

// transferRequests are cards like the incoming-call prompts, one per call
// whose far end asks Parlo to call someone else, with Accept and Decline.
// The engine declines by itself if nobody answers, and says so with
// onTransferRequestEnded, which removes the card.
type transferRequests struct {
	promptCards[*transferCard]
	w *mainWindow
}

type transferCard struct {
	text    *widget.Label
	accept  *widget.Button
	decline *widget.Button
}

func newTransferRequests(w *mainWindow) *transferRequests {
	return &transferRequests{promptCards: newPromptCards[*transferCard](), w: w}
}

// apply follows the transfer-request events of call e.
func (p *transferRequests) apply(ev callengine.Event, e *callEntry) {
	switch ev.Name {
	case callengine.EventTransferRequested:
		if req, _ := ev.Payload.(callengine.TransferRequestedPayload); req.Pending {
			p.add(e, req.Target, req.ReferredBy)
		}
	case callengine.EventTransferRequestEnded:
		p.remove(e.id())
	}
	if stateOf(e.s) == stateEnded {
		p.remove(e.id())
	}
}

func (p *transferRequests) add(e *callEntry, target, referredBy string) {
	id := e.id()
	if p.has(id) {
		return
	}
	c := &transferCard{}
	msg := e.remoteName() + " asks to transfer you to " + target
	if referredBy != "" {
		msg += " (requested by " + referredBy + ")"
	}
	c.text = widget.NewLabel(msg)
	c.text.Wrapping = fyne.TextWrapWord
	c.accept = widget.NewButtonWithIcon("Accept", theme.ConfirmIcon(), func() { p.answer(id, true) })
	c.accept.Importance = widget.SuccessImportance
	c.decline = widget.NewButtonWithIcon("Decline", theme.CancelIcon(), func() { p.answer(id, false) })
	c.decline.Importance = widget.DangerImportance
	if p.w.ctl.consent == nil {
		c.accept.Disable()
		c.decline.Disable()
	}
	p.put(id, c, newPromptCard(theme.ColorNameWarning, theme.MailForwardIcon(), c.text, c.accept, c.decline))
	p.w.win.RequestFocus()
}

func (p *transferRequests) answer(id string, accept bool) {
	c := p.cards[id]
	if c == nil || p.w.ctl.consent == nil {
		return
	}
	c.accept.Disable()
	c.decline.Disable()
	label, f := "Declining transfer", p.w.ctl.consent.DeclineTransfer
	if accept {
		label, f = "Accepting transfer", p.w.ctl.consent.AcceptTransfer
	}
	p.w.run(label, actionTimeout, func(ctx context.Context) error { return f(ctx, id) })
}
