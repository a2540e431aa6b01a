package testpeers

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"time"
)

//go:embed testdata/kamailio.cfg.tmpl
var kamailioTemplate string

// DefaultRealm is the SIP domain and digest realm Kamailio serves unless
// KamailioOptions.Realm says otherwise.
const DefaultRealm = "parlo.test"

// ErrNotReady is returned when a peer did not answer before its deadline.
var ErrNotReady = errors.New("testpeers: peer not ready")

// KamailioOptions configures StartKamailio. The zero value is a registrar with
// no users on free ports.
type KamailioOptions struct {
	// Users maps user name to password; they may REGISTER and place calls.
	Users map[string]string
	// Realm is the SIP domain and digest realm; DefaultRealm when empty.
	Realm string
	// Port is the SIP port for UDP and TCP; a free one when zero.
	Port int
	// WSPort is the SIP over WebSocket port (path "/"); a free one when zero.
	WSPort int
	// Debug is Kamailio's log level (0..3); 3 logs every request.
	Debug int
	// ReadyTimeout bounds the wait for the first OPTIONS reply; 10 s when zero.
	ReadyTimeout time.Duration
	// TLS adds SIP over TLS and over secure WebSocket listeners with a
	// certificate for 127.0.0.1 from a throw-away CA (Kamailio.CA).
	TLS bool
	// RTPEngine is the ng control address ("127.0.0.1:port") of a running
	// rtpengine (StartRTPEngine). When set, Kamailio anchors every call's
	// media there and converts it between the WebRTC profile (for clients
	// on WebSocket) and the classic one (for the others), as a PBX bridging
	// browsers and desk phones does.
	RTPEngine string
	// Presence loads Kamailio's presence server: SUBSCRIBE/NOTIFY for the
	// dialog (busy lamps, fed by pua_dialoginfo from the calls it
	// proxies), presence and message-summary packages, and PUBLISH.
	Presence bool
	// PresenceMinExpires is the shortest subscription accepted (shorter
	// ones get 423 with Min-Expires); 1 s when zero.
	PresenceMinExpires int
}

// Kamailio is a running Kamailio 5.6 registrar and proxy.
type Kamailio struct {
	port, wsPort int
	tlsPort      int
	wssPort      int
	ca           TestCA
	realm        string
	dir          string
	proc         *process
}

type kamailioUser struct{ Name, Password string }

type kamailioConfig struct {
	Port, WSPort int
	Realm        string
	DomainAlias  bool
	Debug        int
	Users        []kamailioUser
	TLSPort      int
	WSSPort      int
	TLSConfig    string
	RTPEngine    string
	Presence     bool
	DBDir        string

	PresenceMinExpires int
}

// StartKamailio writes a Kamailio config into tb.TempDir(), starts Kamailio in
// the foreground and waits until it answers an OPTIONS over UDP. It is stopped
// by tb.Cleanup.
func StartKamailio(tb testing.TB, opts KamailioOptions) *Kamailio {
	tb.Helper()
	Require(tb, "kamailio")
	if opts.Realm == "" {
		opts.Realm = DefaultRealm
	}
	if opts.Port == 0 {
		opts.Port = FreeSIPPort(tb, false)
	}
	if opts.WSPort == 0 {
		opts.WSPort = FreeTCPPort(tb)
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 10 * time.Second
	}
	cfg := kamailioConfig{
		Port:        opts.Port,
		WSPort:      opts.WSPort,
		Realm:       opts.Realm,
		DomainAlias: net.ParseIP(opts.Realm) == nil,
		Debug:       opts.Debug,
		RTPEngine:   opts.RTPEngine,
	}
	for name, pass := range opts.Users {
		if strings.ContainsAny(name+pass, "\"\\\n") {
			tb.Fatalf("testpeers: kamailio user %q or its password has a quote, backslash or newline", name)
		}
		cfg.Users = append(cfg.Users, kamailioUser{Name: name, Password: pass})
	}
	sort.Slice(cfg.Users, func(i, j int) bool { return cfg.Users[i].Name < cfg.Users[j].Name })

	dir := tb.TempDir()
	if opts.Presence {
		cfg.Presence = true
		cfg.PresenceMinExpires = max(opts.PresenceMinExpires, 1)
		cfg.DBDir = filepath.Join(dir, "db")
		if err := copyDir(kamailioDBText, cfg.DBDir); err != nil {
			tb.Fatalf("testpeers: kamailio presence tables: %v", err)
		}
	}
	var ca TestCA
	if opts.TLS {
		ca = NewTestCA(tb, dir)
		cfg.TLSPort = FreeTCPPort(tb)
		cfg.WSSPort = FreeTCPPort(tb)
		cfg.TLSConfig = filepath.Join(dir, "tls.cfg")
		tlsCfg := "[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\n" +
			"certificate = " + ca.CertFile + "\nprivate_key = " + ca.KeyFile + "\n\n[client:default]\nverify_certificate = no\nrequire_certificate = no\n"
		if err := os.WriteFile(cfg.TLSConfig, []byte(tlsCfg), 0o600); err != nil {
			tb.Fatalf("testpeers: %v", err)
		}
	}
	cfgPath := filepath.Join(dir, "kamailio.cfg")
	if err := writeTemplate(cfgPath, "kamailio.cfg", kamailioTemplate, cfg); err != nil {
		tb.Fatalf("testpeers: kamailio config: %v", err)
	}
	runDir := filepath.Join(dir, "run")
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		tb.Fatalf("testpeers: %v", err)
	}
	args := []string{
		"-DD", "-E", // stay a child of the test, log to stderr
		"-f", cfgPath,
		"-Y", runDir,
		"-P", filepath.Join(runDir, "kamailio.pid"),
		"-w", dir,
		"-m", "64", "-M", "8",
	}
	proc, err := startProcess("kamailio", args, dir, os.Environ())
	if err != nil {
		tb.Fatalf("testpeers: %v", err)
	}
	k := &Kamailio{port: opts.Port, wsPort: opts.WSPort, realm: opts.Realm, dir: dir, proc: proc,
		tlsPort: cfg.TLSPort, wssPort: cfg.WSSPort, ca: ca}
	tb.Cleanup(k.Close)

	ctx, cancel := context.WithTimeout(context.Background(), opts.ReadyTimeout)
	defer cancel()
	if err := k.waitReady(ctx); err != nil {
		tb.Fatalf("testpeers: kamailio on %s: %v\nconfig %s\n--- kamailio log ---\n%s", k.UDPAddr(), err, cfgPath, k.Log())
	}
	return k
}

