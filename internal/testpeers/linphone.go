package testpeers

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ErrLinphoneCall is returned when a Linphone call ends in an error (a 4xx,
// 5xx or 6xx final response, or a media negotiation failure) before it was
// connected.
var ErrLinphoneCall = errors.New("testpeers: linphone call failed")

// LinphoneOptions configures StartLinphone. The zero value is a phone
// "linphone" on a free port, plain RTP, manual answer, sending a 440 Hz tone
// and recording what it hears.
type LinphoneOptions struct {
	// User is the user part of the phone's address; "linphone" when empty.
	User string
	// Port is the SIP port, UDP only; a free one when zero.
	Port int
	// AudioPort is the audio RTP port; RTCP goes to AudioPort+1 (Linphone
	// does not use rtcp-mux by default). A free pair when zero.
	AudioPort int

	// SRTP is "none" (default: RTP/AVP) or "srtp": SDES-keyed SRTP made
	// mandatory, so Linphone offers RTP/SAVP with a=crypto (RFC 4568) and
	// refuses plain RTP offers.
	SRTP string
	// AutoAnswer answers incoming calls at once (linphonec -a).
	AutoAnswer bool
	// LateOffer sends INVITEs without SDP (RFC 3261 §13.2.1: the offer
	// comes in the 200 OK, the answer in the ACK), liblinphone's
	// [sip] sdp_200_ack, as PBXes do in transfers and click-to-call.
	LateOffer bool
	// TCP listens on TCP at the SIP port too, as Linphone does by default
	// (large requests, such as WebRTC offers, come over TCP).
	TCP bool

	// PlayFile is a 16-bit PCM WAV file Linphone sends into calls, looped
	// (mediastreamer resamples it). When empty a ToneHz sine is generated.
	PlayFile string
	// ToneHz is the generated tone's frequency when PlayFile is empty; 440
	// when zero.
	ToneHz int
	// RecordFile is where Linphone writes what it hears (a 16-bit mono WAV,
	// whose header is final once the call has ended); heard.wav in the
	// peer's directory when empty.
	RecordFile string

	// AudioCodecs, when set, are the only audio codecs enabled, in this
	// order: names as linphonec's "codec list" shows them ("G722", "PCMU",
	// "opus", …). Empty keeps Linphone's defaults.
	AudioCodecs []string

	// ReadyTimeout bounds start-up; 10 s when zero.
	ReadyTimeout time.Duration
}

// linphoneCodecs are linphonec 5.1's audio codecs with their rtpmap rate
// and channels; the first six are the ones it enables by default, which
// AudioCodecs must switch off explicitly (liblinphone appends codecs the
// configuration does not name with their default state).
var linphoneCodecs = []struct {
	mime           string
	rate, channels int
}{
	{"opus", 48000, 2}, {"speex", 16000, 1}, {"speex", 8000, 1}, {"PCMU", 8000, 1}, {"PCMA", 8000, 1},
	{"G729", 8000, 1}, {"G722", 8000, 1}, {"GSM", 8000, 1},
}

// linphoneCodecSections writes [audio_codec_N] sections enabling want, in
// order, and disabling every other codec linphonec knows.
func linphoneCodecSections(want []string) []string {
	var out []string
	n := 0
	add := func(mime string, rate, ch int, on bool) {
		e := "0"
		if on {
			e = "1"
		}
		out = append(out, fmt.Sprintf("[audio_codec_%d]", n), "mime="+mime, "rate="+strconv.Itoa(rate),
			"channels="+strconv.Itoa(ch), "enabled="+e)
		n++
	}
	for _, w := range want {
		for _, c := range linphoneCodecs {
			if strings.EqualFold(c.mime, w) {
				add(c.mime, c.rate, c.channels, true)
			}
		}
	}
	for _, c := range linphoneCodecs {
		if !slices.ContainsFunc(want, func(w string) bool { return strings.EqualFold(w, c.mime) }) {
			add(c.mime, c.rate, c.channels, false)
		}
	}
	return out
}

// Linphone is a running linphonec 5.1 driven over its standard input.
//
// linphone-daemon has no command to record what a call hears, and
// lp-auto-answer only answers with a media file; linphonec has "soundcard
// use files" (linphone_core_set_use_files), with "play" and "record" naming
// the WAV files that replace the microphone and the speaker, so a tone can
// be checked by frequency both ways without a sound card.
type Linphone struct {
	opts    LinphoneOptions
	dir     string
	logFile string
	proc    *process
	out     *lineLog

	stdinMu sync.Mutex
	stdin   io.WriteCloser

	closeOnce sync.Once
}

// StartLinphone writes a config file and HOME into tb.TempDir(), starts
// linphonec with them, switches it to file-based audio and waits until it
// listens. It is stopped by tb.Cleanup.
//
// SIP and RTP are bound to 127.0.0.1 (UDP only, no IPv6): without
// "[rtp] bind_address" Linphone puts the address of its default route (an
// IPv6 one on some machines) into the SDP of its offers.
func StartLinphone(tb testing.TB, opts LinphoneOptions) *Linphone {
	tb.Helper()
	Require(tb, "linphonec")
	if opts.User == "" {
		opts.User = "linphone"
	}
	if opts.Port == 0 && opts.TCP {
		opts.Port = FreeSIPPort(tb, false) // free on UDP and TCP
	} else if opts.Port == 0 {
		opts.Port = FreeUDPPort(tb)
	}
	if opts.AudioPort == 0 {
		// FreeSIPPort with alsoNext checks port and port+1: RTP and RTCP.
		opts.AudioPort = FreeSIPPort(tb, true)
	}
	switch opts.SRTP {
	case "":
		opts.SRTP = "none"
	case "none", "srtp":
	default:
		tb.Fatalf("testpeers: LinphoneOptions.SRTP %q is not none or srtp", opts.SRTP)
	}
	if opts.ToneHz == 0 {
		opts.ToneHz = 440
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 10 * time.Second
	}
	dir := tb.TempDir()
	if opts.PlayFile == "" {
		opts.PlayFile = filepath.Join(dir, "tone.wav")
		if err := WriteToneWAV(opts.PlayFile, float64(opts.ToneHz), 8000, 10*time.Second); err != nil {
			tb.Fatalf("testpeers: %v", err)
		}
	}
	if opts.RecordFile == "" {
		opts.RecordFile = filepath.Join(dir, "heard.wav")
	}
	l := &Linphone{opts: opts, dir: dir, logFile: filepath.Join(dir, "linphone.log"), out: newLineLog()}

	// liblinphone keeps its database in $HOME/.local/share/linphone and
	// refuses calls (503) when it cannot open it.
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(filepath.Join(home, ".local", "share", "linphone"), 0o755); err != nil {
		tb.Fatalf("testpeers: %v", err)
	}
	rc := filepath.Join(dir, "linphonerc")
	if err := os.WriteFile(rc, []byte(linphoneConfig(opts)), 0o600); err != nil {
		tb.Fatalf("testpeers: %v", err)
	}
	args := []string{"-c", rc, "-d", "6", "-l", l.logFile}
	if opts.AutoAnswer {
		args = append(args, "-a")
	}
	if err := l.start(args, dir, append(os.Environ(), "HOME="+home)); err != nil {
		tb.Fatalf("testpeers: %v", err)
	}
	tb.Cleanup(l.Close)

	ctx, cancel := context.WithTimeout(context.Background(), opts.ReadyTimeout)
	defer cancel()
	if err := l.setUp(ctx); err != nil {
		tb.Fatalf("testpeers: linphone %s: %v\n--- linphonec output ---\n%s", l.URI(), err, l.Output())
	}
	return l
}

func linphoneConfig(o LinphoneOptions) string {
	enc, mandatory := "none", "0"
	tcpPort := "0"
	if o.TCP {
		tcpPort = strconv.Itoa(o.Port)
	}
	if o.SRTP == "srtp" {
		enc, mandatory = "srtp", "1"
	}
	lines := []string{
		"# Generated by internal/testpeers.",
		"[sip]",
		"sip_port=" + strconv.Itoa(o.Port),
		// 0 disables the transport (-1 would pick a random port).
		"sip_tcp_port=" + tcpPort,
		"sip_tls_port=0",
		"bind_address=127.0.0.1",
		"use_ipv6=0",
		"contact=sip:" + o.User + "@127.0.0.1:" + strconv.Itoa(o.Port),
		// Otherwise the From of outgoing calls carries the default route's
		// address instead of the contact's host.
		"guess_hostname=0",
		"media_encryption=" + enc,
		"media_encryption_mandatory=" + mandatory,
		// Answer at once when told to, and never time out a ringing call
		// within a test.
		"inc_timeout=60",
		"sdp_200_ack=" + map[bool]string{false: "0", true: "1"}[o.LateOffer],
		"[rtp]",
		// The address written into SDP c= lines and bound by the RTP
		// sockets (liblinphone's MediaSession::getLocalIp reads it first).
		"bind_address=127.0.0.1",
		"audio_rtp_port=" + strconv.Itoa(o.AudioPort),
		"audio_jitt_comp=60",
		"[video]",
		"enabled=0",
		"capture=0",
		"display=0",
		"[sound]",
		"echocancellation=0",
	}
	if len(o.AudioCodecs) > 0 {
		lines = append(lines, linphoneCodecSections(o.AudioCodecs)...)
	}
	return strings.Join(lines, "\n") + "\n"
}

// start runs linphonec with a pipe on its standard input. It builds the
// process like startProcess (own process group, output in the log), adding
// stdin and splitting stdout into lines for WaitOutput.
func (l *Linphone) start(args []string, dir string, env []string) error {
	cmd := exec.Command("linphonec", args...)
	cmd.Dir = dir
	cmd.Env = env
	lb := &logBuffer{}
	w := io.MultiWriter(lb, l.out)
	cmd.Stdout = w
	cmd.Stderr = w
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 2 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start linphonec: %w", err)
	}
	l.stdin = stdin
	p := &process{name: "linphonec", cmd: cmd, log: lb, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	l.proc = p
	return nil
}

// setUp switches audio to files and waits until linphonec has applied it
// and listens for SIP.
func (l *Linphone) setUp(ctx context.Context) error {
	for _, c := range []string{
		"soundcard use files",
		"play " + l.opts.PlayFile,
		"record " + l.opts.RecordFile,
	} {
		if err := l.Command(c); err != nil {
			return err
		}
	}
	if _, err := l.WaitOutput(ctx, "Using wav files instead of soundcard."); err != nil {
		return err
	}
	// Commands run in order: the answer to this one proves the ones before
	// were applied.
	if err := l.Command("autoanswer"); err != nil {
		return err
	}
	want := "Auto answer is disabled."
	if l.opts.AutoAnswer {
		want = "Auto answer is enabled."
	}
	if _, err := l.WaitOutput(ctx, want); err != nil {
		return err
	}
	for udpFree(l.opts.Port) {
		if l.proc.exited() {
			return fmt.Errorf("%w: %w", ErrProcessExited, l.proc.err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: SIP port %d not bound: %w", ErrNotReady, l.opts.Port, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// Command writes one linphonec command line ("call sip:…", "answer",
// "terminate", "pause", …) to its standard input.
func (l *Linphone) Command(cmd string) error {
	l.stdinMu.Lock()
	defer l.stdinMu.Unlock()
	if strings.ContainsAny(cmd, "\r\n") {
		return fmt.Errorf("testpeers: linphone command %q spans lines", cmd)
	}
	if _, err := io.WriteString(l.stdin, cmd+"\n"); err != nil {
		return fmt.Errorf("testpeers: linphone command %q: %w", cmd, err)
	}
	return nil
}

// WaitOutput waits for an output line containing match that no earlier
// WaitOutput returned, and returns it. Lines printed before the call count
// too. Useful lines (linphonec 5.1):
//
//	Receiving new incoming call from <uri>, assigned id <n>
//	Call <n> with <uri> connected.
//	Media streams established with <uri> for call <n> (audio).
//	Call <n> with <uri> error.
//	Call <n> with <uri> ended (<reason>).
func (l *Linphone) WaitOutput(ctx context.Context, match string) (string, error) {
	return l.waitLine(ctx, 0, func(s string) bool { return strings.Contains(s, match) })
}

func (l *Linphone) waitLine(ctx context.Context, after int, match func(string) bool) (string, error) {
	line, err := l.out.wait(ctx, after, match, l.proc.done)
	if err != nil {
		if l.proc.exited() {
			err = fmt.Errorf("%w: %w", ErrProcessExited, l.proc.err)
		}
		return "", fmt.Errorf("testpeers: linphone %s: waiting for output: %w", l.opts.User, err)
	}
	return line, nil
}

// callOutcome matches the lines that end the set-up of call id: connected,
// or an error or end before that.
func callOutcome(id string) func(string) bool {
	return func(s string) bool {
		if !strings.HasPrefix(s, "Call "+id+" ") {
			return false
		}
		return strings.HasSuffix(s, " connected.") || strings.HasSuffix(s, " error.") || strings.Contains(s, " ended (")
	}
}

var assignedID = regexp.MustCompile(`assigned id (\d+)`)

// Dial calls uri and returns the time from writing the call command until
// linphonec reports the call connected (200 OK received and ACKed), and
// Linphone's call id. A call that fails first returns ErrLinphoneCall with
// linphonec's line.
func (l *Linphone) Dial(ctx context.Context, uri string) (time.Duration, string, error) {
	after := l.out.seq()
	start := time.Now()
	if err := l.Command("call " + uri); err != nil {
		return 0, "", err
	}
	line, err := l.waitLine(ctx, after, func(s string) bool { return strings.HasPrefix(s, "Establishing call id to ") })
	if err != nil {
		return 0, "", err
	}
	m := assignedID.FindStringSubmatch(line)
	if m == nil {
		return 0, "", fmt.Errorf("%w: %q", ErrLinphoneCall, line)
	}
	id := m[1]
	line, err = l.waitLine(ctx, after, callOutcome(id))
	elapsed := time.Since(start)
	if err != nil {
		return 0, id, err
	}
	if !strings.HasSuffix(line, " connected.") {
		return 0, id, fmt.Errorf("%w: %s: %q", ErrLinphoneCall, uri, line)
	}
	return elapsed, id, nil
}

// WaitIncoming waits for an incoming call and returns its id.
func (l *Linphone) WaitIncoming(ctx context.Context) (string, error) {
	line, err := l.WaitOutput(ctx, "Receiving new incoming call from ")
	if err != nil {
		return "", err
	}
	m := assignedID.FindStringSubmatch(line)
	if m == nil {
		return "", fmt.Errorf("%w: %q", ErrLinphoneCall, line)
	}
	return m[1], nil
}

// WaitConnected waits until call id is connected, failing with
// ErrLinphoneCall when it errors or ends first.
func (l *Linphone) WaitConnected(ctx context.Context, id string) error {
	line, err := l.waitLine(ctx, 0, callOutcome(id))
	if err != nil {
		return err
	}
	if !strings.HasSuffix(line, " connected.") {
		return fmt.Errorf("%w: %q", ErrLinphoneCall, line)
	}
	return nil
}

// WaitEnded waits until call id has ended and returns linphonec's line,
// which carries the reason. Linphone finalises the recording's WAV header
// when the call's audio stream stops, i.e. by then.
func (l *Linphone) WaitEnded(ctx context.Context, id string) (string, error) {
	return l.waitLine(ctx, 0, func(s string) bool {
		return strings.HasPrefix(s, "Call "+id+" with ") && strings.Contains(s, " ended (")
	})
}

// SIPAddr is "127.0.0.1:port" where Linphone listens for SIP over UDP.
func (l *Linphone) SIPAddr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(l.opts.Port))
}

// URI is the phone's direct contact, "sip:user@127.0.0.1:port".
func (l *Linphone) URI() string { return "sip:" + l.opts.User + "@" + l.SIPAddr() }

// RecordingPath is the WAV file of what Linphone heard in its latest call.
// Linphone stops recording while it holds the call itself, and rewrites the
// file for each call without truncating it: use one Linphone per call whose
// recording matters.
func (l *Linphone) RecordingPath() string { return l.opts.RecordFile }

// Output is what linphonec printed so far (its command-line interface).
func (l *Linphone) Output() string { return l.proc.log.String() }

// Log is liblinphone's debug log so far, SIP messages (and their SDP)
// included: the trace to quote when a call fails.
func (l *Linphone) Log() string {
	b, err := os.ReadFile(l.logFile)
	if err != nil {
		return fmt.Sprintf("(no linphone log: %v)", err)
	}
	return string(b)
}

// SIPTrace is the SIP messages of Log, without the rest of liblinphone's
// debug output.
func (l *Linphone) SIPTrace() string { return extractSIPMessages(l.Log()) }

// Dir is the peer's directory (config, HOME, log, recording).
func (l *Linphone) Dir() string { return l.dir }

// Close asks linphonec to quit, kills it if it has not exited within a few
// seconds, and closes its stdin. It is idempotent and registered with
// tb.Cleanup by StartLinphone.
func (l *Linphone) Close() {
	l.closeOnce.Do(func() {
		if !l.proc.exited() {
			_ = l.Command("quit")
		}
		l.proc.stopOnce.Do(func() { l.proc.waitOrKill(3 * time.Second) })
		l.stdinMu.Lock()
		_ = l.stdin.Close()
		l.stdinMu.Unlock()
	})
}

// sipStart matches the first line of a SIP message in liblinphone's log,
// which prints each message sent or received after a log line of its own.
var sipStart = regexp.MustCompile(`^(?:[A-Z]+ sip:\S+ SIP/2\.0|SIP/2\.0 \d{3} .*)$`)

// extractSIPMessages returns the SIP messages found in a liblinphone log:
// each from its start line to the blank line after its body.
func extractSIPMessages(log string) string {
	var b strings.Builder
	in, blank := false, 0
	for _, line := range strings.Split(log, "\n") {
		line = strings.TrimRight(line, "\r")
		switch {
		case sipStart.MatchString(line):
			in, blank = true, 0
			b.WriteString("\n")
		case !in:
			continue
		case line == "":
			// Headers end at the first blank line; the body (SDP) ends at
			// the next one, or at a timestamped log line.
			blank++
			if blank == 2 {
				in = false
				continue
			}
		case len(line) > 4 && line[4] == '-' && strings.HasPrefix(line, "20"):
			in = false
			continue
		}
		b.WriteString(line)
		b.WriteString("\n")
	}
	return b.String()
}

// lineLog splits a child's output into lines, without linphonec's prompt,
// and lets callers wait for one. Each line is returned by at most one wait
// that did not name a starting point.
type lineLog struct {
	mu      sync.Mutex
	partial []byte
	lines   []string
	taken   []bool
	changed chan struct{} // closed and replaced on every new line
}

func newLineLog() *lineLog { return &lineLog{changed: make(chan struct{})} }

// Write implements io.Writer for exec's output copier.
func (o *lineLog) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.partial = append(o.partial, p...)
	added := false
	for {
		i := strings.IndexByte(string(o.partial), '\n')
		if i < 0 {
			break
		}
		line := strings.TrimRight(string(o.partial[:i]), "\r")
		o.partial = o.partial[i+1:]
		// The prompt is printed before the next command is read, so
		// asynchronous messages arrive behind it on the same line.
		for strings.HasPrefix(line, "linphonec> ") {
			line = strings.TrimPrefix(line, "linphonec> ")
		}
		o.lines = append(o.lines, line)
		o.taken = append(o.taken, false)
		added = true
	}
	if added {
		close(o.changed)
		o.changed = make(chan struct{})
	}
	return len(p), nil
}

// seq is the number of lines so far: a starting point for wait.
func (o *lineLog) seq() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.lines)
}

