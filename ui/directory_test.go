package ui

import (
	"image/png"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/parlo-voip/parlo/internal/directory"
	"github.com/parlo-voip/parlo/internal/history"
	"github.com/parlo-voip/parlo/internal/testpeers"
)

// ldapPrefs points the Directory settings at an anonymous LDAP search of
// slapd, with dialling rules.
func ldapPrefs(url, base, rules string) func(fyne.Preferences) {
	return func(p fyne.Preferences) {
		p.SetString(prefLDAPURL, url)
		p.SetString(prefLDAPBase, base)
		p.SetString(prefDialRules, rules)
	}
}

// resultRows are the texts of the result buttons under the dial field.
func resultRows(w *mainWindow) []string {
	var out []string
	for _, o := range w.dir.rows.Objects {
		if b, ok := o.(*widget.Button); ok {
			out = append(out, b.Text)
		}
	}
	return out
}

func TestDialFieldSearchesAndCallsIntegration(t *testing.T) {
	people := testpeers.DirectoryPeople(300)
	sl := testpeers.StartSlapd(t, people)
	f := newFakeEngine()
	h := newHarness(t, f, harnessOpts{prefs: ldapPrefs(sl.URL(), sl.BaseDN(), "+33=0")})
	if _, err := h.w.dir.dir.Local().Add(directory.Contact{Name: "Léa Reception", Phones: []directory.Phone{{Number: "200"}}}); err != nil {
		t.Fatal(err)
	}
	// Typing: each keystroke cancels the search before; only the last
	// query's answer is shown.
	test.Type(h.w.dial, "zz")
	h.w.dial.SetText("")
	start := time.Now()
	test.Type(h.w.dial, "léa")
	h.waitFor("results for léa", func() bool { return len(resultRows(h.w)) == maxShownResults })
	t.Logf("dial-field results after %v (debounce %v)", time.Since(start), searchDebounce)
	rows := resultRows(h.w)
	saveCapture(t, h.w.win, "dial-search.png")
	if !strings.HasPrefix(rows[0], "Léa Reception · 200") {
		t.Fatalf("local contact not first: %q", rows)
	}
	for _, r := range rows[1:] {
		if !strings.HasPrefix(r, "Léa ") || !strings.HasSuffix(r, "(LDAP)") {
			t.Fatalf("unexpected row %q", r)
		}
	}
	// Down, Down, Enter calls the second result's number, rewritten.
	h.w.dial.TypedKey(&fyne.KeyEvent{Name: fyne.KeyDown})
	h.w.dial.TypedKey(&fyne.KeyEvent{Name: fyne.KeyDown})
	want := h.w.dir.results[1]
	h.w.dial.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	wantNumber := directory.Rules{{Prefix: "+33", Replace: "0"}}.Apply(want.PrimaryNumber())
	h.waitFor("call to "+wantNumber, func() bool { return f.has("Call " + wantNumber) })
	if !strings.HasPrefix(wantNumber, "0") || h.w.dir.box.Visible() {
		t.Fatalf("number %q not rewritten, or results still open", wantNumber)
	}

	// Clicking a result calls it too.
	h.w.dial.SetText("")
	test.Type(h.w.dial, "alice mar")
	h.waitFor("Alice Martin", func() bool { r := resultRows(h.w); return len(r) == 1 && strings.HasPrefix(r[0], "Alice Martin") })
	test.Tap(h.w.dir.rows.Objects[0].(*widget.Button))
	h.waitFor("call to Alice", func() bool { return f.has("Call 0140000000") })
}