// waitReady sends OPTIONS over UDP until any reply arrives, and then checks
// that the TCP and WebSocket ports accept connections.
func (k *Kamailio) waitReady(ctx context.Context) error {
	conn, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: k.port})
	if err != nil {
		return err
	}
	defer conn.Close()
	buf := make([]byte, 4096)
	for i := 0; ; i++ {
		if k.proc.exited() {
			return fmt.Errorf("%w: %w", ErrProcessExited, k.proc.err)
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%w: no reply to OPTIONS: %w", ErrNotReady, err)
		}
		req := optionsRequest(conn.LocalAddr().(*net.UDPAddr), k.port, i)
		// A write error (ICMP port unreachable) only means "not yet".
		_, _ = conn.Write([]byte(req))
		_ = conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		n, err := conn.Read(buf)
		if err == nil && strings.HasPrefix(string(buf[:n]), "SIP/2.0 ") {
			break
		}
	}
	for _, port := range []int{k.port, k.wsPort} {
		if err := waitTCP(ctx, port, k.proc); err != nil {
			return err
		}
	}
	return nil
}

func optionsRequest(local *net.UDPAddr, port, seq int) string {
	branch := "z9hG4bK-ready-" + strconv.Itoa(seq) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	return "OPTIONS sip:127.0.0.1:" + strconv.Itoa(port) + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + local.String() + ";branch=" + branch + ";rport\r\n" +
		"Max-Forwards: 70\r\n" +
		"From: <sip:probe@127.0.0.1>;tag=ready\r\n" +
		"To: <sip:127.0.0.1:" + strconv.Itoa(port) + ">\r\n" +
		"Call-ID: ready-" + branch + "\r\n" +
		"CSeq: " + strconv.Itoa(seq+1) + " OPTIONS\r\n" +
		"Content-Length: 0\r\n\r\n"
}

// waitTCP polls until port accepts a TCP connection on 127.0.0.1.
func waitTCP(ctx context.Context, port int, p *process) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for {
		if p != nil && p.exited() {
			return fmt.Errorf("%w: %w", ErrProcessExited, p.err)
		}
		d := net.Dialer{Timeout: 200 * time.Millisecond}
		c, err := d.DialContext(ctx, "tcp4", addr)
		if err == nil {
			_ = c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: tcp %s: %w", ErrNotReady, addr, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func writeTemplate(path, name, text string, data any) error {
	t, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := t.Execute(f, data); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// UDPAddr is "127.0.0.1:port" of SIP over UDP.
func (k *Kamailio) UDPAddr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(k.port)) }

// TLSAddr is the SIP over TLS listener (TLS option).
func (k *Kamailio) TLSAddr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(k.tlsPort)) }

// WSSURL is the secure WebSocket listener (TLS option).
func (k *Kamailio) WSSURL() string {
	return "wss://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(k.wssPort)) + "/"
}

// CA is the certificate authority of the TLS listeners (TLS option).
func (k *Kamailio) CA() TestCA { return k.ca }

// TCPAddr is "127.0.0.1:port" of SIP over TCP (the same port as UDP).
func (k *Kamailio) TCPAddr() string { return k.UDPAddr() }

// WSURL is the SIP over WebSocket URL, "ws://127.0.0.1:port/".
func (k *Kamailio) WSURL() string {
	return "ws://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(k.wsPort)) + "/"
}

// Port is the SIP port for UDP and TCP.
func (k *Kamailio) Port() int { return k.port }

// Domain is the SIP domain, which is also the digest realm.
func (k *Kamailio) Domain() string { return k.realm }

// Log is what Kamailio printed so far, for failure messages.
func (k *Kamailio) Log() string { return k.proc.log.String() }

// ConfigPath is the generated kamailio.cfg.
func (k *Kamailio) ConfigPath() string { return filepath.Join(k.dir, "kamailio.cfg") }

// Close stops Kamailio and its workers; it is idempotent and registered with
// tb.Cleanup by StartKamailio. Kamailio now and then ignores SIGTERM right
// after start-up (about 1 run in 6 here), and it keeps no state worth a clean
// exit, so the grace period before SIGKILL is short.
func (k *Kamailio) Close() { k.proc.stop(500 * time.Millisecond) }

// kamailioDBText holds Kamailio's empty db_text tables (package kamailio).
const kamailioDBText = "/usr/share/kamailio/dbtext/kamailio"

// copyDir copies the regular files of src into a new directory dst.
func copyDir(src, dst string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
