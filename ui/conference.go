package ui

import (
	"context"
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"

	"github.com/parlo-voip/parlo/callengine"
	pwidget "github.com/parlo-voip/parlo/ui/internal/widget"
)

// Conferencer mixes established calls into a local conference and takes
// them out again.
type Conferencer interface {
	Merge(ctx context.Context, ids ...string) error
	Unmerge(ctx context.Context, id string, hold bool) error
}

// CallRecorder records calls into files.
type CallRecorder interface {
	StartRecording(id string, o callengine.RecordingOptions) (string, error)
	PauseRecording(id string) error
	ResumeRecording(id string) error
	StopRecording(id string) error
}

// The tooltips of the buttons the engine cannot serve.
const (
	mergeUnavailable  = "conference not available"
	recordUnavailable = "recording not available"
)

// conferenceControls are the call view's merge and record buttons and the
// recording mark in its header.
type conferenceControls struct {
	merge  *pwidget.TipButton
	record *pwidget.TipButton
	pause  *pwidget.TipButton
	mark   *canvas.Text
}

func newConferenceControls(w *mainWindow) *conferenceControls {
	c := &conferenceControls{
		merge:  pwidget.NewTipButton("Merge calls", theme.ContentAddIcon(), "Join the calls into a conference: everyone hears everyone", w.toggleMerge),
		record: pwidget.NewTipButton("Record", theme.MediaRecordIcon(), "Record this call (the folder is in Settings → Calls)", w.toggleRecord),
		pause:  pwidget.NewTipButton("Pause", theme.MediaPauseIcon(), "Pause the recording", w.toggleRecordPause),
		mark:   canvas.NewText("", color.NRGBA{R: 0xd3, G: 0x2f, B: 0x2f, A: 0xff}),
	}
	c.mark.TextStyle = fyne.TextStyle{Bold: true}
	if w.ctl.conf == nil {
		c.merge.SetTip(mergeUnavailable)
	}
	if w.ctl.rec == nil {
		c.record.SetTip(recordUnavailable)
	}
	c.pause.Hide()
	return c
}

// update shows e's conference and recording state.
func (c *conferenceControls) update(w *mainWindow, e *callEntry, st callState) {
	established := st == stateActive || st == stateHeld
	switch {
	case e.s.Conference:
		c.merge.SetText("Split")
		c.merge.SetIcon(theme.ContentRemoveIcon())
		c.merge.SetTip("Take " + e.remoteName() + " out of the conference and hold")
		setEnabled(c.merge, w.ctl.conf != nil && established)
	default:
		c.merge.SetText("Merge calls")
		c.merge.SetIcon(theme.ContentAddIcon())
		if w.ctl.conf != nil {
			c.merge.SetTip("Join the calls into a conference: everyone hears everyone")
		}
		setEnabled(c.merge, w.ctl.conf != nil && established && len(w.mergeable()) >= 2)
	}
	setEnabled(c.record, w.ctl.rec != nil && established)
	switch {
	case e.s.Recording:
		c.record.SetText("Stop recording")
		c.record.SetIcon(theme.MediaStopIcon())
		c.pause.Show()
		if e.s.RecordingPaused {
			c.pause.SetText("Resume recording")
			c.pause.SetIcon(theme.MediaRecordIcon())
			c.mark.Text = "REC paused"
		} else {
			c.pause.SetText("Pause")
			c.pause.SetIcon(theme.MediaPauseIcon())
			c.mark.Text = "● REC"
		}
	default:
		c.record.SetText("Record")
		c.record.SetIcon(theme.MediaRecordIcon())
		c.pause.Hide()
		c.mark.Text = ""
	}
	c.mark.Refresh()
}

// mergeable are the calls a merge joins: every answered call still up.
func (w *mainWindow) mergeable() []string {
	var ids []string
	for _, e := range w.calls {
		if st := stateOf(e.s); st == stateActive || st == stateHeld {
			ids = append(ids, e.id())
		}
	}
	return ids
}

// toggleMerge merges every answered call into the conference or, when the
// active call is in it, takes that call out (held).
func (w *mainWindow) toggleMerge() {
	a := w.liveActive()
	if a == nil || w.ctl.conf == nil {
		return
	}
	if a.s.Conference {
		id := a.id()
		w.run("Taking "+a.remoteName()+" out of the conference", actionTimeout, func(ctx context.Context) error {
			return w.ctl.conf.Unmerge(ctx, id, true)
		})
		return
	}
	ids := w.mergeable()
	if len(ids) < 2 {
		w.action.info("A conference needs two answered calls")
		return
	}
	w.run("Merging calls", actionTimeout, func(ctx context.Context) error {
		return w.ctl.conf.Merge(ctx, ids...)
	})
}

// toggleRecord starts or stops recording the active call.
func (w *mainWindow) toggleRecord() {
	a := w.liveActive()
	if a == nil || w.ctl.rec == nil {
		return
	}
	id := a.id()
	if a.s.Recording {
		if err := w.ctl.rec.StopRecording(id); err != nil {
			w.action.fail(err)
		}
		return
	}
	s, _ := LoadSettings(w.app.Preferences(), nil)
	path, err := w.ctl.rec.StartRecording(id, callengine.RecordingOptions{Dir: s.RecordingsFolder()})
	if err != nil {
		w.action.fail(err)
		return
	}
	w.action.info("Recording to " + path)
}

// toggleRecordPause pauses or resumes the active call's recording.
func (w *mainWindow) toggleRecordPause() {
	a := w.liveActive()
	if a == nil || w.ctl.rec == nil || !a.s.Recording {
		return
	}
	var err error
	if a.s.RecordingPaused {
		err = w.ctl.rec.ResumeRecording(a.id())
	} else {
		err = w.ctl.rec.PauseRecording(a.id())
	}
	if err != nil {
		w.action.fail(err)
	}
}

// applyRecording tells where a finished recording went, or why it is
// incomplete.
func (w *mainWindow) applyRecording(ev callengine.Event) {
	if ev.Name != callengine.EventRecordingStopped {
		return
	}
	p, ok := ev.Payload.(callengine.RecordingPayload)
	if !ok {
		return
	}
	if p.Error != "" {
		w.action.info("Recording " + p.Path + " is incomplete: " + p.Error)
		return
	}
	w.action.info("Recording saved to " + p.Path)
}
