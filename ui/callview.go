package ui

import (
	"image"
	"image/color"

	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	pwidget "github.com/parlo-voip/parlo/ui/internal/widget"
)

// framePeriod is how often the remote video is polled for a new frame when
// its source does not signal new frames (frameNotifier): about 30 fps.
const framePeriod = 33 * time.Millisecond

const shareUnavailable = "screen sharing not available"

// callView is the active call: remote party, state, duration, the sharing
// banner, the remote video and the call controls.
type callView struct {
	w *mainWindow

	name      *widget.Label
	detail    *widget.Label
	banner    *shareBanner
	video     *pwidget.VideoView
	videoSlot *fyne.Container
	mute      *pwidget.TipButton
	hold      *pwidget.TipButton
	share     *pwidget.TipButton
	fit       *pwidget.TipButton
	full      *pwidget.TipButton
	hangup    *pwidget.TipButton
	// Call control: the keypad (keypadBtn shows it; keys takes typed
	// digits), transfer, chat, the quality mark, the attended-transfer bar.
	keypadBtn  *pwidget.TipButton
	transfer   *pwidget.TipButton
	chatBtn    *pwidget.TipButton
	keypad     *fyne.Container
	keypadKeys []*widget.Button
	keypadBox  *fyne.Container
	keypadOpen bool
	dtmfLine   *widget.Label
	keys       *callKeys
	quality    *qualityIndicator
	levels     *callLevels
	xfer       *transferBanner
	conf       *conferenceControls
	chat       *chatPanel
	side       *fyne.Container
	callBox    fyne.CanvasObject
	idle       fyne.CanvasObject
	root       *fyne.Container

	// The frame poller of the shown call; owner: callView.
	videoCall string
	videoStop chan struct{}
	videoWG   sync.WaitGroup
	// videoFit is the view's size in device pixels (w<<32 | h) in fit
	// view, 0 at 1:1: the poller asks the receiver for frames that size.
	// videoRefetch makes it fetch the current frame again (the view's
	// mode or window changed while the picture stands still).
	videoFit     atomic.Uint64
	videoRefetch atomic.Bool
}