// wait returns the first line at index >= after matching match. With
// after == 0 it skips and marks lines returned before.
func (o *lineLog) wait(ctx context.Context, after int, match func(string) bool, exited <-chan struct{}) (string, error) {
	for {
		o.mu.Lock()
		for i := after; i < len(o.lines); i++ {
			if after == 0 && o.taken[i] {
				continue
			}
			if match(o.lines[i]) {
				o.taken[i] = true
				line := o.lines[i]
				o.mu.Unlock()
				return line, nil
			}
		}
		changed := o.changed
		o.mu.Unlock()
		select {
		case <-changed:
		case <-exited:
			// Lines written before the exit are in already except for the
			// copier's last write; look once more, then give up.
			exited = nil
			select {
			case <-changed:
			case <-time.After(100 * time.Millisecond):
				return "", ErrProcessExited
			}
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

// WriteToneWAV writes a 16-bit mono WAV of a sine at hz, amplitude 0.3 of
// full scale (like Parlo's test tone), at rate for d.
func WriteToneWAV(path string, hz float64, rate int, d time.Duration) error {
	n := int(d.Seconds() * float64(rate))
	data := make([]byte, 2*n)
	for i := range n {
		v := int16(math.Round(0.3 * 32767 * math.Sin(2*math.Pi*hz*float64(i)/float64(rate))))
		binary.LittleEndian.PutUint16(data[2*i:], uint16(v))
	}
	hdr := make([]byte, 44)
	copy(hdr[0:], "RIFF")
	binary.LittleEndian.PutUint32(hdr[4:], uint32(36+len(data)))
	copy(hdr[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(hdr[16:], 16)
	binary.LittleEndian.PutUint16(hdr[20:], 1) // PCM
	binary.LittleEndian.PutUint16(hdr[22:], 1) // mono
	binary.LittleEndian.PutUint32(hdr[24:], uint32(rate))
	binary.LittleEndian.PutUint32(hdr[28:], uint32(2*rate))
	binary.LittleEndian.PutUint16(hdr[32:], 2)
	binary.LittleEndian.PutUint16(hdr[34:], 16)
	copy(hdr[36:], "data")
	binary.LittleEndian.PutUint32(hdr[40:], uint32(len(data)))
	return os.WriteFile(path, append(hdr, data...), 0o644)
}
