package ui

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/parlo-voip/parlo/callengine"
	"github.com/parlo-voip/parlo/callengine/audio"
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
	prefAudioRing    = "audio.ringing"
	prefEchoCancel   = "audio.echoCancel"
	prefNoiseSupp    = "audio.noiseSuppress"
	prefAutoGain     = "audio.autoGain"
	prefShareFPS     = "share.fps"
	prefShareMaxKbps = "share.maxKbps"
	prefDND          = "calls.doNotDisturb"
	prefAutoAnswer   = "calls.autoAnswer"
	prefAnswerMode   = "calls.honourAnswerMode"
	prefCloseToTray  = "window.closeToTray"
	prefRecordings   = "calls.recordingsDir"
)

// Choices offered by the settings dialog.
var (
	transportChoices = []string{"udp", "tcp", "tls", "ws", "wss"}
	fpsChoices       = []string{"5", "10", "15", "30"}
)

// defaultDevice is the audio device choice meaning "the system's default".
const defaultDevice = "System default"

// Settings are the user's settings. Password is not persisted with the
// rest: it goes to the SecretStore.
type Settings struct {
	AccountURI string
	Username   string
	Password   string
	Registrar  string
	Transport  string
	CAFile     string
	// AudioIn, AudioOut and AudioRing are device IDs (audio.DeviceInfo.ID);
	// "" follows the system default.
	AudioIn   string
	AudioOut  string
	AudioRing string
	// EchoCancel, NoiseSuppress and AutoGain switch the microphone's
	// processing stages; all on by default.
	EchoCancel    bool
	NoiseSuppress bool
	AutoGain      bool
	// ShareFPS is the screen share's frame rate; ShareMaxKbps caps its
	// bitrate (0: automatic, as the path allows).
	ShareFPS     int
	ShareMaxKbps int
	// DoNotDisturb answers incoming calls 486 Busy Here.
	DoNotDisturb bool
	// AutoAnswer accepts every incoming call; HonourAnswerMode accepts one
	// that asks with "Answer-Mode: Auto" (RFC 5373). Both off by default:
	// they let a caller open the microphone.
	AutoAnswer       bool
	HonourAnswerMode bool
	// CloseToTray hides the window to the tray instead of quitting.
	CloseToTray bool
	// RecordingsDir is where call recordings go; "" is the default
	// (RecordingsFolder).
	RecordingsDir string
	// WatchedExtensions are shown with their busy lamps; VoicemailNumber
	// is what the voicemail button dials; PickupCode, when set, is the
	// PBX's pickup feature code (lampsettings.go).
	WatchedExtensions []string
	VoicemailNumber   string
	PickupCode        string
}