func newCallView(w *mainWindow) *callView {
	v := &callView{w: w}
	v.name = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	v.name.SizeName = theme.SizeNameSubHeadingText
	v.name.Truncation = fyne.TextTruncateEllipsis
	v.detail = widget.NewLabel("")
	v.detail.Truncation = fyne.TextTruncateEllipsis
	v.banner = newShareBanner(func() {
		if a := w.active(); a != nil {
			w.stopShare(a.id())
		}
	})
	v.video = pwidget.NewVideoView("No video")
	v.video.OnDoubleTapped = w.toggleFullscreen
	v.videoSlot = container.NewStack(v.video)

	v.mute = pwidget.NewTipButton("Mute", theme.VolumeMuteIcon(), "Mute microphone ("+shortcutLabel(actMute)+")", w.toggleMute)
	v.hold = pwidget.NewTipButton("Hold", theme.MediaPauseIcon(), "Hold ("+shortcutLabel(actHold)+")", w.toggleHold)
	v.share = pwidget.NewTipButton("Share screen", theme.ComputerIcon(), "Share a monitor ("+shortcutLabel(actShare)+")", w.toggleShare)
	v.fit = pwidget.NewTipButton("1:1", theme.ZoomInIcon(), "Show video at 1:1 ("+shortcutLabel(actFit)+")", w.toggleFit)
	v.full = pwidget.NewTipButton("", theme.ViewFullScreenIcon(), "Fullscreen video ("+shortcutLabel(actFullscreen)+", F11, double-click)", w.toggleFullscreen)
	v.hangup = pwidget.NewTipButton("Hang up", theme.CancelIcon(), "Hang up ("+shortcutLabel(actHangup)+")", w.hangup)
	v.hangup.Importance = widget.DangerImportance
	if w.sharer == nil {
		v.share.Disable()
		v.share.SetTip(shareUnavailable)
	}
	v.keypadBtn = pwidget.NewTipButton("Keypad", theme.GridIcon(), "Keypad: send tones (or type digits while the call has the keyboard)", w.toggleKeypad)
	v.transfer = pwidget.NewTipButton("Transfer", theme.MailReplyIcon(), "Transfer the call ("+shortcutLabel(actTransfer)+")", w.openTransfer)
	v.chatBtn = pwidget.NewTipButton("Chat", theme.MailComposeIcon(), "Chat in this call ("+shortcutLabel(actChat)+")", w.toggleChat)
	if w.ctl.dtmf == nil {
		v.keypadBtn.SetTip(dtmfUnavailable)
	}
	if w.ctl.xfer == nil {
		v.transfer.SetTip(transferUnavailable)
	}
	if w.ctl.chat == nil {
		v.chatBtn.SetTip(chatUnavailable)
	}
	row1 := container.NewHBox(v.mute, v.hold, v.keypadBtn, v.transfer, v.chatBtn, layout.NewSpacer(), v.hangup)
	v.conf = newConferenceControls(w)
	row2 := container.NewHBox(v.share, v.conf.merge, v.conf.record, v.conf.pause, layout.NewSpacer(), v.fit, v.full)
	controls := container.NewVBox(row1, row2)

	v.quality = newQualityIndicator()
	v.xfer = newTransferBanner(w)
	v.keypad, v.keypadKeys = newKeypad(w)
	v.dtmfLine = widget.NewLabel("")
	v.dtmfLine.Wrapping = fyne.TextWrapBreak
	v.keypadBox = container.NewVBox(v.keypad, v.dtmfLine)
	v.keypadBox.Hide()
	v.chat = newChatPanel(w)
	width := canvas.NewRectangle(color.Transparent)
	width.SetMinSize(fyne.NewSize(250, 0))
	v.side = container.NewStack(width, container.NewBorder(v.keypadBox, nil, nil, nil, v.chat.object()))
	v.side.Hide()

	var src LevelSource
	if ls, ok := w.opts.desktop.devices.(LevelSource); ok {
		src = ls
	}
	v.levels = newCallLevels(w, src)
	header := container.NewVBox(container.NewBorder(nil, nil, nil, container.NewHBox(v.conf.mark, v.quality.object()), v.name), v.detail, v.levels.object())
	v.callBox = container.NewBorder(
		container.NewVBox(header, v.banner.object(), v.xfer.object()),
		container.NewPadded(controls), nil, container.NewPadded(v.side),
		v.videoSlot)
	v.keys = newCallKeys(w, v.callBox)

	icon := canvas.NewImageFromResource(theme.MailForwardIcon())
	icon.FillMode = canvas.ImageFillContain
	icon.SetMinSize(fyne.NewSquareSize(48))
	hint := widget.NewLabelWithStyle("No active call", fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	sub := widget.NewLabel("Dial a number or SIP URI (" + shortcutLabel(actFocusDial) + "), then press Call (" + shortcutLabel(actCall) + ").")
	sub.Alignment = fyne.TextAlignCenter
	v.idle = container.NewCenter(container.NewVBox(container.NewCenter(icon), hint, sub))
	v.root = container.NewPadded(container.NewStack(v.keys, v.idle))
	return v
}

func (v *callView) object() fyne.CanvasObject { return v.root }

// update shows call e (nil: nothing active).
func (v *callView) update(e *callEntry) {
	if e == nil {
		v.keys.Hide()
		v.idle.Show()
		v.watchVideo("")
		v.levels.watch("")
		v.chat.update(nil)
		return
	}
	v.idle.Hide()
	v.keys.Show()
	st := stateOf(e.s)
	v.name.SetText(e.remoteName())
	parts := []string{}
	if n := e.remoteNumber(); n != "" {
		parts = append(parts, n)
	}
	parts = append(parts, e.direction(), st.String(), formatDuration(e.duration(v.w.opts.now())))
	if e.s.Muted {
		parts = append(parts, "muted")
	}
	if e.s.Conference {
		parts = append(parts, "in conference")
	}
	v.detail.SetText(strings.Join(parts, " · "))

	live := st != stateEnded && st != stateEnding
	established := st == stateActive || st == stateHeld
	setEnabled(v.hangup, live)
	setEnabled(v.mute, established)
	setEnabled(v.hold, established)
	if e.s.Muted {
		v.mute.SetText("Unmute")
		v.mute.SetIcon(theme.VolumeUpIcon())
		v.mute.SetTip("Unmute microphone (" + shortcutLabel(actMute) + ")")
	} else {
		v.mute.SetText("Mute")
		v.mute.SetIcon(theme.VolumeMuteIcon())
		v.mute.SetTip("Mute microphone (" + shortcutLabel(actMute) + ")")
	}
	if e.s.Paused {
		v.hold.SetText("Resume")
		v.hold.SetIcon(theme.MediaPlayIcon())
		v.hold.SetTip("Resume (" + shortcutLabel(actHold) + ")")
	} else {
		v.hold.SetText("Hold")
		v.hold.SetIcon(theme.MediaPauseIcon())
		v.hold.SetTip("Hold (" + shortcutLabel(actHold) + ")")
	}
	if v.w.sharer != nil {
		if e.sharing {
			v.share.SetText("Stop sharing")
			v.share.Importance = widget.DangerImportance
			v.share.SetTip("Stop sharing your screen (" + shortcutLabel(actShare) + ")")
			setEnabled(v.share, true)
		} else {
			v.share.SetText("Share screen")
			v.share.Importance = widget.MediumImportance
			v.share.SetTip("Share a monitor (" + shortcutLabel(actShare) + ")")
			setEnabled(v.share, st == stateActive)
		}
		v.share.Refresh()
	}
	v.banner.update(e)
	v.updateCallControl(e, st)
	v.conf.update(v.w, e, st)

	switch {
	case st == stateHeld:
		v.video.SetMessage("On hold")
	case st == stateRinging || st == stateCalling:
		v.video.SetMessage("Ringing…")
	case st == stateEnded:
		v.video.SetMessage("Call ended")
	case e.sharing:
		v.video.SetMessage("You are sharing your screen. " + e.remoteName() + " has not shared theirs.")
	default:
		v.video.SetMessage("No video. " + e.remoteName() + " can share a screen, and so can you.")
	}
	if live {
		v.watchVideo(e.id())
	} else {
		v.watchVideo("")
	}
	if established {
		v.levels.watch(e.id())
	} else {
		v.levels.watch("")
	}
	if v.video.Original() {
		v.fit.SetText("Fit")
		v.fit.SetIcon(theme.ZoomFitIcon())
		v.fit.SetTip("Fit video to the window (" + shortcutLabel(actFit) + ")")
	} else {
		v.fit.SetText("1:1")
		v.fit.SetIcon(theme.ZoomInIcon())
		v.fit.SetTip("Show video at 1:1 (" + shortcutLabel(actFit) + ")")
	}
	setEnabled(v.fit, v.video.HasFrame())
	setEnabled(v.full, v.video.HasFrame() || v.w.fullscreen)
}

// updateCallControl shows e's keypad, transfer, chat and quality state.
func (v *callView) updateCallControl(e *callEntry, st callState) {
	ctl := v.w.ctl
	setEnabled(v.keypadBtn, ctl.dtmf != nil && st == stateActive)
	for _, k := range v.keypadKeys {
		if ctl.dtmf != nil && st == stateActive {
			k.Enable()
		} else {
			k.Disable()
		}
	}
	_, _, inXfer := v.w.transferOf(e)
	setEnabled(v.transfer, ctl.xfer != nil && (st == stateActive || st == stateHeld) && !inXfer)
	setEnabled(v.chatBtn, ctl.chat != nil && (st == stateActive || st == stateHeld || len(e.chat) > 0))
	switch {
	case ctl.chat == nil:
	case v.chat.open:
		v.chatBtn.SetText("Hide chat")
	case e.unread > 0:
		v.chatBtn.SetText(fmt.Sprintf("Chat (%d)", e.unread))
	default:
		v.chatBtn.SetText("Chat")
	}
	v.keypadBtn.SetText(map[bool]string{true: "Hide keypad", false: "Keypad"}[v.keypadOpen])

	var dtmf []string
	if e.dtmfSent != "" {
		dtmf = append(dtmf, "Sent "+e.dtmfSent)
	}
	if e.dtmfReceived != "" {
		dtmf = append(dtmf, "Received "+e.dtmfReceived)
	}
	v.dtmfLine.SetText(strings.Join(dtmf, "\n"))
	if v.keypadOpen {
		v.keypadBox.Show()
	} else {
		v.keypadBox.Hide()
	}
	v.chat.update(e)
	if v.keypadOpen || v.chat.root.Visible() {
		v.side.Show()
	} else {
		v.side.Hide()
	}
	if st == stateActive || st == stateHeld {
		v.quality.update(e.quality)
	} else {
		v.quality.update(nil)
	}
	v.xfer.update(v.w, e)
}

func setEnabled(b *pwidget.TipButton, on bool) {
	if on {
		b.Enable()
	} else {
		b.Disable()
	}
}

// watchVideo shows callID's remote video (when the engine has one) as its
// frames arrive; "" stops watching.
func (v *callView) watchVideo(callID string) {
	if callID == v.videoCall {
		return
	}
	v.stopVideo()
	v.videoCall = callID
	v.video.SetFrame(nil)
	if callID == "" || v.w.video == nil {
		return
	}
	stop := make(chan struct{})
	v.videoStop = stop
	v.videoWG.Add(1)
	go func() { // owner: callView; ends on stopVideo
		defer v.videoWG.Done()
		// A frame source that signals new frames (the engine's) is read
		// at once: waiting for the next tick added 17 ms on average to
		// every change the far end shows. The tick stays for sources
		// without the signal and finds the receiver once it exists.
		t := time.NewTicker(framePeriod)
		defer t.Stop()
		var updated <-chan struct{}
		painted := make(chan struct{}, 1)
		var last uint64
		// At most one frame waits for the UI thread: fyne.Do queues
		// without bound, so a view that paints slower than frames arrive
		// would otherwise fall further behind (and hold every queued
		// frame in memory) for as long as the share lasts. Once it is
		// painted the newest frame is looked at again.
		var pending atomic.Bool
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			case <-updated:
			case <-painted:
			}
			if pending.Load() {
				continue
			}
			fs, ok := v.w.video(callID)
			if !ok || fs == nil {
				updated = nil
				continue
			}
			if n, ok := fs.(frameNotifier); ok {
				updated = n.Updated()
			}
			refetch := v.videoRefetch.Swap(false)
			var img image.Image
			var seq uint64
			if f, ok := fs.(frameFitter); ok {
				fit := v.videoFit.Load()
				img, seq = f.LatestFit(int(fit>>32), int(fit&0xffffffff))
			} else {
				img, seq = fs.Latest()
			}
			if img == nil || (seq == last && !refetch) {
				continue
			}
			last = seq
			pending.Store(true)
			v.w.opts.do(func() {
				defer func() {
					pending.Store(false)
					select {
					case painted <- struct{}{}:
					default:
					}
				}()
				if v.videoCall != callID {
					return
				}
				had := v.video.HasFrame()
				v.video.SetFrame(img)
				v.noteVideoSize()
				if !had {
					v.update(v.w.active())
				}
			})
		}
	}()
}

