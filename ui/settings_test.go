package ui

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
	"github.com/parlo-voip/parlo/callengine"
)

func TestSettingsSavePrefsAndPasswordInSecretStore(t *testing.T) {
	h := newHarness(t, newFakeEngine(), harnessOpts{})
	h.shortcut(actSettings)
	f := h.w.settingsForm
	if f == nil {
		t.Fatal("settings dialog not open")
	}
	test.Type(f.uri, "sip:alice@parlo.test")
	test.Type(f.pass, "s3cret")
	test.Type(f.registrar, "sip:127.0.0.1:5060")
	f.transport.SetText("tcp")
	f.fps.SetSelected("30")
	h.w.saveSettings(f.settings())

	p := h.app.Preferences()
	if p.String(prefAccountURI) != "sip:alice@parlo.test" || p.String(prefTransport) != "tcp" || p.Int(prefShareFPS) != 30 {
		t.Errorf("prefs: uri %q transport %q fps %d", p.String(prefAccountURI), p.String(prefTransport), p.Int(prefShareFPS))
	}
	for _, k := range []string{prefAccountURI, prefUsername, prefRegistrar, prefTransport, prefCAFile, prefAudioIn, prefAudioOut} {
		if strings.Contains(p.String(k), "s3cret") {
			t.Fatalf("password leaked into preference %s", k)
		}
	}
	if pw, _ := h.secrets.Get("sip:alice@parlo.test"); pw != "s3cret" {
		t.Errorf("secret store holds %q", pw)
	}
	s, err := LoadSettings(p, h.secrets)
	if err != nil || s.Password != "s3cret" || s.Account().Registrar != "sip:127.0.0.1:5060" {
		t.Errorf("LoadSettings = %+v, %v", s, err)
	}
}

func TestSettingsWithoutSecretStoreSaysSo(t *testing.T) {
	h := newHarness(t, newFakeEngine(), harnessOpts{})
	h.secrets.err = errors.Join(ErrNoSecretStore, errors.New("dbus: no session bus"))
	s := Settings{AccountURI: "sip:alice@parlo.test", Password: "pw", Transport: "udp", ShareFPS: 15}
	err := s.Save(h.app.Preferences(), h.secrets)
	if !errors.Is(err, ErrNoSecretStore) {
		t.Fatalf("Save error = %v, want ErrNoSecretStore", err)
	}
	msg := secretStoreMessage(err).Error()
	if !strings.Contains(msg, "no system keyring") || !strings.Contains(msg, "never writes passwords to a file") {
		t.Errorf("message = %q", msg)
	}
	if h.app.Preferences().String(prefAccountURI) != "sip:alice@parlo.test" {
		t.Error("non-secret settings not saved when the keyring is missing")
	}
}

func TestSettingsValidate(t *testing.T) {
	tests := []struct {
		uri string
		ok  bool
	}{
		{"", true},
		{"sip:alice@parlo.test", true},
		{"sips:alice@parlo.test", true},
		{"alice@parlo.test", false},
		{"sip:parlo.test", false},
	}
	for _, tt := range tests {
		if err := (Settings{AccountURI: tt.uri}).validate(); (err == nil) != tt.ok {
			t.Errorf("validate(%q) = %v", tt.uri, err)
		}
	}
}

