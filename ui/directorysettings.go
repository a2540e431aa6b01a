package ui

import (
	"errors"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/parlo-voip/parlo/internal/directory"
)

// Preference keys of the directory settings. The two passwords go to the
// SecretStore under the server's URL, never into preferences.
const (
	prefCardDAVURL  = "directory.carddav.url"
	prefCardDAVUser = "directory.carddav.user"
	prefLDAPURL     = "directory.ldap.url"
	prefLDAPBindDN  = "directory.ldap.bindDN"
	prefLDAPBase    = "directory.ldap.base"
	prefLDAPFilter  = "directory.ldap.filter"
	prefDialRules   = "directory.dialRules"
)

// Secret store keys: prefixed so a server's password never collides with a
// SIP account's.
func cardDAVSecretKey(url string) string { return "carddav:" + url }
func ldapSecretKey(url string) string    { return "ldap:" + url }

// DirectorySettings are the Contacts / Directory tab's settings.
type DirectorySettings struct {
	CardDAVURL, CardDAVUser, CardDAVPassword    string
	LDAPURL, LDAPBindDN, LDAPPassword, LDAPBase string
	LDAPFilter                                  string
	DialRules                                   string
}

// LoadDirectorySettings reads the settings, and the passwords from secrets
// (nil: none). A secret-store error comes back with the rest filled in.
func LoadDirectorySettings(prefs fyne.Preferences, secrets SecretStore) (DirectorySettings, error) {
	s := DirectorySettings{
		CardDAVURL: prefs.String(prefCardDAVURL), CardDAVUser: prefs.String(prefCardDAVUser),
		LDAPURL: prefs.String(prefLDAPURL), LDAPBindDN: prefs.String(prefLDAPBindDN),
		LDAPBase: prefs.String(prefLDAPBase), LDAPFilter: prefs.String(prefLDAPFilter),
		DialRules: prefs.String(prefDialRules),
	}
	if secrets == nil {
		return s, nil
	}
	var errs []error
	if s.CardDAVURL != "" {
		pw, err := secrets.Get(cardDAVSecretKey(s.CardDAVURL))
		s.CardDAVPassword = pw
		errs = append(errs, err)
	}
	if s.LDAPURL != "" && s.LDAPBindDN != "" {
		pw, err := secrets.Get(ldapSecretKey(s.LDAPURL))
		s.LDAPPassword = pw
		errs = append(errs, err)
	}
	return s, errors.Join(errs...)
}

// Save writes the settings to prefs and the passwords to secrets.
func (s DirectorySettings) Save(prefs fyne.Preferences, secrets SecretStore) error {
	prefs.SetString(prefCardDAVURL, s.CardDAVURL)
	prefs.SetString(prefCardDAVUser, s.CardDAVUser)
	prefs.SetString(prefLDAPURL, s.LDAPURL)
	prefs.SetString(prefLDAPBindDN, s.LDAPBindDN)
	prefs.SetString(prefLDAPBase, s.LDAPBase)
	prefs.SetString(prefLDAPFilter, s.LDAPFilter)
	prefs.SetString(prefDialRules, s.DialRules)
	if secrets == nil {
		return nil
	}
	save := func(key, pw string) error {
		if pw == "" {
			return secrets.Delete(key)
		}
		return secrets.Set(key, pw)
	}
	var errs []error
	if s.CardDAVURL != "" {
		errs = append(errs, save(cardDAVSecretKey(s.CardDAVURL), s.CardDAVPassword))
	}
	if s.LDAPURL != "" {
		errs = append(errs, save(ldapSecretKey(s.LDAPURL), s.LDAPPassword))
	}
	return errors.Join(errs...)
}