// LoadSettings reads the settings from prefs and the password from secrets
// (nil secrets: no password). A secret-store error is returned with the
// rest of the settings filled in.
func LoadSettings(prefs fyne.Preferences, secrets SecretStore) (Settings, error) {
	s := Settings{
		AccountURI:    prefs.String(prefAccountURI),
		Username:      prefs.String(prefUsername),
		Registrar:     prefs.String(prefRegistrar),
		Transport:     prefs.StringWithFallback(prefTransport, "udp"),
		CAFile:        prefs.String(prefCAFile),
		AudioIn:       deviceID(prefs.String(prefAudioIn)),
		AudioOut:      deviceID(prefs.String(prefAudioOut)),
		AudioRing:     deviceID(prefs.String(prefAudioRing)),
		EchoCancel:    prefs.BoolWithFallback(prefEchoCancel, true),
		NoiseSuppress: prefs.BoolWithFallback(prefNoiseSupp, true),
		AutoGain:      prefs.BoolWithFallback(prefAutoGain, true),
		ShareFPS:      prefs.IntWithFallback(prefShareFPS, callengine.DefaultShareFPS),
		ShareMaxKbps:  max(prefs.Int(prefShareMaxKbps), 0),

		DoNotDisturb:     prefs.Bool(prefDND),
		AutoAnswer:       prefs.Bool(prefAutoAnswer),
		HonourAnswerMode: prefs.Bool(prefAnswerMode),
		CloseToTray:      prefs.BoolWithFallback(prefCloseToTray, true),
		RecordingsDir:    prefs.String(prefRecordings),
	}
	loadLampSettings(prefs, &s)
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
	prefs.SetString(prefAudioRing, s.AudioRing)
	prefs.SetBool(prefEchoCancel, s.EchoCancel)
	prefs.SetBool(prefNoiseSupp, s.NoiseSuppress)
	prefs.SetBool(prefAutoGain, s.AutoGain)
	prefs.SetInt(prefShareFPS, s.ShareFPS)
	prefs.SetInt(prefShareMaxKbps, s.ShareMaxKbps)
	prefs.SetBool(prefDND, s.DoNotDisturb)
	prefs.SetBool(prefAutoAnswer, s.AutoAnswer)
	prefs.SetBool(prefAnswerMode, s.HonourAnswerMode)
	prefs.SetBool(prefCloseToTray, s.CloseToTray)
	prefs.SetString(prefRecordings, s.RecordingsDir)
	saveLampSettings(prefs, s)
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

// Processing is the microphone processing these settings ask for.
func (s Settings) Processing() audio.Processing {
	return audio.Processing{EchoCancel: s.EchoCancel, NoiseSuppress: s.NoiseSuppress, AutoGain: s.AutoGain}
}

// RecordingsFolder is where recordings go: the folder the user chose, else
// callengine.DefaultRecordingsDir ($PARLO_RECORDINGS, else
// ~/Recordings/Parlo; created on the first recording).
func (s Settings) RecordingsFolder() string {
	if s.RecordingsDir != "" {
		return s.RecordingsDir
	}
	return callengine.DefaultRecordingsDir(os.Getenv)
}

// deviceID reads a saved device: older versions saved "System default" or
// free text for the default.
func deviceID(saved string) string {
	if saved == defaultDevice {
		return ""
	}
	return saved
}

// validate checks what the dialog can check without the network.
func (s Settings) validate() error {
	if s.AccountURI != "" && !strings.HasPrefix(s.AccountURI, "sip:") && !strings.HasPrefix(s.AccountURI, "sips:") {
		return errors.New("the SIP URI must start with sip: or sips:, e.g. sip:alice@example.com")
	}
	if s.AccountURI != "" && !strings.Contains(s.AccountURI, "@") {
		return errors.New("the SIP URI needs user@domain")
	}
	if s.RecordingsDir != "" {
		if !filepath.IsAbs(s.RecordingsDir) {
			return fmt.Errorf("the recordings folder %q is not a full path (e.g. /home/you/Recordings)", s.RecordingsDir)
		}
		if err := callengine.PrepareRecordingsDir(s.RecordingsDir); err != nil {
			return fmt.Errorf("the recordings folder: %w", err)
		}
	}
	return nil
}

// settingsForm is the settings dialog's fields.
type settingsForm struct {
	uri, user, pass, registrar, caFile *widget.Entry
	transport                          *widget.SelectEntry
	audioIn, audioOut, audioRing       *deviceSelect
	echo, noise, gain                  *widget.Check
	fps, bandwidth                     *widget.Select
	dnd, autoAnswer, answerMode, tray  *widget.Check
	recordings                         *widget.Entry
	// pickFolder, when set, opens a folder chooser and calls back with the
	// chosen path (the dialog needs the window).
	pickFolder  func(func(string))
	micLevel    *widget.ProgressBar
	lamps       *lampSettingsForm
	speakerTest *widget.Button
	logPath     string
	dir         *directoryForm // nil: no Directory tab
}

func newSettingsForm(s Settings, devices AudioDevices) *settingsForm {
	var mics, speakers []audio.DeviceInfo
	if devices != nil {
		mics, _ = devices.List(audio.Microphone)
		speakers, _ = devices.List(audio.Speaker)
	}
	f := &settingsForm{
		uri: widget.NewEntry(), user: widget.NewEntry(), pass: widget.NewPasswordEntry(),
		registrar: widget.NewEntry(), caFile: widget.NewEntry(),
		transport:  widget.NewSelectEntry(transportChoices),
		audioIn:    newDeviceSelect(mics, s.AudioIn),
		audioOut:   newDeviceSelect(speakers, s.AudioOut),
		audioRing:  newDeviceSelect(speakers, s.AudioRing),
		echo:       widget.NewCheck("Echo cancellation (the far end does not hear itself from your speakers)", nil),
		noise:      widget.NewCheck("Noise suppression (fans, hum, hiss)", nil),
		gain:       widget.NewCheck("Automatic gain (levels your voice)", nil),
		fps:        widget.NewSelect(fpsChoices, nil),
		bandwidth:  widget.NewSelect(shareBandwidthLabels(), nil),
		dnd:        widget.NewCheck("Do not disturb (incoming calls get busy)", nil),
		autoAnswer: widget.NewCheck("Answer every incoming call at once", nil),
		answerMode: widget.NewCheck(`Answer at once when the caller asks ("Answer-Mode: Auto", e.g. intercom)`, nil),
		tray:       widget.NewCheck("Closing the window keeps Parlo running in the tray", nil),
		micLevel:   widget.NewProgressBar(),
		recordings: widget.NewEntry(),
	}
	f.micLevel.TextFormatter = func() string { return "" }
	f.lamps = newLampSettingsForm(s)
	f.echo.SetChecked(s.EchoCancel)
	f.noise.SetChecked(s.NoiseSuppress)
	f.gain.SetChecked(s.AutoGain)
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
	f.recordings.SetText(s.RecordingsDir)
	f.recordings.SetPlaceHolder(Settings{}.RecordingsFolder() + " (default)")
	f.fps.SetSelected(strconv.Itoa(s.ShareFPS))
	f.bandwidth.SetSelected(shareBandwidthLabel(s.ShareMaxKbps))
	return f
}

func (f *settingsForm) settings() Settings {
	fps, _ := strconv.Atoi(f.fps.Selected)
	s := Settings{
		AccountURI: strings.TrimSpace(f.uri.Text), Username: strings.TrimSpace(f.user.Text),
		Password: f.pass.Text, Registrar: strings.TrimSpace(f.registrar.Text),
		Transport: strings.TrimSpace(f.transport.Text), CAFile: strings.TrimSpace(f.caFile.Text),
		AudioIn: f.audioIn.id(), AudioOut: f.audioOut.id(), AudioRing: f.audioRing.id(),
		EchoCancel: f.echo.Checked, NoiseSuppress: f.noise.Checked, AutoGain: f.gain.Checked,
		ShareFPS: fps, ShareMaxKbps: shareBandwidthKbps(f.bandwidth.Selected),
		DoNotDisturb: f.dnd.Checked, AutoAnswer: f.autoAnswer.Checked,
		HonourAnswerMode: f.answerMode.Checked, CloseToTray: f.tray.Checked,
		RecordingsDir: strings.TrimSpace(f.recordings.Text),
	}
	f.lamps.fill(&s)
	return s
}

func note(text string) *widget.FormItem {
	l := widget.NewLabel(text)
	l.Importance = widget.LowImportance
	l.Wrapping = fyne.TextWrapWord
	return widget.NewFormItem("", l)
}

// tabs lays the fields out in tabs, each scrolling on its own, so the
// dialog fits the default window at any scale (it used to be one long
// form, taller than the window, with Save and Cancel over the last rows).
func (f *settingsForm) tabs() *container.AppTabs {
	page := func(items ...*widget.FormItem) fyne.CanvasObject {
		return container.NewVScroll(widget.NewForm(items...))
	}
	tabs := container.NewAppTabs(
		container.NewTabItem("Account", page(
			widget.NewFormItem("SIP URI", f.uri),
			widget.NewFormItem("Username", f.user),
			widget.NewFormItem("Password", f.pass),
			widget.NewFormItem("Registrar / proxy", f.registrar),
			widget.NewFormItem("Transport", f.transport),
			widget.NewFormItem("TLS CA file", f.caFile),
			note("The password is kept in the system keyring, never in a file. A changed account is registered when you save, after the old one is unregistered; calls in progress go on."),
		)),
		container.NewTabItem("Audio", page(
			widget.NewFormItem("Microphone", f.audioIn.Select),
			widget.NewFormItem("Level", f.micLevel),
			widget.NewFormItem("Speaker", container.NewBorder(nil, nil, nil, f.speakerTestButton(), f.audioOut.Select)),
			widget.NewFormItem("Ringing", f.audioRing.Select),
			widget.NewFormItem("Processing", container.NewVBox(f.echo, f.noise, f.gain)),
			note("Device and processing changes apply at once, also to a call in progress."),
		)),
		container.NewTabItem("Video / Share", page(
			widget.NewFormItem("Share frame rate", f.fps),
			widget.NewFormItem("Share bandwidth", f.bandwidth),
			note("Automatic follows what the network carries, up to 4 Mbit/s. A limit keeps a slow or metered uplink free for voice: a moving picture then shows fewer frames a second, text stays sharp. Both apply to the next share."),
		)),
		container.NewTabItem("Calls", page(
			widget.NewFormItem("Incoming", container.NewVBox(f.dnd, f.autoAnswer, f.answerMode)),
			widget.NewFormItem("Window", f.tray),
			widget.NewFormItem("Recordings folder", container.NewBorder(nil, nil, nil, f.chooseFolderButton(), f.recordings)),
			note("Recordings are Ogg/Opus files, both sides mixed. Parlo plays no tone or announcement to the other party: whether you must tell them is for the law where you are."),
			note(f.logNote()),
		)),
		f.lamps.tab(),
	)
	if f.dir != nil {
		tabs.Append(f.dir.tab())
	}
	return tabs
}

// chooseFolderButton opens the folder chooser for the recordings folder.
func (f *settingsForm) chooseFolderButton() fyne.CanvasObject {
	b := widget.NewButton("Choose…", func() {
		if f.pickFolder != nil {
			f.pickFolder(f.recordings.SetText)
		}
	})
	if f.pickFolder == nil {
		b.Disable()
	}
	return b
}

func (f *settingsForm) speakerTestButton() fyne.CanvasObject {
	if f.speakerTest == nil {
		f.speakerTest = widget.NewButton("Test", nil)
		f.speakerTest.Disable()
	}
	return f.speakerTest
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
	devices := w.opts.desktop.devices
	f := newSettingsForm(s, devices)
	f.logPath = w.opts.desktop.logPath
	f.dir = w.dir.form()
	f.pickFolder = func(set func(string)) {
		dialog.ShowFolderOpen(func(dir fyne.ListableURI, err error) {
			if err == nil && dir != nil {
				set(dir.Path())
			}
		}, w.win)
	}
	w.settingsForm = f
	w.settingsOpen = true
	stopMeter := w.startSettingsAudio(f, devices)
	d := dialog.NewCustomConfirm("Settings", "Save", "Cancel", f.tabs(), func(ok bool) {
		stopMeter()
		w.settingsOpen = false
		w.settingsForm = nil
		if ok {
			w.saveSettings(f.settings())
			w.dir.save(f.dir.settings())
		}
	}, w.win)
	// Most of the window, never more: the tabs scroll.
	ws := w.win.Canvas().Size()
	d.Resize(fyne.NewSize(min(640, ws.Width-40), ws.Height-40))
	d.Show()
}

// startSettingsAudio runs the microphone meter and arms the speaker test
// while Settings is open; the returned func stops them.
func (w *mainWindow) startSettingsAudio(f *settingsForm, devices AudioDevices) func() {
	f.speakerTestButton()
	if devices == nil {
		return func() {}
	}
	f.speakerTest.Enable()
	f.speakerTest.OnTapped = func() {
		go playTestTone(devices, w.log)
	}
	src, err := devices.OpenInput()
	if err != nil {
		w.log.Info("no microphone for the level meter", "error", err)
		return func() {}
	}
	done := make(chan struct{})
	go func() { // owner: the Settings dialog; stops when it closes
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		frame := make([]int16, audio.FrameSamples)
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			// Keep the source drained; the level is what a call would send.
			for range 5 {
				_ = src.ReadFrame(frame)
			}
			lvl := meterValue(devices.MicLevel())
			w.opts.do(func() { f.micLevel.SetValue(lvl) })
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done); src.Close() }) }
}

