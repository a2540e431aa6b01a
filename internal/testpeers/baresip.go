package testpeers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ErrCallClosed is returned by DialAndWaitEstablished when the call closed
// before it was established.
var ErrCallClosed = errors.New("testpeers: call closed before it was established")

// BaresipOptions configures StartBaresip. The zero value is a phone "peer" on
// free ports with no registrar, plain RTP, no ICE, manual answer and a 440 Hz
// tone.
type BaresipOptions struct {
	// User is the user part of the account; "peer" when empty.
	User string
	// Port is the SIP port for UDP and TCP; a free one when zero. baresip also
	// binds SIP over TLS on Port+1, so pass a port whose
	// neighbour is free too (FreeSIPPort(tb, true)).
	Port int
	// CtrlPort is the ctrl_tcp port; a free one when zero.
	CtrlPort int

	// Registrar is the outbound proxy and registrar, "host:port" (for example
	// Kamailio.UDPAddr()); empty means no registration, calls go direct.
	Registrar string
	// Transport towards the Registrar: "udp" (default) or "tcp".
	Transport string
	// Domain is the account's domain when Registrar is set; the Registrar's
	// address when empty (use Kamailio.Domain()).
	Domain string
	// Password answers the registrar's digest challenges.
	Password string

	// MediaEnc is the account's mediaenc: "", "srtp", "srtp-mand",
	// "srtp-mandf" or "dtls_srtp".
	MediaEnc string
	// MediaNAT is the account's medianat: "" or "ice".
	MediaNAT string
	// AutoAnswer answers incoming calls at once (answermode=auto).
	AutoAnswer bool
	// AudioCodecs restricts and orders the account's codecs, for example
	// "opus/48000/2", "G722/16000/1" or "PCMU,PCMA"; all of opus, PCMU, PCMA,
	// G722 when empty. A name without a rate means 8000 Hz to baresip, so
	// G.722 needs its sampling rate, 16000 (not its RTP clock).
	AudioCodecs string

	// ToneHz is the ausine source frequency; 440 when zero and SourceFile is
	// empty.
	ToneHz int
	// SourceFile is a WAV file played into calls (aufile) instead of a tone.
	SourceFile string

	// Video loads the vp8, vp9, avcodec (H.264) and fakevideo modules, with
	// fakevideo as both source and display: no X display is needed.
	Video bool

	// ExtraConfig lines are appended to the generated config file.
	ExtraConfig []string

	// ReadyTimeout bounds start-up (and registration); 10 s when zero.
	ReadyTimeout time.Duration
}

// Baresip is a running baresip 1.0 driven over ctrl_tcp.
type Baresip struct {
	opts   BaresipOptions
	dir    string
	recDir string
	proc   *process
	ctrl   *ctrlClient
	aor    string
}