// Config is the directory configuration of these settings, checked: an
// invalid server setting or rule is an error naming the field.
func (s DirectorySettings) Config(localPath string) (directory.Config, error) {
	cfg := directory.Config{LocalPath: localPath}
	// One rule a line in files and flags; commas in the single-line field.
	rules, err := directory.ParseRules(strings.ReplaceAll(s.DialRules, ",", "\n"))
	if err != nil {
		return cfg, fmt.Errorf("dialling rules: %w", err)
	}
	cfg.Rules = rules
	if s.CardDAVURL != "" {
		cfg.CardDAV = directory.CardDAVOptions{Name: "CardDAV", URL: s.CardDAVURL, Username: s.CardDAVUser, Password: s.CardDAVPassword}
		if _, err := directory.NewCardDAV(cfg.CardDAV); err != nil {
			return cfg, err
		}
	}
	if s.LDAPURL != "" {
		cfg.LDAP = directory.LDAPOptions{Name: "LDAP", URL: s.LDAPURL, BindDN: s.LDAPBindDN, Password: s.LDAPPassword, BaseDN: s.LDAPBase, Filter: s.LDAPFilter}
		if _, err := directory.NewLDAP(cfg.LDAP); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

// directoryForm is the Contacts / Directory tab's fields.
type directoryForm struct {
	davURL, davUser, davPass              *widget.Entry
	ldapURL, ldapBind, ldapPass, ldapBase *widget.Entry
	ldapFilter, rules                     *widget.Entry
	localPath                             string
	// manage opens the local contacts window (nil: no button).
	manage func()
}

func newDirectoryForm(s DirectorySettings, localPath string) *directoryForm {
	f := &directoryForm{
		davURL: widget.NewEntry(), davUser: widget.NewEntry(), davPass: widget.NewPasswordEntry(),
		ldapURL: widget.NewEntry(), ldapBind: widget.NewEntry(), ldapPass: widget.NewPasswordEntry(),
		ldapBase: widget.NewEntry(), ldapFilter: widget.NewEntry(), rules: widget.NewEntry(),
		localPath: localPath,
	}
	f.davURL.SetPlaceHolder("https://dav.example.com/ (empty: off)")
	f.ldapURL.SetPlaceHolder("ldaps://ldap.example.com (empty: off)")
	f.ldapBind.SetPlaceHolder("cn=reader,dc=example,dc=com (empty: anonymous)")
	f.ldapBase.SetPlaceHolder("ou=people,dc=example,dc=com")
	f.ldapFilter.SetPlaceHolder("default: cn, displayName, mail, o and phones contain {query}")
	f.rules.SetPlaceHolder("+33=0, +=00")
	f.davURL.SetText(s.CardDAVURL)
	f.davUser.SetText(s.CardDAVUser)
	f.davPass.SetText(s.CardDAVPassword)
	f.ldapURL.SetText(s.LDAPURL)
	f.ldapBind.SetText(s.LDAPBindDN)
	f.ldapPass.SetText(s.LDAPPassword)
	f.ldapBase.SetText(s.LDAPBase)
	f.ldapFilter.SetText(s.LDAPFilter)
	f.rules.SetText(s.DialRules)
	return f
}

func (f *directoryForm) settings() DirectorySettings {
	t := func(e *widget.Entry) string { return strings.TrimSpace(e.Text) }
	return DirectorySettings{
		CardDAVURL: t(f.davURL), CardDAVUser: t(f.davUser), CardDAVPassword: f.davPass.Text,
		LDAPURL: t(f.ldapURL), LDAPBindDN: t(f.ldapBind), LDAPPassword: f.ldapPass.Text,
		LDAPBase: t(f.ldapBase), LDAPFilter: t(f.ldapFilter), DialRules: f.rules.Text,
	}
}

// tab is the settings dialog's Contacts / Directory tab.
func (f *directoryForm) tab() *container.TabItem {
	section := func(s string) *widget.FormItem {
		return widget.NewFormItem("", widget.NewLabelWithStyle(s, fyne.TextAlignLeading, fyne.TextStyle{Bold: true}))
	}
	local := "Local contacts are kept in " + f.localPath + "."
	manage := widget.NewFormItem("Local", widget.NewLabel(""))
	if f.manage != nil {
		manage = widget.NewFormItem("Local", container.NewHBox(widget.NewButtonWithIcon("Edit contacts…", theme.AccountIcon(), f.manage)))
	}
	return container.NewTabItem("Directory", container.NewVScroll(widget.NewForm(
		manage,
		note(local),
		section("CardDAV address book"),
		widget.NewFormItem("URL", f.davURL),
		widget.NewFormItem("User", f.davUser),
		widget.NewFormItem("Password", f.davPass),
		section("LDAP directory"),
		widget.NewFormItem("URL", f.ldapURL),
		widget.NewFormItem("Bind DN", f.ldapBind),
		widget.NewFormItem("Password", f.ldapPass),
		widget.NewFormItem("Search base", f.ldapBase),
		widget.NewFormItem("Filter", f.ldapFilter),
		section("Dialling"),
		widget.NewFormItem("Rewrite rules", f.rules),
		note("Rules are PREFIX=REPLACE, separated by commas, first match wins: +33=0 dials French numbers nationally; =9;min=7 puts 9 before numbers of 7 digits or more. Passwords go to the system keyring."),
	)))
}

// form is the Directory tab for the saved settings.
func (p *directoryPanel) form() *directoryForm {
	s, err := LoadDirectorySettings(p.w.app.Preferences(), p.w.opts.secrets)
	if err != nil {
		p.w.action.fail(secretStoreMessage(err))
	}
	f := newDirectoryForm(s, p.localPath())
	f.manage = p.openContacts
	return f
}

// save checks, stores and applies the Directory tab: the next search uses
// the new servers and rules.
func (p *directoryPanel) save(s DirectorySettings) {
	if _, err := s.Config(p.localPath()); err != nil {
		dialog.ShowError(fmt.Errorf("directory settings not saved: %w", err), p.w.win)
		return
	}
	if err := s.Save(p.w.app.Preferences(), p.w.opts.secrets); err != nil {
		dialog.ShowError(secretStoreMessage(err), p.w.win)
	}
	p.reload()
}

// localPath is the local contacts file.
func (p *directoryPanel) localPath() string {
	if p.w.opts.contactsPath != "" {
		return p.w.opts.contactsPath
	}
	path, err := directory.DefaultLocalPath()
	if err != nil {
		return "(no config directory)"
	}
	return path
}