func TestIncomingCallerNameIntegration(t *testing.T) {
	people := testpeers.DirectoryPeople(300)
	sl := testpeers.StartSlapd(t, people)
	f := newFakeEngine()
	h := newHarness(t, f, harnessOpts{prefs: ldapPrefs(sl.URL(), sl.BaseDN(), "")})
	if _, err := h.w.dir.dir.Local().AddNumber("Mum", "+33 6 99 00 00 01"); err != nil {
		t.Fatal(err)
	}
	name := func(id string) string {
		c := h.w.incoming.cards[id]
		if c == nil {
			return ""
		}
		return c.name.Text
	}
	// Local: named at once.
	a := f.incoming("", "0699000001")
	h.waitFor("local name", func() bool { return name(a) == "Incoming call: Mum" })
	// LDAP: the card first shows what SIP said, then the directory's name.
	start := time.Now()
	b := f.incoming("ACME switchboard", "sip:+33140000077@pbx.example.com")
	h.waitFor("LDAP name", func() bool { return name(b) == "Incoming call: "+people[77].Name() })
	t.Logf("caller name from LDAP after %v", time.Since(start))
	saveCapture(t, h.w.win, "incoming-directory-name.png")
	if d := h.w.incoming.cards[b].detail.Text; !strings.Contains(d, "LDAP") {
		t.Fatalf("detail %q does not say where the name came from", d)
	}
	// The call list names the call from the directory too, with its number.
	if rows := h.rowsText(); !strings.Contains(rows, people[77].Name()+" | sip:+33140000077@pbx.example.com") {
		t.Fatalf("call list:\n%s", rows)
	}
	// Unknown: the SIP name stays.
	c := f.incoming("Someone", "0155555555")
	h.settle()
	time.Sleep(200 * time.Millisecond)
	h.settle()
	if name(c) != "Incoming call: Someone" {
		t.Fatalf("unknown caller shown as %q", name(c))
	}
}

// TestDialSearchWithDeadServerIntegration: a directory server that
// accepts connections and never answers leaves the UI responsive: local
// results come, the server is named, within the search deadline.
func TestDialSearchWithDeadServerIntegration(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var conns []net.Conn
	var mu sync.Mutex
	wg.Add(1)
	go func() { // owner: this test's cleanup
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		wg.Wait()
		for _, c := range conns {
			c.Close()
		}
	})
	f := newFakeEngine()
	h := newHarness(t, f, harnessOpts{prefs: ldapPrefs("ldap://"+l.Addr().String(), "dc=example,dc=com", "")})
	if _, err := h.w.dir.dir.Local().Add(directory.Contact{Name: "Bob Local", Phones: []directory.Phone{{Number: "201"}}}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	test.Type(h.w.dial, "bob")
	h.waitFor("error shown", func() bool { return h.w.dir.status.Visible() })
	elapsed := time.Since(start)
	if r := resultRows(h.w); len(r) != 1 || !strings.HasPrefix(r[0], "Bob Local") {
		t.Fatalf("local result missing: %q", r)
	}
	msg := h.w.dir.status.Text
	if !strings.Contains(msg, "LDAP") || !strings.Contains(msg, l.Addr().String()) || !strings.Contains(msg, "did not answer") {
		t.Fatalf("unclear message %q", msg)
	}
	if elapsed > directory.DefaultSearchTimeout+searchDebounce+time.Second {
		t.Fatalf("results after %v", elapsed)
	}
	t.Logf("dead LDAP named after %v: %s", elapsed, msg)
}