// StartBaresip writes a config directory into tb.TempDir(), starts baresip
// with it and connects to its ctrl_tcp port. With a Registrar it also waits
// for the registration to succeed. It is stopped by tb.Cleanup.
//
// Audio never touches a sound card: the source is ausine or aufile, no player
// module is loaded, and the sndfile filter writes what the phone hears into a
// WAV file (RecordingPath).
func StartBaresip(tb testing.TB, opts BaresipOptions) *Baresip {
	tb.Helper()
	Require(tb, "baresip")
	if opts.User == "" {
		opts.User = "peer"
	}
	if opts.Port == 0 {
		opts.Port = FreeSIPPort(tb, true)
	}
	if opts.CtrlPort == 0 {
		opts.CtrlPort = FreeTCPPort(tb)
	}
	if opts.Transport == "" {
		opts.Transport = "udp"
	}
	if opts.ToneHz == 0 {
		opts.ToneHz = 440
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 10 * time.Second
	}

	dir := tb.TempDir()
	b := &Baresip{opts: opts, dir: dir, recDir: filepath.Join(dir, "recordings")}
	if err := os.MkdirAll(b.recDir, 0o755); err != nil {
		tb.Fatalf("testpeers: %v", err)
	}
	account, aor := baresipAccount(opts)
	b.aor = aor
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(baresipConfig(opts, b.recDir)), 0o644); err != nil {
		tb.Fatalf("testpeers: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "accounts"), []byte(account+"\n"), 0o600); err != nil {
		tb.Fatalf("testpeers: %v", err)
	}
	// An empty contacts file stops baresip from writing a template into $HOME.
	if err := os.WriteFile(filepath.Join(dir, "contacts"), nil, 0o644); err != nil {
		tb.Fatalf("testpeers: %v", err)
	}

	env := append(os.Environ(), "HOME="+dir)
	proc, err := startProcess("baresip", []string{"-f", dir}, dir, env)
	if err != nil {
		tb.Fatalf("testpeers: %v", err)
	}
	b.proc = proc
	tb.Cleanup(b.Close)

	ctx, cancel := context.WithTimeout(context.Background(), opts.ReadyTimeout)
	defer cancel()
	if err := b.connect(ctx); err != nil {
		tb.Fatalf("testpeers: baresip %s: %v\n--- baresip log ---\n%s", b.URI(), err, b.Log())
	}
	if opts.Registrar != "" {
		if err := b.WaitRegistered(ctx); err != nil {
			tb.Fatalf("testpeers: baresip %s: %v\n--- baresip log ---\n%s", b.URI(), err, b.Log())
		}
	}
	return b
}

func baresipConfig(o BaresipOptions, recDir string) string {
	source := "ausine," + strconv.Itoa(o.ToneHz)
	if o.SourceFile != "" {
		source = "aufile," + o.SourceFile
	}
	lines := []string{
		"# Generated by internal/testpeers.",
		"poll_method epoll",
		"sip_listen 127.0.0.1:" + strconv.Itoa(o.Port),
		// "lo" fails in baresip 1.0; the address works.
		"net_interface 127.0.0.1",
		"call_max_calls 4",
		"audio_source " + source,
		// ausine only runs at 48 kHz stereo; with other source settings an
		// auto-answering baresip never sends its 200 OK.
		"ausrc_srate 48000",
		"ausrc_channels 2",
		"audio_buffer 20-160",
		// Without rtcp_mux baresip starts a second DTLS handshake for RTCP on
		// the same port.
		"rtcp_mux yes",
		"jitter_buffer_delay 1-10",
		"rtp_stats no",
		"ctrl_tcp_listen 127.0.0.1:" + strconv.Itoa(o.CtrlPort),
		"snd_path " + recDir,
		"module_path /usr/lib/baresip/modules",
		// Codecs in order of preference.
		"module opus.so",
		"module g711.so",
		// G.722 last, so peers that restrict nothing still offer what they
		// did before it was loaded; AudioCodecs "G722/16000/1" picks it
		// alone.
		"module g722.so",
		"module ausine.so",
		"module aufile.so",
		// sndfile dumps the decoded audio of each call to a WAV file: the
		// "player" of a phone without a sound card.
		"module sndfile.so",
		"module ice.so",
		"module dtls_srtp.so",
		"module srtp.so",
	}
	if o.Video {
		lines = append(lines,
			"module vp8.so",
			"module vp9.so",
			"module avcodec.so",
			"module fakevideo.so",
			// snapshot-recv writes the next decoded frame as PNG: proof that
			// baresip decodes what it receives.
			"module snapshot.so",
			"video_source fakevideo,nil",
			"video_display fakevideo,nil",
			"video_size 640x360",
			"video_bitrate 500000",
			"video_fps 15",
		)
	}
	lines = append(lines,
		"module_tmp account.so",
		// menu provides dial/accept/hangup; ctrl_tcp only forwards commands.
		"module_app menu.so",
		"module_app ctrl_tcp.so",
	)
	lines = append(lines, o.ExtraConfig...)
	return strings.Join(lines, "\n") + "\n"
}