// meterValue maps an RMS level (0..1) to the meter: -60 dBFS..0 dBFS.
func meterValue(rms float64) float64 {
	if rms <= 0 {
		return 0
	}
	return max(0, min(1, 1+20*math.Log10(rms)/60))
}

// playTestTone plays a short chime on the chosen speaker.
func playTestTone(devices AudioDevices, log *slog.Logger) {
	out, err := devices.OpenOutput()
	if err != nil {
		log.Warn("speaker test", "error", err)
		return
	}
	defer out.Close()
	tone := audio.NewTone(660, 0.3)
	frame := make([]int16, audio.FrameSamples)
	t := time.NewTicker(audio.FrameDurationMs * time.Millisecond)
	defer t.Stop()
	for range 50 { // one second
		<-t.C
		_ = tone.ReadFrame(frame)
		_ = out.WriteFrame(frame)
	}
}

func (w *mainWindow) saveSettings(s Settings) {
	if err := s.validate(); err != nil {
		dialog.ShowError(err, w.win)
		return
	}
	old, _ := LoadSettings(w.app.Preferences(), w.opts.secrets)
	if err := s.Save(w.app.Preferences(), w.opts.secrets); err != nil {
		dialog.ShowError(secretStoreMessage(err), w.win)
		return
	}
	w.dnd = s.DoNotDisturb
	if sl, ok := w.eng.(ShareLimiter); ok {
		sl.SetShareLimits(callengine.ShareLimits{FPS: s.ShareFPS, MaxKbps: s.ShareMaxKbps})
	}
	w.applyAvailability(s)
	w.applyAudio(s)
	w.contacts.apply(s)
	if w.sounds != nil {
		w.sounds.set(wantedSound(w.calls, w.dnd))
	}
	w.refresh()
	if !accountChanged(old, s) {
		w.action.info("Settings saved.")
		return
	}
	w.applyAccount(old, s)
}