// TestDirectorySettingsFitsTheWindow: the Directory tab, Save and Cancel
// lie inside the default window at scale 1 and 2; captures go to
// docs/screenshots with make screenshots (PARLO_SCREENSHOTS_DIR).
func TestDirectorySettingsFitsTheWindow(t *testing.T) {
	for _, scale := range []float32{1, 2} {
		name := map[float32]string{1: "scale1", 2: "scale2"}[scale]
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, newFakeEngine(), harnessOpts{prefs: func(p fyne.Preferences) {
				p.SetString(prefCardDAVURL, "https://dav.example.com/")
				p.SetString(prefCardDAVUser, "alice")
				p.SetString(prefLDAPURL, "ldaps://ldap.example.com")
				p.SetString(prefLDAPBase, "ou=people,dc=example,dc=com")
				p.SetString(prefDialRules, "+33=0, +=00")
			}})
			h.w.win.Canvas().(test.WindowlessCanvas).SetScale(scale)
			h.w.win.Resize(fyne.NewSize(980, 640))
			h.w.openSettings()
			h.settle()
			var tabs *container.AppTabs
			var buttons []*widget.Button
			for _, o := range test.LaidOutObjects(h.w.win.Canvas().Overlays().Top()) {
				switch o := o.(type) {
				case *container.AppTabs:
					tabs = o
				case *widget.Button:
					if o.Text == "Save" || o.Text == "Cancel" {
						buttons = append(buttons, o)
					}
				}
			}
			if tabs == nil || len(buttons) != 2 {
				t.Fatalf("dialog has tabs %v, %d of Save/Cancel", tabs != nil, len(buttons))
			}
			tabs.SelectIndex(len(tabs.Items) - 1)
			if tabs.Selected().Text != "Directory" {
				t.Fatalf("last tab is %q", tabs.Selected().Text)
			}
			h.settle()
			drv := fyne.CurrentApp().Driver()
			win := h.w.win.Canvas().Size()
			tp := drv.AbsolutePositionForObject(tabs)
			for _, b := range buttons {
				bp := drv.AbsolutePositionForObject(b)
				if bp.Y+b.Size().Height > win.Height || bp.X+b.Size().Width > win.Width || bp.X < 0 {
					t.Errorf("%s at %v size %v is outside the %v window", b.Text, bp, b.Size(), win)
				}
				if bp.Y < tp.Y+tabs.Size().Height {
					t.Errorf("%s at y=%v covers the tabs (bottom at %v)", b.Text, bp.Y, tp.Y+tabs.Size().Height)
				}
			}
			saveCapture(t, h.w.win, "settings-directory-"+name+".png")
		})
	}
}

// TestDirectorySettingsSaveKeepsPasswordsInTheKeyring: the passwords go
// to the secret store, not to preferences, and a bad rule is refused.
func TestDirectorySettingsSaveKeepsPasswordsInTheKeyring(t *testing.T) {
	h := newHarness(t, newFakeEngine(), harnessOpts{})
	s := DirectorySettings{CardDAVURL: "https://dav.example.com/", CardDAVUser: "alice", CardDAVPassword: "dav-pw",
		LDAPURL: "ldap://ldap.example.com", LDAPBindDN: "cn=r,dc=x", LDAPPassword: "ldap-pw", LDAPBase: "dc=x", DialRules: "+33=0"}
	h.w.dir.save(s)
	h.settle()
	got, err := LoadDirectorySettings(h.app.Preferences(), h.secrets)
	if err != nil || got != s {
		t.Fatalf("loaded %+v, %v", got, err)
	}
	noSecrets, _ := LoadDirectorySettings(h.app.Preferences(), nil)
	if noSecrets.CardDAVPassword != "" || noSecrets.LDAPPassword != "" {
		t.Fatal("a password is in the preferences")
	}
	if h.w.dir.rewrite("+33 1 23") != "0123" {
		t.Fatal("saved rules not applied")
	}
	if _, err := (DirectorySettings{DialRules: "+33"}).Config("x"); err == nil {
		t.Fatal("bad rule accepted")
	}
}

