// Command reliability writes docs/reliability.md from the output of the
// liveness, session-timer, keep-alive, sleep/resume, soak and media
// resilience (loss, jitter, bandwidth, FEC, DTX, RTCP) tests run with
// go test -v (make reliability). The tests print their measured figures as
// "FIGURE key: value" lines; this program only arranges them, so every
// number in the document is one a test measured and asserted around.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"
)

// figureLine matches a test's figure, after go test's "file.go:NN: " prefix.
var figureLine = regexp.MustCompile(`FIGURE ([A-Za-z0-9_.]+): (.*)$`)

// resultLine matches go test -v's verdict lines.
var resultLine = regexp.MustCompile(`^\s*--- (PASS|FAIL|SKIP): (\S+) \(([0-9.]+)s\)`)

// run is what one go test -v output holds.
type run struct {
	figures map[string]string
	results []result
}

type result struct {
	name, verdict, seconds string
}

// parse reads go test -v output.
func parse(r io.Reader) (run, error) {
	out := run{figures: map[string]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := figureLine.FindStringSubmatch(line); m != nil {
			out.figures[m[1]] = strings.TrimSpace(m[2])
			continue
		}
		if m := resultLine.FindStringSubmatch(line); m != nil {
			out.results = append(out.results, result{name: m[2], verdict: m[1], seconds: m[3]})
		}
	}
	return out, sc.Err()
}

// section is one table of the document: its title, what it shows, and the
// figure keys (with row labels) in order.
type section struct {
	title, about string
	rows         [][2]string // key, label
}

var sections = []section{
	{
		title: "Vanished peer",
		about: "baresip 1.0 answers a Parlo call (defaults: media timeout 20 s, ICE disconnected/failed 5 s + 15 s), " +
			"audio is heard, then baresip is killed with SIGKILL (no BYE) or all its SIP and media packets are dropped " +
			"with nftables. Time from the kill/drop to onCallFailed (the call must end within 30 s), and the reason.",
		rows: [][2]string{
			{"vanished.webrtc.kill9", "WebRTC path (ICE, DTLS-SRTP), kill -9"},
			{"vanished.webrtc.nftdrop", "WebRTC path, packets dropped"},
			{"vanished.classic.kill9", "classic path (plain RTP), kill -9"},
			{"vanished.classic.nftdrop", "classic path, packets dropped"},
			{"silent.rtcp", "classic path, RTP dropped, RTCP let through, then dropped too (media timeout 8 s)"},
		},
	},
	{
		title: "Session timers (RFC 4028)",
		about: "4 s sessions (the tests lower Min-SE; the default asks 1800 s with Min-SE 90 s). Through Kamailio, " +
			"Parlo ↔ Parlo: the caller is made refresher and refreshes by UPDATE; the callee's SIP port is then " +
			"dropped and it must BYE before the interval ends. With baresip (no timer support) calling Parlo, " +
			"Parlo refreshes by re-INVITE.",
		rows: [][2]string{
			{"sessiontimer.kamailio.refreshes", "Kamailio-routed refreshes"},
			{"sessiontimer.kamailio.expiry", "no refresh → BYE"},
			{"sessiontimer.baresip.refreshes", "baresip refreshes"},
		},
	},
	{
		title: "Registrar keep-alive and sleep/resume",
		about: "OPTIONS to the registrar (Kamailio) every 0.5 s in the test (default 30 s); its packets are then " +
			"dropped and restored. Sleep is injected as a one-hour wall-clock jump while the monotonic clock " +
			"stands still (a test cannot suspend the machine); one call's peer no longer hears SIP.",
		rows: [][2]string{
			{"keepalive.lost", "registrar lost"},
			{"keepalive.back", "registrar back"},
			{"resume.noticed", "sleep noticed"},
			{"resume.reregistered", "re-REGISTER"},
			{"resume.refreshed", "live call refreshed"},
			{"resume.deadcall", "silent peer's call ended"},
		},
	},
	{
		title: "Media under loss, jitter and a bandwidth cap",
		about: "Parlo ↔ Parlo on loopback inside the test's network namespace, a moving 1280x720 screen share " +
			"plus a tone each way. Loss comes from nftables (`numgen random`, every UDP datagram in the namespace); " +
			"the cap from tc-tbf on the loopback. This kernel has no netem (CONFIG_NET_SCH_NETEM is unset), so " +
			"delay and jitter come from a user-space relay (testpeers.ImpairRelay): each phone's classic-path SDP " +
			"points its peer at the relay, which forwards every datagram after the delay ± a uniform random " +
			"jitter (reordering as netem does) or drops it. Counts are over the measuring window.",
		rows: [][2]string{
			{"loss.webrtc.share", "WebRTC path, 5 % loss"},
			{"loss.webrtc.burst", "WebRTC path, 20 % loss for 5 s, then none"},
			{"bwcap.webrtc", "WebRTC path, 600 kbit/s cap"},
			{"bwcap.legible", "WebRTC path, a text page shared over a 500 kbit/s cap from the start"},
			{"loss.classic.share", "classic path, 5 % loss (NACK/resend by pion/interceptor)"},
			{"impair.share", "classic path, 5 % loss + 50 ms ± 20 ms (relay)"},
			{"jitter.adapt", "audio playout delay, 50 ms ± 20 ms then none (relay)"},
			{"fec.classic", "Opus in-band FEC, 5 % loss (classic)"},
			{"dtx.classic", "Opus DTX (classic)"},
			{"rtcp.baresip.plain", "RTCP with baresip, plain RTP"},
			{"rtcp.baresip.sdes", "RTCP with baresip, SDES-SRTP (SRTCP)"},
		},
	},
	{
		title: "Soak",
		about: "One process: 200 sequential Parlo ↔ Parlo calls (every 10th held and resumed, every 25th " +
			"transferred blind, every 50th sharing a screen), then 20 calls at once. Goroutines, open file " +
			"descriptors, RSS and the Go heap against a baseline taken after a warm-up; the end figure is taken " +
			"once sipgo dropped the last completed transactions (kept 32 s, RFC 3261 §17).",
		rows: [][2]string{
			{"soak.baseline", "baseline"},
			{"soak.sequential", "sequential calls"},
			{"soak.concurrent", "concurrent calls"},
			{"soak.idle", "right after the last call"},
			{"soak.end", "after the transaction timers"},
		},
	},
}

