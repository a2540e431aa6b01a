package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/parlo-voip/parlo/callengine"
)

const (
	// monitorInterval is the onNetworkStats period of every active call:
	// often enough for the indicator to follow a degrading network, rare
	// enough to cost nothing.
	monitorInterval = 2 * time.Second
	// transferTimeout covers hold, REFER and the engine's own 30 s wait
	// for the transferee's final NOTIFY.
	transferTimeout = 45 * time.Second
	// dtmfTimeout bounds the sending of one key's tone.
	dtmfTimeout = 10 * time.Second
	// maxChatLines is how many chat messages a call keeps.
	maxChatLines = 200
	// maxDTMFShown is how many of the last sent/received tones the call
	// view shows.
	maxDTMFShown = 24
)

// The tooltips of call-control buttons the engine cannot serve.
const (
	dtmfUnavailable     = "keypad tones not available"
	transferUnavailable = "transfer not available"
	chatUnavailable     = "chat not available"
)

// callControl is what the window found the engine able to do beyond
// Engine; nil fields are missing abilities.
type callControl struct {
	dtmf    DTMFSender
	xfer    Transferer
	chat    Chatter
	monitor NetworkMonitor
	consent TransferConsenter
	conf    Conferencer
	rec     CallRecorder
}

func callControlOf(eng Engine) callControl {
	var c callControl
	c.dtmf, _ = eng.(DTMFSender)
	c.xfer, _ = eng.(Transferer)
	c.chat, _ = eng.(Chatter)
	c.monitor, _ = eng.(NetworkMonitor)
	c.consent, _ = eng.(TransferConsenter)
	c.conf, _ = eng.(Conferencer)
	c.rec, _ = eng.(CallRecorder)
	return c
}

// chatLine is one chat message of a call.
type chatLine struct {
	mine bool
	text string
	at   time.Time
}

// dtmfKey is one keypad press waiting to be sent.
type dtmfKey struct {
	callID string
	tone   string
}

// isDTMF reports whether r is a keypad tone (0-9 * # A-D).
func isDTMF(r rune) bool { return strings.ContainsRune("0123456789*#ABCDabcd", r) }

// startDTMFSender starts the goroutine that sends keypad presses one after
// another, so fast typing keeps its order on the wire.
func (w *mainWindow) startDTMFSender() {
	if w.ctl.dtmf == nil {
		return
	}
	w.dtmfQueue = make(chan dtmfKey, 64)
	q := w.dtmfQueue
	w.wg.Add(1)
	go func() { // owner: mainWindow; ends with w.ctx
		defer w.wg.Done()
		for {
			select {
			case <-w.ctx.Done():
				return
			case k := <-q:
				ctx, cancel := context.WithTimeout(w.ctx, dtmfTimeout)
				err := w.ctl.dtmf.SendDTMF(ctx, k.callID, k.tone)
				cancel()
				if err != nil && w.ctx.Err() == nil {
					w.opts.do(func() { w.action.fail(fmt.Errorf("keypad tone %s: %w", k.tone, err)) })
				}
			}
		}
	}()
}

// dtmfCall is the call keypad presses go to: the active call while it is
// established and not on hold.
func (w *mainWindow) dtmfCall() *callEntry {
	a := w.liveActive()
	if a == nil || stateOf(a.s) != stateActive {
		return nil
	}
	return a
}

// sendDTMF queues tone for the active call and shows it at once.
func (w *mainWindow) sendDTMF(tone string) {
	a := w.dtmfCall()
	if a == nil {
		return
	}
	if w.dtmfQueue == nil {
		w.action.info("Keypad tones are not available with this engine")
		return
	}
	tone = strings.ToUpper(tone)
	select {
	case w.dtmfQueue <- dtmfKey{callID: a.id(), tone: tone}:
		a.dtmfSent = lastRunes(a.dtmfSent+tone, maxDTMFShown)
		w.view.update(a)
	default:
		w.action.info("Keypad: too many tones waiting to be sent")
	}
}

func lastRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[len(r)-n:])
}

// applyCallControl updates e from a call-control event; part of apply.
func (w *mainWindow) applyCallControl(ev callengine.Event, e *callEntry) {
	w.xferRequests.apply(ev, e)
	w.applyRecording(ev)
	switch ev.Name {
	case callengine.EventDTMF:
		p, _ := ev.Payload.(callengine.DTMFPayload)
		e.dtmfReceived = lastRunes(e.dtmfReceived+p.Tone, maxDTMFShown)
	case callengine.EventChat:
		p, _ := ev.Payload.(callengine.ChatPayload)
		w.receiveChat(e, chatText(p.Content))
	case callengine.EventMessage:
		// A plain-text MESSAGE in the call is chat too (baresip, Linphone);
		// the Wazo envelope also raises onMessage, and is shown by its
		// phone/ON_CHAT instead.
		p, _ := ev.Payload.(callengine.MessagePayload)
		if strings.HasPrefix(strings.ToLower(p.ContentType), "text/plain") {
			w.receiveChat(e, p.Body)
		}
	case callengine.EventNetworkStats:
		if p, ok := ev.Payload.(callengine.NetworkStatsPayload); ok {
			e.quality = &p.Stats
		}
	}
	st := stateOf(e.s)
	// Monitor every call once it is up: the indicator has a reading by the
	// time the user looks, and switching calls shows the right one.
	if st == stateActive && !e.monitoring && w.ctl.monitor != nil {
		e.monitoring = true
		if err := w.ctl.monitor.StartNetworkMonitoring(e.id(), monitorInterval); err != nil {
			w.log.Warn("network monitoring", "call", e.id(), "error", err)
		}
	}
	if st == stateEnded {
		e.quality = nil
		for held, consult := range w.xfers {
			if held == e.id() || consult == e.id() {
				delete(w.xfers, held)
			}
		}
	}
}