// saveCapture renders the window with the software renderer into
// $PARLO_SCREENSHOTS_DIR (make screenshots), else a temporary directory.
func saveCapture(t *testing.T, win fyne.Window, name string) {
	t.Helper()
	dir := os.Getenv("PARLO_SCREENSHOTS_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	img := win.Canvas().Capture()
	checkNotBlank(t, img)
	out, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if err := png.Encode(out, img); err != nil {
		t.Fatal(err)
	}
}

// TestAddContactFromCall: "Add to contacts" during a call keeps the party
// in the local book, and the next call from that number is named from it.
func TestAddContactFromCall(t *testing.T) {
	f := newFakeEngine()
	h := newHarness(t, f, harnessOpts{})
	a := f.incoming("", "0611223344")
	f.establish(a)
	h.waitFor("active", func() bool { e := h.w.active(); return e != nil && e.id() == a })
	h.w.dir.addContact("Carla", "0611223344")
	var add *widget.Button
	for _, o := range test.LaidOutObjects(h.w.win.Canvas().Overlays().Top()) {
		if b, ok := o.(*widget.Button); ok && b.Text == "Add" {
			add = b
		}
	}
	if add == nil {
		t.Fatal("no Add to contacts form")
	}
	test.Tap(add)
	h.settle()
	c, err := h.w.dir.dir.Local().Lookup(t.Context(), "+33 6 11 22 33 44")
	if err != nil || c.Name != "Carla" {
		t.Fatalf("contact: %+v %v", c, err)
	}
	f.end(a)
	b := f.incoming("", "0611223344")
	h.waitFor("named from contacts", func() bool {
		card := h.w.incoming.cards[b]
		return card != nil && card.name.Text == "Incoming call: Carla"
	})
}

// TestContactsWindowEditsAndDeletes: the local contacts window edits a
// contact's name and numbers and deletes it, in the file.
func TestContactsWindowEditsAndDeletes(t *testing.T) {
	h := newHarness(t, newFakeEngine(), harnessOpts{})
	local := h.w.dir.dir.Local()
	if _, err := local.Add(directory.Contact{Name: "Dan", Phones: []directory.Phone{{Label: "work", Number: "201"}}}); err != nil {
		t.Fatal(err)
	}
	h.w.dir.openContacts()
	c := h.w.dir.contacts
	if c == nil || len(c.contacts) != 1 || !c.edit.Disabled() {
		t.Fatalf("window: %+v", c)
	}
	c.list.Select(0)
	if c.edit.Disabled() || c.del.Disabled() {
		t.Fatal("Edit/Delete not enabled by a selection")
	}
	if err := c.save(c.contacts[0], "Daniel", "201, 0612345678"); err != nil {
		t.Fatal(err)
	}
	got := local.List()
	if len(got) != 1 || got[0].Name != "Daniel" || len(got[0].Phones) != 2 || got[0].Phones[0].Label != "work" {
		t.Fatalf("after edit: %+v", got)
	}
	if err := c.save(directory.Contact{}, "", ""); err == nil {
		t.Fatal("an empty contact was saved")
	}
	c.list.Select(0)
	c.deleteSelected()
	var yes *widget.Button
	for _, o := range test.LaidOutObjects(c.win.Canvas().Overlays().Top()) {
		if b, ok := o.(*widget.Button); ok && b.Text == "Yes" {
			yes = b
		}
	}
	if yes == nil {
		t.Fatal("no confirmation")
	}
	test.Tap(yes)
	if n := len(local.List()); n != 0 || len(c.contacts) != 0 {
		t.Fatalf("%d contacts after delete", n)
	}
	reopened, err := directory.OpenLocal(local.Path())
	if err != nil || len(reopened.List()) != 0 {
		t.Fatalf("file after delete: %v", err)
	}
}

// TestAddContactFromHistory: the History window's "Add to contacts" keeps
// the selected call's party, named as the call was.
func TestAddContactFromHistory(t *testing.T) {
	st, err := history.Open(filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Begin(history.Record{CallID: "h1", Direction: history.Incoming, Remote: "sip:0611223344@pbx", RemoteName: "Eve", Outcome: history.OutcomeMissed, Start: time.Now()}); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, newFakeEngine(), harnessOpts{desktop: desktopOptions{history: st}})
	h.w.openHistory()
	hw := h.w.history
	if hw == nil || hw.sel != 0 {
		t.Fatal("history not open with its first row selected")
	}
	var addBtn, confirm *widget.Button
	for _, o := range test.LaidOutObjects(hw.win.Content()) {
		if b, ok := o.(*widget.Button); ok && b.Text == "Add to contacts" {
			addBtn = b
		}
	}
	if addBtn == nil {
		t.Fatal("no Add to contacts button")
	}
	test.Tap(addBtn)
	for _, o := range test.LaidOutObjects(hw.win.Canvas().Overlays().Top()) {
		if b, ok := o.(*widget.Button); ok && b.Text == "Add" {
			confirm = b
		}
	}
	if confirm == nil {
		t.Fatal("no form over the History window")
	}
	test.Tap(confirm)
	c, err := h.w.dir.dir.Local().Lookup(t.Context(), "0611223344")
	if err != nil || c.Name != "Eve" {
		t.Fatalf("contact: %+v, %v", c, err)
	}
}