// notCovered says what these figures leave out, so nobody reads more into
// them than was measured.
const notCovered = `
## What these figures do not cover

- Jitter is only applied on the classic path (the relay rewrites classic SDP; the WebRTC path's
  ICE candidates would need a TURN-like relay). Loss and the bandwidth cap cover both paths.
- FEC-rebuilt frames count lost frames decoded from the next packet's FEC data; libopus 1.3 cannot
  tell whether a packet carried FEC, so the count includes any such frame it concealed instead
  (a unit test shows FEC output clearly closer to the sent audio than concealment when FEC is coded).
- RTX (RFC 4588) on the classic path is exercised Parlo ↔ Parlo only: baresip and Linphone do
  not offer it, and a peer without it gets resends on the media SSRC (RFC 4585 §6.2.1).
- ICE consent: pion refreshes consent with any inbound packet, not only STUN binding
  responses (RFC 7675 §5.1), and has no 30 s consent expiry; the media timeout bounds the call.
  A killed peer's ICE fails fast (ICMP port unreachable ends the restart re-INVITEs), a silent
  one is caught by the media timeout.
- Sleep is simulated by shifting the wall clock the phone reads; a real suspend was not tried.
- RSS is reported but only loosely bounded (64 MiB): libopus/libvpx's C allocator keeps freed
  memory. Goroutines, file descriptors and the live Go heap are the leak checks.
`

// render writes the document.
func render(w io.Writer, r run, when time.Time) error {
	var b strings.Builder
	b.WriteString("# Reliability figures\n\n")
	b.WriteString("Generated by `make reliability` from the tests' own measurements (`FIGURE` lines of\n")
	b.WriteString("`go test -v`, read by `internal/reliability`); do not edit by hand.\n")
	fmt.Fprintf(&b, "Run of %s on this machine (2 cores shared; wall times vary with load).\n", when.UTC().Format("2006-01-02 15:04 MST"))
	for _, s := range sections {
		fmt.Fprintf(&b, "\n## %s\n\n%s\n\n| | measured |\n|---|---|\n", s.title, s.about)
		for _, row := range s.rows {
			v, ok := r.figures[row[0]]
			if !ok {
				v = "not measured in this run"
			}
			fmt.Fprintf(&b, "| %s | %s |\n", row[1], strings.ReplaceAll(v, "|", "\\|"))
		}
	}
	known := map[string]bool{}
	for _, s := range sections {
		for _, row := range s.rows {
			known[row[0]] = true
		}
	}
	var extra []string
	for k := range r.figures {
		if !known[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		b.WriteString("\n## Other figures\n\n| key | measured |\n|---|---|\n")
		for _, k := range extra {
			fmt.Fprintf(&b, "| %s | %s |\n", k, strings.ReplaceAll(r.figures[k], "|", "\\|"))
		}
	}
	b.WriteString(notCovered)
	b.WriteString("\n## Tests of this run\n\n| test | result | seconds |\n|---|---|---|\n")
	for _, res := range r.results {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", res.name, res.verdict, res.seconds)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func main() {
	r, err := parse(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "reliability:", err)
		os.Exit(1)
	}
	if len(r.figures) == 0 {
		fmt.Fprintln(os.Stderr, "reliability: no FIGURE lines on stdin (run the tests with -v)")
		os.Exit(1)
	}
	for _, res := range r.results {
		if res.verdict == "FAIL" {
			fmt.Fprintln(os.Stderr, "reliability: a test failed; docs/reliability.md is not rewritten:", res.name)
			os.Exit(1)
		}
	}
	if err := render(os.Stdout, r, time.Now()); err != nil {
		fmt.Fprintln(os.Stderr, "reliability:", err)
		os.Exit(1)
	}
}
