package main

import (
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine"
	"github.com/parlo-voip/parlo/internal/testpeers"
)

// TestCallLinkDialsThroughTheRunningInstance: the packaged desktop entry
// installed for a user and chosen as the sip: handler (xdg-mime), a running
// Parlo window, then `xdg-open sip:…` as a browser would run it. The second
// Parlo that xdg-open starts hands the link to the first and exits; the
// first shows the address in its dial field and does not dial until the
// user presses Enter; then the peer rings. The link carries URI headers,
// which the dial field shows stripped. A second plain launch also hands
// over (raises the window) instead of opening another one.
func TestCallLinkDialsThroughTheRunningInstance(t *testing.T) {
	testpeers.Require(t, "xdotool", "xprop", "xdg-open", "xdg-mime", "xclip", "make", "tar", "Xvfb")
	d := testpeers.StartXvfb(t, 1280, 800)
	peer, err := callengine.NewPhone(callengine.Options{
		Listen: []string{"udp:127.0.0.1:0"}, User: "bob", AutoAnswer: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	sub := peer.Subscribe()
	defer sub.Close()

	// The user installs Parlo from its archive and picks it for sip: links.
	tmp := t.TempDir()
	home := filepath.Join(tmp, "home")
	env := appEnv(d, home)
	run := func(dir, name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir, cmd.Env = dir, env
		if strings.HasSuffix(name, "package.sh") {
			cmd.Env = nil // the real home: its Go module cache holds the fyne tool
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	bin := buildParlo(t)
	root, _ := os.Getwd()
	run(root, filepath.Join(root, "packaging", "package.sh"), filepath.Join(tmp, "dist"), bin)
	run(tmp, "tar", "-xJf", filepath.Join(tmp, "dist", "Parlo.tar.xz"))
	run(filepath.Join(tmp, "parlo"), "make", "user-install")
	run(tmp, "xdg-mime", "default", "io.parlo.Parlo.desktop", "x-scheme-handler/sip")
	if got := run(tmp, "xdg-mime", "query", "default", "x-scheme-handler/sip"); got != "io.parlo.Parlo.desktop" {
		t.Fatalf("sip: handler is %q", got)
	}

	installed := filepath.Join(home, ".local", "bin", "parlo")
	a := startDesktopApp(t, d, installed, &home)

	// A second plain launch raises the running window and exits at once.
	start := time.Now()
	run(tmp, installed)
	t.Logf("second launch handed over and exited in %v", time.Since(start).Round(time.Millisecond))

	link := peer.ContactURI() + "?Subject=injected&X-Evil=1"
	run(tmp, "xdg-open", link)
	a.waitFor("the link in the dial field", 15*time.Second, func() bool {
		return dialFieldShows(a, peer.ContactURI())
	})
	if n := len(peer.Calls()); n != 0 {
		t.Fatalf("the link dialled without the user's confirmation (%d calls at the peer)", n)
	}
	a.keys("Return")
	a.waitFor("the peer to ring", 20*time.Second, func() bool {
		for {
			select {
			case ev := <-sub.C():
				if ev.Name == callengine.EventCallIncoming {
					return true
				}
			default:
				return false
			}
		}
	})
	if out, _ := exec.Command("xdotool", "search", "--onlyvisible", "--name", "^Parlo").Output(); len(strings.Fields(string(out))) > 1 {
		t.Errorf("more than one Parlo window: %q", out)
	}
	a.keys("ctrl+shift+e")
	a.waitFor("the call to end at the peer", 10*time.Second, func() bool { return len(peer.Calls()) == 0 })
}

// dialFieldShows reads the dial field as a user would copy it: Ctrl+L
// focuses it, Ctrl+A selects, Ctrl+C copies; xclip reads the clipboard.
func dialFieldShows(a *desktopApp, want string) bool {
	a.keys("ctrl+l", "ctrl+a", "ctrl+c")
	cmd := exec.Command("xclip", "-o", "-selection", "clipboard")
	cmd.Env = a.d.Env()
	out, err := cmd.Output()
	return err == nil && strings.TrimSpace(string(out)) == want
}