// stopVideo ends the frame poller.
func (v *callView) stopVideo() {
	if v.videoStop != nil {
		close(v.videoStop)
		v.videoStop = nil
	}
	v.videoCall = ""
	v.videoWG.Wait()
}

// noteVideoSize tells the frame poller the size the view shows frames at
// (UI thread). A change takes effect at once: the shown frame is fetched
// again at the new size.
func (v *callView) noteVideoSize() {
	var fit uint64
	if w, h := v.video.FitPixels(); w > 0 && h > 0 {
		fit = uint64(w)<<32 | uint64(h)
	}
	if v.videoFit.Swap(fit) != fit {
		v.videoRefetch.Store(true)
	}
}

func (v *callView) toggleFit() {
	v.video.SetOriginal(!v.video.Original())
	v.noteVideoSize()
	v.update(v.w.active())
}

// fullscreenContent moves the video out of the call view into a window
// filling container; restoreVideo puts it back.
func (v *callView) fullscreenContent() fyne.CanvasObject {
	v.videoSlot.Objects = nil
	v.videoSlot.Refresh()
	return container.NewStack(canvas.NewRectangle(theme.Color(theme.ColorNameBackground)), v.video)
}

func (v *callView) restoreVideo() {
	v.videoSlot.Objects = []fyne.CanvasObject{v.video}
	v.videoSlot.Refresh()
}