// baresipAccount builds the accounts line and returns it with the account's
// address of record.
func baresipAccount(o BaresipOptions) (line, aor string) {
	var params []string
	if o.Registrar != "" {
		domain := o.Domain
		if domain == "" {
			domain = o.Registrar
		}
		aor = "sip:" + o.User + "@" + domain
		line = "<" + aor + ";transport=" + o.Transport + ">"
		// The domain (parlo.test) does not resolve: send everything,
		// REGISTER included, through the registrar as outbound proxy.
		params = append(params,
			`outbound="sip:`+o.Registrar+`;transport=`+o.Transport+`"`,
			"regint=60")
		if o.Password != "" {
			params = append(params, "auth_user="+o.User, "auth_pass="+o.Password)
		}
	} else {
		aor = "sip:" + o.User + "@127.0.0.1:" + strconv.Itoa(o.Port)
		line = "<" + aor + ">"
		params = append(params, "regint=0")
	}
	if o.AutoAnswer {
		params = append(params, "answermode=auto")
	} else {
		params = append(params, "answermode=manual")
	}
	if o.MediaEnc != "" {
		params = append(params, "mediaenc="+o.MediaEnc)
	}
	if o.MediaNAT != "" {
		params = append(params, "medianat="+o.MediaNAT)
	}
	if o.AudioCodecs != "" {
		params = append(params, "audio_codecs="+o.AudioCodecs)
	}
	return line + ";" + strings.Join(params, ";"), aor
}

// connect dials ctrl_tcp until baresip accepts, then checks it answers a
// command.
func (b *Baresip) connect(ctx context.Context) error {
	if err := waitTCP(ctx, b.opts.CtrlPort, b.proc); err != nil {
		return err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(b.opts.CtrlPort)))
	if err != nil {
		return err
	}
	b.ctrl = newCtrlClient(conn)
	// "reginfo" (from menu) proves the command path works before a test
	// relies on it.
	_, err = b.ctrl.command(ctx, "reginfo", "")
	return err
}

