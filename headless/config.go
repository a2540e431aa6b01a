package headless

import (
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/parlo-voip/parlo/callengine"
	"github.com/parlo-voip/parlo/internal/directory"
)

// PasswordEnv is the environment variable holding the account's password.
// There is deliberately no --password flag: a flag shows in ps(1) output and
// in shell history.
const PasswordEnv = "PARLO_PASSWORD"

// Config is everything `parlo headless` was started with.
type Config struct {
	// Listen are the --listen addresses, validated.
	Listen []string
	// Account is set when --account is given (then Register runs at start).
	Account *callengine.Account
	// User is the user part of our Contact in direct mode (--username
	// without --account); empty means the engine's default.
	User string
	// AudioIn and AudioOut say what every call sends and where what it
	// receives goes.
	AudioIn  AudioInSpec
	AudioOut AudioOutSpec
	// AutoAnswer accepts every incoming call at once.
	AutoAnswer bool
	// TransferPolicy decides the far end's REFERs (--transfer-policy,
	// default ask: reported, and declined unless the driver accepts).
	TransferPolicy callengine.TransferPolicy
	// LogLevel of the slog JSON log on stderr.
	LogLevel slog.Level
	// ShareFPS is the screen-share frame rate (--fps, 1–60, default 30).
	ShareFPS int
	// Display is the X display screen sharing captures (--display, else
	// $DISPLAY; empty when neither is set, and then share fails).
	Display string
	// RingTimeout ends an unanswered incoming call with 480 (--ring-timeout;
	// zero means the engine's default, 120 s).
	RingTimeout time.Duration
	// MaxRinging caps incoming calls ringing at once (--max-ringing; zero
	// means the engine's default, 8).
	MaxRinging int
	// Liveness: --media-timeout, --session-expires, --keepalive (zero: the
	// engine's defaults 20 s, 30 min, 30 s; negative: off).
	MediaTimeout, SessionExpires, KeepAlive time.Duration
	// Directory is the contacts, directory servers and dialling rules
	// (--contacts, --carddav-*, --ldap-*, --dial-rules).
	Directory directory.Config
	// RecordingsDir is the folder of a record command without path
	// (--recordings, absolute, created at start; default
	// callengine.DefaultRecordingsDir, created on the first recording).
	RecordingsDir string
}

// Bounds and default of --fps. Above 60 a 2-core machine spends its time
// encoding frames no monitor refreshes that often anyway.
const (
	minShareFPS     = 1
	maxShareFPS     = 60
	defaultShareFPS = callengine.DefaultShareFPS
)

type fpsFlag struct{ fps *int }

func (f fpsFlag) String() string {
	if f.fps == nil {
		return ""
	}
	return strconv.Itoa(*f.fps)
}

func (f fpsFlag) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < minShareFPS || n > maxShareFPS {
		return fmt.Errorf("%q is not a frame rate from %d to %d", s, minShareFPS, maxShareFPS)
	}
	*f.fps = n
	return nil
}

// xDisplayName is an X display name: [host]:display[.screen] (X(7),
// "DISPLAY NAMES"), e.g. ":1", "unix:0", "localhost:10.0".
var xDisplayName = regexp.MustCompile(`^[^:\s]*:[0-9]+(\.[0-9]+)?$`)

type displayFlag struct{ name *string }

func (f displayFlag) String() string {
	if f.name == nil {
		return ""
	}
	return *f.name
}

func (f displayFlag) Set(s string) error {
	if !xDisplayName.MatchString(s) {
		return fmt.Errorf("%q is not an X display name like :1 or host:0.0", s)
	}
	*f.name = s
	return nil
}

// transferPolicyFlag is --transfer-policy.
type transferPolicyFlag struct{ p *callengine.TransferPolicy }

func (f transferPolicyFlag) String() string {
	if f.p == nil {
		return ""
	}
	return string(*f.p)
}

func (f transferPolicyFlag) Set(s string) error {
	pol, err := callengine.ParseTransferPolicy(s)
	if err != nil {
		return err
	}
	*f.p = pol
	return nil
}

