// Package testpeers starts real SIP peers and X displays for Parlo's
// integration tests: Kamailio (registrar + proxy with digest auth, SIP over
// UDP, TCP and WebSocket), baresip (a far-end phone driven over ctrl_tcp),
// Xvfb and Xorg with the dummy driver (two RandR monitors).
//
// Every peer listens on 127.0.0.1 only, on ports picked by FreeUDPPort,
// FreeTCPPort or FreeSIPPort, writes its configuration and logs into
// tb.TempDir(), runs as a child process in its own process group, and is
// stopped by tb.Cleanup. Each Start function fails the test with the peer's log
// when the peer does not come up before its deadline.
//
// The binaries come from Debian 12 packages that CI installs (`make deps`), so
// a missing binary is a test failure, not a skip: see Require. Packages:
//
//	kamailio kamailio-websocket-modules            StartKamailio
//	baresip-core baresip-ffmpeg                    StartBaresip (ffmpeg: avcodec, Video)
//	xvfb x11-utils                                 StartXvfb (xdpyinfo, xwininfo)
//	xserver-xorg-core xserver-xorg-video-dummy     StartDummyTwoMonitors
//	x11-xserver-utils                              xrandr
//	ffmpeg                                         ShowImage, ShowTestPattern (ffplay)
//	linphone-cli                                   StartLinphone (linphonec)
//	coturn                                         StartCoturn
//	chromium nodejs (+ scripts/browser-deps.sh)    StartBrowser, NewBrowser
//	sipvicious                                     RunSipvicious (svmap, svwar, svcrack, svcrash)
//	radicale                                       StartRadicale (CardDAV)
//	slapd ldap-utils                               StartSlapd (LDAP; slapadd)
//	sway swaybg dbus-daemon pipewire wireplumber   StartSway (headless Wayland, ScreenCast portal)
//	xdg-desktop-portal xdg-desktop-portal-wlr      StartSway
//
// Tests that use a display must pass Display.Env() to their children rather
// than set DISPLAY in the test process: parallel tests would share it.
package testpeers

import (
	"os/exec"
	"strings"
	"testing"
)

// Require fails the test (it does not skip it) when any of the binaries is
// not on PATH. CI installs them, so a missing one is a broken environment and
// must not pass as green. Every peer this package starts goes through it, so
// under `go test -short` it skips the test instead: -short runs what needs
// no peer process.
func Require(tb testing.TB, binaries ...string) {
	tb.Helper()
	SkipIfShort(tb, strings.Join(binaries, ", "))
	var missing []string
	for _, b := range binaries {
		if _, err := exec.LookPath(b); err != nil {
			missing = append(missing, b)
		}
	}
	if len(missing) > 0 {
		tb.Fatalf("run `make deps` (missing %s)", strings.Join(missing, ", "))
	}
}

// SkipIfShort skips the test under `go test -short`, naming the peer
// processes it would have started; `make test` (no -short) runs it.
func SkipIfShort(tb testing.TB, peers string) {
	tb.Helper()
	if testing.Short() {
		tb.Skipf("-short: this test starts real peer processes (%s)", peers)
	}
}