// accountChanged reports whether the settings name another account, or the
// same one with other credentials or registrar.
func accountChanged(old, s Settings) bool {
	a, b := old.Account(), s.Account()
	if a == nil || b == nil {
		return (a == nil) != (b == nil)
	}
	return *a != *b
}

// applyAccount re-registers with the saved account, live: the engine
// un-registers the old one first. Calls in progress go on. An account the
// engine refuses before touching the old one (bad field, CA file) leaves
// the old one in force, and the window says so.
func (w *mainWindow) applyAccount(old, s Settings) {
	sw, ok := w.eng.(AccountSwitcher)
	if !ok {
		w.action.info("Settings saved. Account changes apply when Parlo restarts.")
		return
	}
	w.opts.accountURI = s.AccountURI
	w.opts.desktop.accountProblem = ""
	w.regStatus = ""
	if s.AccountURI != "" {
		w.regStatus = "Registering " + s.AccountURI + "…"
	}
	w.refresh()
	acct := s.Account()
	w.run("Changing account", actionTimeout, func(ctx context.Context) error {
		err := sw.SetAccount(ctx, acct)
		if err != nil {
			msg := ExplainAccountError(err)
			if errors.Is(err, callengine.ErrRestartRequired) {
				msg = "The new TLS CA file applies when Parlo restarts"
			}
			kept := errors.Is(err, callengine.ErrRestartRequired) || errors.Is(err, callengine.ErrBadAccount)
			w.opts.do(func() {
				if kept {
					w.opts.accountURI = old.AccountURI
				}
				w.regStatus = msg
				w.refresh()
			})
			return errors.New(msg)
		}
		w.opts.do(func() {
			if acct == nil {
				w.regStatus = ""
				w.refresh()
			}
			w.action.info("Settings saved. Account changed without a restart.")
		})
		return nil
	})
}

