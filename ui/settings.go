package ui

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/parlo-voip/parlo/callengine"
)

// Preference keys. Everything but the password lives in Fyne preferences.
const (
	prefAccountURI   = "account.uri"
	prefUsername     = "account.username"
	prefRegistrar    = "account.registrar"
	prefTransport    = "account.transport"
	prefCAFile       = "account.caFile"
	prefAudioIn      = "audio.input"
	prefAudioOut     = "audio.output"
	prefShareFPS     = "share.fps"
	prefShareQuality = "share.quality"
	prefDND          = "calls.doNotDisturb"
	prefAutoAnswer   = "calls.autoAnswer"
	prefAnswerMode   = "calls.honourAnswerMode"
	prefCloseToTray  = "window.closeToTray"
)

// Choices offered by the settings dialog.
var (
	transportChoices = []string{"udp", "tcp", "tls", "ws", "wss"}
	fpsChoices       = []string{"5", "10", "15", "30"}
	qualityChoices   = []string{"low", "balanced", "high"}
)

// defaultDevice is the audio device choice meaning "the system's default".
const defaultDevice = "System default"

// Settings are the user's settings. Password is not persisted with the
// rest: it goes to the SecretStore.
type Settings struct {
	AccountURI   string
	Username     string
	Password     string
	Registrar    string
	Transport    string
	CAFile       string
	AudioIn      string
	AudioOut     string
	ShareFPS     int
	ShareQuality string
	// DoNotDisturb answers incoming calls 486 Busy Here.
	DoNotDisturb bool
	// AutoAnswer accepts every incoming call; HonourAnswerMode accepts one
	// that asks with "Answer-Mode: Auto" (RFC 5373). Both off by default:
	// they let a caller open the microphone.
	AutoAnswer       bool
	HonourAnswerMode bool
	// CloseToTray hides the window to the tray instead of quitting.
	CloseToTray bool
}

// LoadSettings reads the settings from prefs and the password from secrets
// (nil secrets: no password). A secret-store error is returned with the
// rest of the settings filled in.
func LoadSettings(prefs fyne.Preferences, secrets SecretStore) (Settings, error) {
	s := Settings{
		AccountURI:   prefs.String(prefAccountURI),
		Username:     prefs.String(prefUsername),
		Registrar:    prefs.String(prefRegistrar),
		Transport:    prefs.StringWithFallback(prefTransport, "udp"),
		CAFile:       prefs.String(prefCAFile),
		AudioIn:      prefs.StringWithFallback(prefAudioIn, defaultDevice),
		AudioOut:     prefs.StringWithFallback(prefAudioOut, defaultDevice),
		ShareFPS:     prefs.IntWithFallback(prefShareFPS, 15),
		ShareQuality: prefs.StringWithFallback(prefShareQuality, "balanced"),

		DoNotDisturb:     prefs.Bool(prefDND),
		AutoAnswer:       prefs.Bool(prefAutoAnswer),
		HonourAnswerMode: prefs.Bool(prefAnswerMode),
		CloseToTray:      prefs.BoolWithFallback(prefCloseToTray, true),
	}
	if secrets == nil || s.AccountURI == "" {
		return s, nil
	}
	pw, err := secrets.Get(s.AccountURI)
	s.Password = pw
	return s, err
}

// Save writes the settings to prefs and the password to secrets. The
// preferences are saved even when the secret store fails.
func (s Settings) Save(prefs fyne.Preferences, secrets SecretStore) error {
	prefs.SetString(prefAccountURI, s.AccountURI)
	prefs.SetString(prefUsername, s.Username)
	prefs.SetString(prefRegistrar, s.Registrar)
	prefs.SetString(prefTransport, s.Transport)
	prefs.SetString(prefCAFile, s.CAFile)
	prefs.SetString(prefAudioIn, s.AudioIn)
	prefs.SetString(prefAudioOut, s.AudioOut)
	prefs.SetInt(prefShareFPS, s.ShareFPS)
	prefs.SetString(prefShareQuality, s.ShareQuality)
	prefs.SetBool(prefDND, s.DoNotDisturb)
	prefs.SetBool(prefAutoAnswer, s.AutoAnswer)
	prefs.SetBool(prefAnswerMode, s.HonourAnswerMode)
	prefs.SetBool(prefCloseToTray, s.CloseToTray)
	if s.AccountURI == "" || secrets == nil {
		return nil
	}
	if s.Password == "" {
		return secrets.Delete(s.AccountURI)
	}
	return secrets.Set(s.AccountURI, s.Password)
}

