package ui

import (
	"context"
	"image/png"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/parlo-voip/parlo/callengine"
	"github.com/parlo-voip/parlo/internal/testpeers"
)

// kamailioPhone is a real phone registered at k as ext.
func kamailioPhone(t *testing.T, k *testpeers.Kamailio, ext string, register bool) *callengine.Phone {
	t.Helper()
	p, err := callengine.NewPhone(callengine.Options{
		Listen:  []string{"udp:127.0.0.1:0"},
		Account: &callengine.Account{URI: "sip:" + ext + "@" + k.Domain(), Password: "pw-" + ext, Registrar: "sip:" + k.UDPAddr()},
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	if register {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := p.Register(ctx); err != nil {
			t.Fatalf("%s register: %v", ext, err)
		}
	}
	return p
}

// The GUI's phone (1001) watches 1002 and 1003 through Kamailio's presence
// server: both lamps go green; 1002 calls 1003, so 1002's lamp turns red
// and 1003's amber with Pick up; the voicemail server's PUBLISH lights the
// voicemail button with the count. Pick up takes the call: the GUI has it
// answered, 1003 stops ringing. The panel at the default window size is
// saved as docs/screenshots/contacts-lamps.png (make screenshots).
func TestContactsPanelWithKamailioIntegration(t *testing.T) {
	testpeers.Require(t, "kamailio")
	users := map[string]string{"vm": "pw-vm"}
	for _, e := range []string{"1001", "1002", "1003"} {
		users[e] = "pw-" + e
	}
	k := testpeers.StartKamailio(t, testpeers.KamailioOptions{Users: users, Presence: true})
	gui := kamailioPhone(t, k, "1001", false)
	b := kamailioPhone(t, k, "1002", true)
	c := kamailioPhone(t, k, "1003", true)
	h := newHarness(t, PhoneEngine(gui), harnessOpts{accountURI: "sip:1001@" + k.Domain(), prefs: func(p fyne.Preferences) {
		p.SetString(prefWatched, "1002, 1003")
		p.SetString(prefVoicemail, "*97")
	}})
	panel := h.w.contacts
	rowSays := func(ext, text string) func() bool {
		return func() bool { return strings.Contains(panel.rows[ext].btn.Text, text) }
	}
	h.waitFor("1002 free", rowSays("1002", "free"))
	h.waitFor("1003 free", rowSays("1003", "free"))

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := b.Call(ctx, "1003", callengine.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h.waitFor("1002 on the phone", rowSays("1002", "on the phone"))
	h.waitFor("1003 ringing", rowSays("1003", "ringing"))
	if !panel.rows["1003"].pickup.Visible() {
		t.Fatal("no Pick up on the ringing lamp")
	}
	k.PublishMWI(t, "vm", "pw-vm", "1001", "Messages-Waiting: yes\r\nVoice-Message: 2/4 (0/0)\r\n")
	h.waitFor("voicemail lamp", func() bool { return panel.vm.Text == "Voicemail 2" })
	h.settle()
	img := h.w.win.Canvas().Capture()
	if sz := h.w.win.Canvas().Size(); sz.Width < 900 || sz.Height < 600 {
		t.Errorf("window %v, not the default size", sz)
	}
	if dir := os.Getenv("PARLO_SCREENSHOTS_DIR"); dir != "" {
		out, err := os.Create(filepath.Join(dir, "contacts-lamps.png"))
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		if err := png.Encode(out, img); err != nil {
			t.Fatal(err)
		}
	}

	test.Tap(panel.rows["1003"].pickup)
	h.waitFor("the picked-up call answered", func() bool {
		for _, e := range h.w.calls {
			if stateOf(e.s) == stateActive {
				return true
			}
		}
		return false
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		calls := c.Calls()
		if len(calls) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("1003 still has %d calls after the pickup", len(calls))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := b.Calls(); len(got) != 1 || got[0].SipCallID == s.SipCallID || !got[0].IsEstablished() {
		t.Fatalf("1002's calls after the pickup: %+v", got)
	}
}