// listenFlag is the repeatable --listen.
type listenFlag struct{ addrs *[]string }

func (l listenFlag) String() string {
	if l.addrs == nil {
		return ""
	}
	return strings.Join(*l.addrs, ",")
}

func (l listenFlag) Set(s string) error {
	if _, err := callengine.ParseListenAddr(s); err != nil {
		return err
	}
	*l.addrs = append(*l.addrs, s)
	return nil
}

type audioInFlag struct{ spec *AudioInSpec }

func (f audioInFlag) String() string {
	if f.spec == nil {
		return ""
	}
	return f.spec.String()
}

func (f audioInFlag) Set(s string) (err error) {
	*f.spec, err = ParseAudioIn(s)
	return err
}

type audioOutFlag struct{ spec *AudioOutSpec }

func (f audioOutFlag) String() string {
	if f.spec == nil {
		return ""
	}
	return f.spec.String()
}

func (f audioOutFlag) Set(s string) (err error) {
	*f.spec, err = ParseAudioOut(s)
	return err
}

type logLevelFlag struct{ level *slog.Level }

func (f logLevelFlag) String() string {
	if f.level == nil {
		return ""
	}
	return strings.ToLower(f.level.String())
}

func (f logLevelFlag) Set(s string) error {
	switch strings.ToLower(s) {
	case "debug":
		*f.level = slog.LevelDebug
	case "info":
		*f.level = slog.LevelInfo
	case "warn", "warning":
		*f.level = slog.LevelWarn
	case "error":
		*f.level = slog.LevelError
	default:
		return fmt.Errorf("%q is not one of debug, info, warn, error", s)
	}
	return nil
}

// newFlagSet declares every flag of `parlo headless` into cfg and raw.
func newFlagSet(cfg *Config, raw *rawAccountFlags) *flag.FlagSet {
	return newFlagSetWithDirectory(cfg, raw, &rawDirectoryFlags{})
}