// chatText is a chat content as text: the SDK sends a string, anything
// else is shown as its JSON.
func chatText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func (w *mainWindow) receiveChat(e *callEntry, text string) {
	if strings.TrimSpace(text) == "" {
		return
	}
	e.addChat(chatLine{text: text, at: w.opts.now()})
	if !w.view.chat.showing(e.id()) {
		e.unread++
		w.action.info(e.remoteName() + ": " + firstLine(text))
	}
}

func (e *callEntry) addChat(l chatLine) {
	e.chat = append(e.chat, l)
	if len(e.chat) > maxChatLines {
		e.chat = e.chat[len(e.chat)-maxChatLines:]
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// sendChat sends text in call id; the line shows once the peer took it.
func (w *mainWindow) sendChat(id, text string) {
	text = strings.TrimSpace(text)
	if text == "" || w.ctl.chat == nil {
		return
	}
	w.run("Sending chat message", actionTimeout, func(ctx context.Context) error {
		if err := w.ctl.chat.SendChat(ctx, id, text); err != nil {
			return err
		}
		w.opts.do(func() {
			if e := w.find(id); e != nil {
				e.addChat(chatLine{mine: true, text: text, at: w.opts.now()})
				w.refresh()
			}
		})
		return nil
	})
}

// toggleChat shows or hides the chat panel of the active call.
func (w *mainWindow) toggleChat() {
	a := w.liveActive()
	if a == nil {
		return
	}
	if w.ctl.chat == nil {
		w.action.info("Chat is not available with this engine")
		return
	}
	w.view.chat.toggle()
	if w.view.chat.open && strings.HasPrefix(w.action.text(), a.remoteName()+": ") {
		w.action.clear() // the new-message notice: now on screen anyway
	}
	w.refresh()
	if w.view.chat.open {
		w.win.Canvas().Focus(w.view.chat.entry)
	}
}

// toggleKeypad shows or hides the in-call keypad and gives the call view
// the keyboard, so typed digits become tones.
func (w *mainWindow) toggleKeypad() {
	w.view.keypadOpen = !w.view.keypadOpen
	w.refresh()
	if w.view.keypadOpen {
		w.win.Canvas().Focus(w.view.keys)
	}
}

// openTransfer asks where the active call goes.
func (w *mainWindow) openTransfer() {
	a := w.liveActive()
	if a == nil {
		return
	}
	if w.ctl.xfer == nil {
		w.action.info("Transfer is not available with this engine")
		return
	}
	if st := stateOf(a.s); st != stateActive && st != stateHeld {
		w.action.info("Transfer needs an answered call")
		return
	}
	if _, busy := w.xfers[a.id()]; busy {
		w.action.info("A transfer of this call is already under way")
		return
	}
	w.showTransferDialog(a)
}

// blindTransfer hands call id over to target without talking to them.
func (w *mainWindow) blindTransfer(id, name, target string) {
	w.run("Transferring "+name+" to "+target, transferTimeout, func(ctx context.Context) error {
		return w.ctl.xfer.Transfer(ctx, id, target)
	})
}

// consultTransfer holds call id and calls target; the consultation call
// becomes the active one, and both show Complete / Cancel.
func (w *mainWindow) consultTransfer(id, target string) {
	w.run("Calling "+target+" to consult", callTimeout, func(ctx context.Context) error {
		s, err := w.ctl.xfer.StartAttendedTransfer(ctx, id, target)
		if err != nil || s == nil {
			return err
		}
		w.opts.do(func() {
			w.xfers[id] = s.SipCallID
			if w.find(s.SipCallID) != nil {
				w.activeID = s.SipCallID
			} else {
				w.wantActive = s.SipCallID
			}
			w.refresh()
		})
		return nil
	})
}

// transferOf finds the attended transfer call e takes part in: the held
// call and the consultation call.
func (w *mainWindow) transferOf(e *callEntry) (held, consult string, ok bool) {
	if e == nil {
		return "", "", false
	}
	if c, ok := w.xfers[e.id()]; ok {
		return e.id(), c, true
	}
	for h, c := range w.xfers {
		if c == e.id() {
			return h, c, true
		}
	}
	return "", "", false
}

// completeTransfer hands the held party over to the consultation call.
func (w *mainWindow) completeTransfer() {
	held, consult, ok := w.transferOf(w.active())
	if !ok {
		return
	}
	w.run("Completing transfer", transferTimeout, func(ctx context.Context) error {
		return w.ctl.xfer.CompleteAttendedTransfer(ctx, held, consult)
	})
}

// cancelTransfer hangs up the consultation call and resumes the held one.
func (w *mainWindow) cancelTransfer() {
	held, consult, ok := w.transferOf(w.active())
	if !ok {
		return
	}
	delete(w.xfers, held)
	w.activeID = held
	w.refresh()
	w.run("Cancelling transfer", actionTimeout, func(ctx context.Context) error {
		return w.ctl.xfer.CancelAttendedTransfer(ctx, held, consult)
	})
}
