package ui

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

// Preference keys of the contacts panel's lamps.
const (
	prefWatched    = "lamps.watchedExtensions"
	prefVoicemail  = "lamps.voicemailNumber"
	prefPickupCode = "lamps.pickupCode"
)

// maxWatched bounds the watched extensions: each is two subscriptions.
const maxWatched = 64

// parseExtensions reads a list of extensions separated by commas, blanks
// or line breaks, without duplicates.
func parseExtensions(s string) []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\t' }) {
		if f = strings.TrimSpace(f); f != "" && !seen[f] && len(out) < maxWatched {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

func loadLampSettings(prefs fyne.Preferences, s *Settings) {
	s.WatchedExtensions = parseExtensions(prefs.String(prefWatched))
	s.VoicemailNumber = prefs.String(prefVoicemail)
	s.PickupCode = prefs.String(prefPickupCode)
}

func saveLampSettings(prefs fyne.Preferences, s Settings) {
	prefs.SetString(prefWatched, strings.Join(s.WatchedExtensions, ", "))
	prefs.SetString(prefVoicemail, s.VoicemailNumber)
	prefs.SetString(prefPickupCode, s.PickupCode)
}

// lampSettingsForm is the settings dialog's Contacts tab.
type lampSettingsForm struct {
	watched, voicemail, pickupCode *widget.Entry
}

func newLampSettingsForm(s Settings) *lampSettingsForm {
	f := &lampSettingsForm{watched: widget.NewEntry(), voicemail: widget.NewEntry(), pickupCode: widget.NewEntry()}
	f.watched.SetPlaceHolder("1002, 1003, bob")
	f.voicemail.SetPlaceHolder("*97")
	f.pickupCode.SetPlaceHolder("empty: directed pickup (INVITE with Replaces)")
	f.watched.SetText(strings.Join(s.WatchedExtensions, ", "))
	f.voicemail.SetText(s.VoicemailNumber)
	f.pickupCode.SetText(s.PickupCode)
	return f
}

func (f *lampSettingsForm) fill(s *Settings) {
	s.WatchedExtensions = parseExtensions(f.watched.Text)
	s.VoicemailNumber = strings.TrimSpace(f.voicemail.Text)
	s.PickupCode = strings.TrimSpace(f.pickupCode.Text)
}

func (f *lampSettingsForm) tab() *container.TabItem {
	return container.NewTabItem("Contacts", container.NewVScroll(widget.NewForm(
		widget.NewFormItem("Watched extensions", f.watched),
		widget.NewFormItem("Voicemail number", f.voicemail),
		widget.NewFormItem("Pickup code", f.pickupCode),
		note("Each watched extension shows a busy lamp (free, ringing, on the phone) and its presence in the Contacts panel, "+
			"through the account's server (SIP dialog and presence subscriptions). The pickup code, when your PBX has one, "+
			"is dialled followed by the extension."),
	)))
}