// The recordings folder: typed into Settings → Calls, checked (a full path
// Parlo can create) and saved; used by the next recording.
func TestSettingsRecordingsFolder(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, dir string
		wantErr   string // "" for valid
	}{
		{"default", "", ""},
		{"new folder is created", filepath.Join(base, "Recordings", "Parlo"), ""},
		{"relative", "Recordings", "not a full path"},
		{"under a file", filepath.Join(file, "sub"), "cannot be created"},
	}
	for _, tt := range tests {
		err := (Settings{RecordingsDir: tt.dir}).validate()
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: validate = %v", tt.name, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "recordings folder")):
			t.Errorf("%s: validate = %v, want an error naming the recordings folder and %q", tt.name, err, tt.wantErr)
		case tt.wantErr == "" && tt.dir != "":
			if st, err := os.Stat(tt.dir); err != nil || !st.IsDir() {
				t.Errorf("%s: folder not created: %v", tt.name, err)
			}
		}
	}

	t.Setenv("PARLO_RECORDINGS", filepath.Join(base, "env"))
	if got := (Settings{}).RecordingsFolder(); got != filepath.Join(base, "env") {
		t.Errorf("default with $PARLO_RECORDINGS = %q", got)
	}
	h := newHarness(t, newFakeEngine(), harnessOpts{})
	h.shortcut(actSettings)
	f := h.w.settingsForm
	if f == nil {
		t.Fatal("settings dialog not open")
	}
	chosen := filepath.Join(base, "chosen")
	test.Type(f.recordings, chosen)
	h.w.saveSettings(f.settings())
	s, _ := LoadSettings(h.app.Preferences(), nil)
	if s.RecordingsDir != chosen || s.RecordingsFolder() != chosen {
		t.Errorf("saved folder %q, RecordingsFolder %q; want %q (the setting wins over $PARLO_RECORDINGS)", s.RecordingsDir, s.RecordingsFolder(), chosen)
	}
}

// TestSettingsDefaultsForANewUser pins what a first start gets where the
// choice is the product's: the share rate is the engine's default (30 fps),
// not a lower GUI-only figure that halved what the far end saw.
func TestSettingsDefaultsForANewUser(t *testing.T) {
	h := newHarness(t, newFakeEngine(), harnessOpts{})
	s, err := LoadSettings(h.app.Preferences(), h.secrets)
	if err != nil {
		t.Fatal(err)
	}
	if s.ShareFPS != callengine.DefaultShareFPS {
		t.Errorf("a new user's share rate = %d fps, want %d", s.ShareFPS, callengine.DefaultShareFPS)
	}
	if !slices.Contains(fpsChoices, strconv.Itoa(s.ShareFPS)) {
		t.Errorf("the default rate %d is not among the settings' choices %v", s.ShareFPS, fpsChoices)
	}
}

// TestSettingsShareLimitsApplyAtOnce: the share's frame rate and bandwidth
// cap reach the engine on save (for the next share, no restart), are kept
// in the preferences and come back in the dialog.
func TestSettingsShareLimitsApplyAtOnce(t *testing.T) {
	eng := newFakeEngine()
	h := newHarness(t, eng, harnessOpts{})
	if got := shareBandwidthKbps(shareBandwidthLabel(0)); got != 0 {
		t.Fatalf("automatic maps to %d kbit/s", got)
	}
	for _, k := range shareBandwidths {
		if got := shareBandwidthKbps(shareBandwidthLabel(k)); got != k {
			t.Errorf("%d kbit/s: label %q maps back to %d", k, shareBandwidthLabel(k), got)
		}
	}
	h.shortcut(actSettings)
	f := h.w.settingsForm
	if f == nil {
		t.Fatal("settings dialog not open")
	}
	if f.bandwidth.Selected != "Automatic" {
		t.Errorf("a new user's share bandwidth %q, want Automatic", f.bandwidth.Selected)
	}
	f.fps.SetSelected("15")
	f.bandwidth.SetSelected("At most 1 Mbit/s")
	h.w.saveSettings(f.settings())
	eng.mu.Lock()
	got := eng.shareLimits
	eng.mu.Unlock()
	if got != (callengine.ShareLimits{FPS: 15, MaxKbps: 1000}) {
		t.Errorf("engine's share limits after save %+v, want 15 fps, 1000 kbit/s", got)
	}
	s, err := LoadSettings(h.app.Preferences(), h.secrets)
	if err != nil || s.ShareFPS != 15 || s.ShareMaxKbps != 1000 {
		t.Fatalf("reloaded settings: %d fps, %d kbit/s (%v)", s.ShareFPS, s.ShareMaxKbps, err)
	}
	if l := newSettingsForm(s, nil).bandwidth.Selected; l != "At most 1 Mbit/s" {
		t.Errorf("the dialog shows %q for the saved cap", l)
	}
}