// newFlagSetWithDirectory is newFlagSet also declaring the directory flags
// into dir.
func newFlagSetWithDirectory(cfg *Config, raw *rawAccountFlags, dir *rawDirectoryFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("parlo headless", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Var(listenFlag{&cfg.Listen}, "listen", "local SIP socket `transport:ip:port` (udp, tcp, ws); repeatable; port 0 picks a free one")
	fs.StringVar(&raw.account, "account", "", "address of record `URI` to register, e.g. sip:alice@example.com")
	fs.StringVar(&raw.registrar, "registrar", "", "registrar and outbound proxy `URI` (sip:host:port;transport=tcp, ws://host:port/)")
	fs.StringVar(&raw.username, "username", "", "digest auth user `NAME` (with --account), or our Contact's user part (without)")
	fs.StringVar(&raw.transport, "transport", "", "override the registrar's transport: udp, tcp, tls, ws, wss")
	fs.StringVar(&raw.caFile, "ca-file", "", "PEM `file` of extra CAs trusted for TLS/WSS")
	fs.StringVar(&raw.passwordFile, "password-file", "", "file holding the password (else $"+PasswordEnv+")")
	fs.Var(audioInFlag{&cfg.AudioIn}, "audio-in", "what calls send: tone:HZ, file:PATH.wav, silence, device (default silence)")
	fs.Var(audioOutFlag{&cfg.AudioOut}, "audio-out", "where received audio goes: null, file:PATH.wav (call n>1 writes PATH-n.wav), device (default null)")
	fs.BoolVar(&cfg.AutoAnswer, "auto-answer", false, "accept every incoming call at once")
	fs.Var(transferPolicyFlag{&cfg.TransferPolicy}, "transfer-policy", "the far end's transfer requests (REFER): ask (report onTransferRequested, declined unless transfer-accept comes within 25 s), accept-same-domain (accept targets in the account's domain, ask otherwise), refuse (default ask)")
	fs.Var(logLevelFlag{&cfg.LogLevel}, "log-level", "stderr log level: debug, info, warn, error (default info)")
	fs.Var(fpsFlag{&cfg.ShareFPS}, "fps", "screen-share frame rate `N`, 1–60 (default 30)")
	fs.Var(displayFlag{&cfg.Display}, "display", "X display `NAME` screen sharing captures, e.g. :1 (default $DISPLAY)")
	fs.DurationVar(&cfg.RingTimeout, "ring-timeout", 0, "answer an unanswered incoming call 480 after `DURATION` (default 2m0s)")
	fs.IntVar(&cfg.MaxRinging, "max-ringing", 0, "at most `N` incoming calls ring at once; more get 486 (default 8)")
	fs.DurationVar(&cfg.MediaTimeout, "media-timeout", 0, "end a call that receives no media for `DURATION` while not on hold (default 20s; negative: never)")
	fs.DurationVar(&cfg.SessionExpires, "session-expires", 0, "RFC 4028 session interval `DURATION` asked for (default 30m0s; negative: no session timer)")
	fs.StringVar(&cfg.RecordingsDir, "recordings", "", "`folder` of a record command without path; created if missing (default $"+callengine.RecordingsEnv+", else ~/Recordings/Parlo)")
	fs.DurationVar(&cfg.KeepAlive, "keepalive", 0, "probe the registrar with OPTIONS every `DURATION` (default 30s; negative: never)")
	addDirectoryFlags(fs, dir)
	return fs
}

type rawAccountFlags struct {
	account, registrar, username, transport, caFile, passwordFile string
}

// Usage writes the flag summary of `parlo headless` to w.
func Usage(w io.Writer) {
	var cfg Config
	var raw rawAccountFlags
	fs := newFlagSet(&cfg, &raw)
	fs.SetOutput(w)
	fmt.Fprintln(w, "usage: parlo headless [flags]   (JSON lines on stdin/stdout, see headless/README.md)")
	fs.PrintDefaults()
}

// ParseArgs parses the flags of `parlo headless`. getenv reads the
// environment (os.Getenv in production). Errors wrap ErrUsage and name the
// offending flag; -h/--help returns flag.ErrHelp.
func ParseArgs(args []string, getenv func(string) string) (Config, error) {
	cfg := Config{
		AudioIn:  AudioInSpec{Kind: AudioSilence},
		AudioOut: AudioOutSpec{Kind: AudioNull},
		LogLevel: slog.LevelInfo,
		ShareFPS: defaultShareFPS,
		// Ask is safe unattended: a REFER nobody accepts is declined.
		TransferPolicy: callengine.TransferAsk,
	}
	if err := refusePasswordFlag(args); err != nil {
		return Config{}, err
	}
	var raw rawAccountFlags
	var rawDir rawDirectoryFlags
	fs := newFlagSetWithDirectory(&cfg, &raw, &rawDir)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Config{}, err
		}
		return Config{}, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if cfg.RingTimeout < 0 || cfg.MaxRinging < 0 {
		return Config{}, fmt.Errorf("%w: --ring-timeout and --max-ringing must not be negative", ErrUsage)
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("%w: unexpected argument %q (all options are flags)", ErrUsage, fs.Arg(0))
	}
	if cfg.Display == "" {
		// Not validated: a bad $DISPLAY must not stop an audio-only phone;
		// share reports it when it is used.
		cfg.Display = getenv("DISPLAY")
	}
	if err := cfg.setRecordingsDir(getenv); err != nil {
		return Config{}, err
	}
	dirCfg, err := rawDir.build(getenv)
	if err != nil {
		return Config{}, err
	}
	cfg.Directory = dirCfg
	acct, err := raw.buildAccount(getenv)
	if err != nil {
		return Config{}, err
	}
	cfg.Account = acct
	if acct == nil {
		cfg.User = raw.username
		if len(cfg.Listen) == 0 {
			return Config{}, fmt.Errorf("%w: --listen is required without --account (e.g. --listen udp:127.0.0.1:5071)", ErrUsage)
		}
	}
	return cfg, nil
}