// watchDevices tells the user when a device went and the default took
// over (unplugged headset), so a change of sound is never a mystery.
func (w *mainWindow) watchDevices() {
	d, ok := w.opts.desktop.devices.(interface {
		SetOnNotice(func(audio.DeviceNotice))
	})
	if !ok {
		return
	}
	d.SetOnNotice(func(n audio.DeviceNotice) {
		w.opts.do(func() {
			w.action.info(deviceNoticeText(n))
		})
	})
}

// deviceNoticeText words a device notice for the user.
func deviceNoticeText(n audio.DeviceNotice) string {
	name := (audio.DeviceInfo{ID: n.Lost}).BackendName()
	if name == "" {
		return fmt.Sprintf("The %s stopped; it was opened again on the system default.", n.Kind)
	}
	return fmt.Sprintf("The %s %s is gone; using the system default %s.", n.Kind, name, n.Kind)
}

// applyAudio gives the engine's devices the saved choice, live.
func (w *mainWindow) applyAudio(s Settings) {
	d := w.opts.desktop.devices
	if d == nil {
		return
	}
	if err := d.SetProcessing(s.Processing()); err != nil {
		w.log.Warn("voice processing", "error", err)
	}
	if err := d.SetDevices(s.AudioIn, s.AudioOut); err != nil {
		w.action.fail(fmt.Errorf("audio device: %w", err))
	}
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