// Account is the engine account of these settings; nil in direct mode (no
// SIP URI).
func (s Settings) Account() *callengine.Account {
	if s.AccountURI == "" {
		return nil
	}
	return &callengine.Account{
		URI: s.AccountURI, Username: s.Username, Password: s.Password,
		Registrar: s.Registrar, Transport: s.Transport, CAFile: s.CAFile,
	}
}

// validate checks what the dialog can check without the network.
func (s Settings) validate() error {
	if s.AccountURI != "" && !strings.HasPrefix(s.AccountURI, "sip:") && !strings.HasPrefix(s.AccountURI, "sips:") {
		return errors.New("the SIP URI must start with sip: or sips:, e.g. sip:alice@example.com")
	}
	if s.AccountURI != "" && !strings.Contains(s.AccountURI, "@") {
		return errors.New("the SIP URI needs user@domain")
	}
	return nil
}

// settingsForm is the settings dialog's fields.
type settingsForm struct {
	uri, user, pass, registrar, caFile *widget.Entry
	transport, audioIn, audioOut       *widget.SelectEntry
	fps, quality                       *widget.Select
	dnd, autoAnswer, answerMode, tray  *widget.Check
	logPath                            string
}

func newSettingsForm(s Settings) *settingsForm {
	f := &settingsForm{
		uri: widget.NewEntry(), user: widget.NewEntry(), pass: widget.NewPasswordEntry(),
		registrar: widget.NewEntry(), caFile: widget.NewEntry(),
		transport:  widget.NewSelectEntry(transportChoices),
		audioIn:    widget.NewSelectEntry([]string{defaultDevice}),
		audioOut:   widget.NewSelectEntry([]string{defaultDevice}),
		fps:        widget.NewSelect(fpsChoices, nil),
		quality:    widget.NewSelect(qualityChoices, nil),
		dnd:        widget.NewCheck("Do not disturb (incoming calls get busy)", nil),
		autoAnswer: widget.NewCheck("Answer every incoming call at once", nil),
		answerMode: widget.NewCheck(`Answer at once when the caller asks ("Answer-Mode: Auto", e.g. intercom)`, nil),
		tray:       widget.NewCheck("Closing the window keeps Parlo running in the tray", nil),
	}
	f.dnd.SetChecked(s.DoNotDisturb)
	f.autoAnswer.SetChecked(s.AutoAnswer)
	f.answerMode.SetChecked(s.HonourAnswerMode)
	f.tray.SetChecked(s.CloseToTray)
	f.uri.SetPlaceHolder("sip:alice@example.com (empty: direct mode)")
	f.user.SetPlaceHolder("defaults to the URI's user")
	f.registrar.SetPlaceHolder("sip:pbx.example.com or wss://pbx.example.com/")
	f.caFile.SetPlaceHolder("/path/to/ca.pem (TLS and WSS only)")
	f.uri.SetText(s.AccountURI)
	f.user.SetText(s.Username)
	f.pass.SetText(s.Password)
	f.registrar.SetText(s.Registrar)
	f.transport.SetText(s.Transport)
	f.caFile.SetText(s.CAFile)
	f.audioIn.SetText(s.AudioIn)
	f.audioOut.SetText(s.AudioOut)
	f.fps.SetSelected(strconv.Itoa(s.ShareFPS))
	f.quality.SetSelected(s.ShareQuality)
	return f
}