// WaitRegistered polls the registration state until the account is
// registered. The REGISTER_OK event may fire before ctrl_tcp is connected,
// so the state is asked for rather than waited for.
func (b *Baresip) WaitRegistered(ctx context.Context) error {
	var last string
	for {
		if b.proc.exited() {
			return fmt.Errorf("%w: %w", ErrProcessExited, b.proc.err)
		}
		resp, err := b.ctrl.command(ctx, "reginfo", "")
		if err == nil {
			var m ctrlMessage
			if json.Unmarshal([]byte(resp), &m) == nil {
				last = m.Data
				// menu prints "<aor> OK <server> Expires Ns" once registered
				// (the OK in ANSI green), "ERR" or "zzz" otherwise.
				if strings.Contains(m.Data, "OK ") && strings.Contains(m.Data, "Expires") {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: not registered (last reginfo %q): %w", ErrNotReady, last, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// SIPAddr is "127.0.0.1:port" where baresip listens for SIP (UDP and TCP).
func (b *Baresip) SIPAddr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(b.opts.Port)) }

// URI is the phone's direct contact, "sip:user@127.0.0.1:port".
func (b *Baresip) URI() string { return "sip:" + b.opts.User + "@" + b.SIPAddr() }

// AOR is the account's address of record: the registered one with a
// Registrar, else URI().
func (b *Baresip) AOR() string { return b.aor }

// Command sends a ctrl_tcp command (for example "dial" with a URI, "accept",
// "hangup", "quit") and returns baresip's JSON response. A response with
// "ok": false is returned together with an ErrCommandFailed error.
func (b *Baresip) Command(ctx context.Context, cmd, params string) (string, error) {
	return b.ctrl.command(ctx, cmd, params)
}

// WaitEvent waits for an event whose type equals match, or whose raw JSON
// contains match, and which no earlier WaitEvent returned. Events that came
// before the call count too, so a test cannot miss one by waiting late.
func (b *Baresip) WaitEvent(ctx context.Context, match string) (BaresipEvent, error) {
	ev, err := b.ctrl.waitEvent(ctx, 0, true, func(ev BaresipEvent) bool {
		return ev.Type == match || strings.Contains(ev.Raw, match)
	})
	if err != nil {
		return ev, fmt.Errorf("testpeers: baresip %s: waiting for %q (events so far: %s): %w", b.opts.User, match, b.eventTypes(), err)
	}
	return ev, nil
}

// WaitEventFunc is WaitEvent with a predicate, for matching on fields such
// as Param ("video" in CALL_RTPESTAB) or PeerURI.
func (b *Baresip) WaitEventFunc(ctx context.Context, match func(BaresipEvent) bool) (BaresipEvent, error) {
	ev, err := b.ctrl.waitEvent(ctx, 0, true, match)
	if err != nil {
		return ev, fmt.Errorf("testpeers: baresip %s: waiting for an event (events so far: %s): %w", b.opts.User, b.eventTypes(), err)
	}
	return ev, nil
}

// Events returns every event received so far, oldest first.
func (b *Baresip) Events() []BaresipEvent { return b.ctrl.snapshot() }

func (b *Baresip) eventTypes() string {
	var types []string
	for _, ev := range b.ctrl.snapshot() {
		types = append(types, ev.Type)
	}
	return strings.Join(types, ",")
}

// DialAndWaitEstablished dials uri and returns the time from sending the dial
// command to CALL_ESTABLISHED on this side: the baresip-to-baresip reference
// figure for Parlo's call set-up benchmarks.
func (b *Baresip) DialAndWaitEstablished(ctx context.Context, uri string) (time.Duration, error) {
	after := b.ctrl.lastSeq()
	start := time.Now()
	if _, err := b.Command(ctx, "dial", uri); err != nil {
		return 0, err
	}
	ev, err := b.ctrl.waitEvent(ctx, after, false, func(ev BaresipEvent) bool {
		return ev.Type == "CALL_ESTABLISHED" || ev.Type == "CALL_CLOSED"
	})
	elapsed := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("testpeers: dial %s: %w", uri, err)
	}
	if ev.Type == "CALL_CLOSED" {
		return 0, fmt.Errorf("%w: %s: %s", ErrCallClosed, uri, ev.Param)
	}
	return elapsed, nil
}

// RecordingPath is the WAV file of what the phone heard in its latest call
// (sndfile's "-dec" dump), or "" before the first call. The WAV header is
// final only once the call has closed. sndfile names files by the second, so
// two calls started within one second share a file.
func (b *Baresip) RecordingPath() string {
	files, _ := filepath.Glob(filepath.Join(b.recDir, "dump-*-dec.wav"))
	if len(files) == 0 {
		return ""
	}
	sort.Strings(files) // names carry a sortable timestamp
	return files[len(files)-1]
}

// Log is what baresip printed so far, for failure messages.
func (b *Baresip) Log() string { return b.proc.log.String() }

// Dir is the generated config directory.
func (b *Baresip) Dir() string { return b.dir }

// Close asks baresip to quit, kills it if it has not exited within a few
// seconds, and closes the ctrl_tcp connection. It is idempotent and
// registered with tb.Cleanup by StartBaresip.
func (b *Baresip) Close() {
	if b.ctrl != nil && !b.proc.exited() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, _ = b.ctrl.command(ctx, "quit", "")
		cancel()
	}
	b.proc.stopOnce.Do(func() { b.proc.waitOrKill(3 * time.Second) })
	if b.ctrl != nil {
		b.ctrl.close()
	}
}

// Kill ends baresip with SIGKILL, as a crash or a pulled plug would: no BYE,
// no unregistration, its sockets simply gone. Close after it is a no-op.
func (b *Baresip) Kill() {
	b.proc.stopOnce.Do(func() { b.proc.waitOrKill(0) })
	if b.ctrl != nil {
		b.ctrl.close()
	}
}
