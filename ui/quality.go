package ui

import (
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/parlo-voip/parlo/callengine"
	pwidget "github.com/parlo-voip/parlo/ui/internal/widget"
)

// qualityIndicator is the call-quality mark of the call view: a coloured
// dot and "Good", "Fair" or "Poor" from the engine's newest onNetworkStats
// grade, with round-trip time, loss and jitter in its tooltip. Hidden until
// the first sample.
type qualityIndicator struct {
	b     *pwidget.TipButton
	grade string // what it shows: good, fair, poor or ""
}

func newQualityIndicator() *qualityIndicator {
	q := &qualityIndicator{b: pwidget.NewTipButton("", nil, "", nil)}
	q.b.Importance = widget.LowImportance
	q.b.Hide()
	return q
}

func (q *qualityIndicator) object() fyne.CanvasObject { return q.b }

func (q *qualityIndicator) update(st *callengine.NetworkStats) {
	if st == nil {
		q.grade = ""
		q.b.Hide()
		return
	}
	q.grade = st.Quality
	var icon fyne.Resource
	switch st.Quality {
	case "good":
		icon = theme.NewSuccessThemedResource(theme.MediaRecordIcon())
	case "fair":
		icon = theme.NewWarningThemedResource(theme.MediaRecordIcon())
	default:
		q.grade = "poor"
		icon = theme.NewErrorThemedResource(theme.MediaRecordIcon())
	}
	label := map[string]string{"good": "Good", "fair": "Fair", "poor": "Poor"}[q.grade]
	q.b.SetIcon(icon)
	q.b.SetText(label)
	q.b.SetTip(qualityTip(label, st))
	q.b.Show()
}

// qualityTip is the indicator's tooltip: the numbers behind the grade.
func qualityTip(label string, st *callengine.NetworkStats) string {
	return fmt.Sprintf("Call quality: %s — round trip %.0f ms, packet loss %.1f %%, jitter %.0f ms, audio %.0f kbit/s in, %.0f kbit/s out",
		label, st.RTTMs, st.LossPercent, st.JitterMs, st.AudioInKbps, st.AudioOutKbps)
}