func (f *settingsForm) settings() Settings {
	fps, _ := strconv.Atoi(f.fps.Selected)
	return Settings{
		AccountURI: strings.TrimSpace(f.uri.Text), Username: strings.TrimSpace(f.user.Text),
		Password: f.pass.Text, Registrar: strings.TrimSpace(f.registrar.Text),
		Transport: strings.TrimSpace(f.transport.Text), CAFile: strings.TrimSpace(f.caFile.Text),
		AudioIn: f.audioIn.Text, AudioOut: f.audioOut.Text,
		ShareFPS: fps, ShareQuality: f.quality.Selected,
		DoNotDisturb: f.dnd.Checked, AutoAnswer: f.autoAnswer.Checked,
		HonourAnswerMode: f.answerMode.Checked, CloseToTray: f.tray.Checked,
	}
}

func (f *settingsForm) items() []*widget.FormItem {
	note := func(text string) *widget.FormItem {
		l := widget.NewLabel(text)
		l.Importance = widget.LowImportance
		l.Wrapping = fyne.TextWrapWord
		return widget.NewFormItem("", l)
	}
	return []*widget.FormItem{
		widget.NewFormItem("SIP URI", f.uri),
		widget.NewFormItem("Username", f.user),
		widget.NewFormItem("Password", f.pass),
		widget.NewFormItem("Registrar / proxy", f.registrar),
		widget.NewFormItem("Transport", f.transport),
		widget.NewFormItem("TLS CA file", f.caFile),
		note("The password is kept in the system keyring, never in a file. Account changes apply when Parlo restarts."),
		widget.NewFormItem("Microphone", f.audioIn),
		widget.NewFormItem("Speaker", f.audioOut),
		widget.NewFormItem("Share frame rate", f.fps),
		widget.NewFormItem("Share quality", f.quality),
		widget.NewFormItem("Calls", container.NewVBox(f.dnd, f.autoAnswer, f.answerMode)),
		widget.NewFormItem("Window", f.tray),
		note(f.logNote()),
	}
}

func (f *settingsForm) logNote() string {
	if f.logPath == "" {
		return "Logs go to standard error."
	}
	return "Log file: " + f.logPath + " (start with --debug for a SIP trace; passwords and Authorization headers are redacted)"
}

// openSettings shows the settings dialog.
func (w *mainWindow) openSettings() {
	if w.settingsOpen {
		return
	}
	s, err := LoadSettings(w.app.Preferences(), w.opts.secrets)
	if err != nil {
		w.action.fail(secretStoreMessage(err))
	}
	f := newSettingsForm(s)
	f.logPath = w.opts.desktop.logPath
	w.settingsForm = f
	w.settingsOpen = true
	d := dialog.NewForm("Settings", "Save", "Cancel", f.items(), func(ok bool) {
		w.settingsOpen = false
		w.settingsForm = nil
		if ok {
			w.saveSettings(f.settings())
		}
	}, w.win)
	d.Resize(fyne.NewSize(560, 0).Max(d.MinSize()))
	d.Show()
}

func (w *mainWindow) saveSettings(s Settings) {
	if err := s.validate(); err != nil {
		dialog.ShowError(err, w.win)
		return
	}
	if err := s.Save(w.app.Preferences(), w.opts.secrets); err != nil {
		dialog.ShowError(secretStoreMessage(err), w.win)
		return
	}
	w.dnd = s.DoNotDisturb
	w.applyAvailability(s)
	if w.sounds != nil {
		w.sounds.set(wantedSound(w.calls, w.dnd))
	}
	w.refresh()
	w.action.info("Settings saved. Account changes apply when Parlo restarts.")
}

// secretStoreMessage explains a secret-store failure to the user.
func secretStoreMessage(err error) error {
	if errors.Is(err, ErrNoSecretStore) {
		return fmt.Errorf("the password was not saved: no system keyring is available "+
			"(on Linux, install and unlock GNOME Keyring or KWallet so the Secret Service runs). "+
			"Parlo never writes passwords to a file. Details: %v", err)
	}
	return err
}