// setRecordingsDir makes --recordings absolute and creates it, so a folder
// Parlo cannot write to stops the start, naming the flag, instead of the
// first recording; without the flag it is the default folder.
func (cfg *Config) setRecordingsDir(getenv func(string) string) error {
	if cfg.RecordingsDir == "" {
		cfg.RecordingsDir = callengine.DefaultRecordingsDir(getenv)
		return nil
	}
	dir, err := filepath.Abs(cfg.RecordingsDir)
	if err != nil {
		return fmt.Errorf("%w: --recordings: %w", ErrUsage, err)
	}
	if err := callengine.PrepareRecordingsDir(dir); err != nil {
		return fmt.Errorf("%w: --recordings: %w", ErrUsage, err)
	}
	cfg.RecordingsDir = dir
	return nil
}

// refusePasswordFlag gives a useful message for --password without ever
// echoing the value that came with it.
func refusePasswordFlag(args []string) error {
	for _, a := range args {
		if a == "--" {
			return nil
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && name == "password" {
			return fmt.Errorf("%w: there is no --password flag: put the password in $%s or in a file given with --password-file", ErrUsage, PasswordEnv)
		}
	}
	return nil
}

// buildAccount builds and validates the account from its flags, naming the flag
// at fault; nil when --account is not given.
func (r rawAccountFlags) buildAccount(getenv func(string) string) (*callengine.Account, error) {
	if r.account == "" {
		for _, f := range [][2]string{{"registrar", r.registrar}, {"transport", r.transport}, {"ca-file", r.caFile}, {"password-file", r.passwordFile}} {
			if f[1] != "" {
				return nil, fmt.Errorf("%w: --%s needs --account", ErrUsage, f[0])
			}
		}
		return nil, nil
	}
	// Validate each field alone, with stand-ins for the others, so the
	// message names the right flag.
	probe := callengine.Account{URI: r.account, Password: "x", Registrar: "sip:127.0.0.1"}
	if err := probe.Validate(); err != nil {
		return nil, fmt.Errorf("%w: --account %q: %w", ErrUsage, r.account, err)
	}
	if r.registrar == "" {
		return nil, fmt.Errorf("%w: --account needs --registrar", ErrUsage)
	}
	probe.Registrar = r.registrar
	if err := probe.Validate(); err != nil {
		return nil, fmt.Errorf("%w: --registrar %q: %w", ErrUsage, r.registrar, err)
	}
	if r.transport != "" {
		probe.Transport = r.transport
		if err := probe.Validate(); err != nil {
			return nil, fmt.Errorf("%w: --transport %q is not one of udp, tcp, tls, ws, wss", ErrUsage, r.transport)
		}
	}
	if r.caFile != "" {
		if err := checkPEM(r.caFile); err != nil {
			return nil, fmt.Errorf("%w: --ca-file: %w", ErrUsage, err)
		}
	}
	password := getenv(PasswordEnv)
	if r.passwordFile != "" {
		b, err := os.ReadFile(r.passwordFile)
		if err != nil {
			return nil, fmt.Errorf("%w: --password-file: %w", ErrUsage, err)
		}
		password = strings.TrimRight(string(b), "\r\n")
		if password == "" {
			return nil, fmt.Errorf("%w: --password-file %s is empty", ErrUsage, r.passwordFile)
		}
	}
	if password == "" {
		return nil, fmt.Errorf("%w: --account needs a password: set $%s or give --password-file", ErrUsage, PasswordEnv)
	}
	return &callengine.Account{
		URI:       r.account,
		Username:  r.username,
		Password:  password,
		Registrar: r.registrar,
		Transport: r.transport,
		CAFile:    r.caFile,
	}, nil
}

// checkPEM makes sure path holds at least one PEM certificate.
func checkPEM(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return fmt.Errorf("%s holds no PEM certificate", path)
		}
		if blk.Type == "CERTIFICATE" {
			return nil
		}
	}
}
