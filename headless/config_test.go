package headless

import (
	"bytes"
	"errors"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine"
)

func TestParseArgs(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("s3cret-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	emptyFile := filepath.Join(dir, "empty")
	if err := os.WriteFile(emptyFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	direct := []string{"--listen", "udp:127.0.0.1:0"}
	acct := []string{"--account", "sip:alice@parlo.test", "--registrar", "sip:127.0.0.1:5060"}

	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string // substring; must also name the flag
		check   func(t *testing.T, c Config)
	}{
		{name: "defaults", args: direct, check: func(t *testing.T, c Config) {
			if c.AudioIn.Kind != AudioSilence || c.AudioOut.Kind != AudioNull || c.LogLevel != slog.LevelInfo || c.Account != nil || c.AutoAnswer {
				t.Errorf("bad defaults: %+v", c)
			}
		}},
		{name: "everything direct", args: []string{"--listen", "udp:127.0.0.1:5071", "--listen", "tcp:127.0.0.1:5072", "-listen=ws:127.0.0.1:8080",
			"--audio-in", "tone:440", "--audio-out", "file:" + filepath.Join(dir, "out.wav"), "--auto-answer", "--log-level", "debug", "--username", "bob"},
			check: func(t *testing.T, c Config) {
				if len(c.Listen) != 3 || c.AudioIn.ToneHz != 440 || c.AudioOut.Path != filepath.Join(dir, "out.wav") ||
					!c.AutoAnswer || c.LogLevel != slog.LevelDebug || c.User != "bob" {
					t.Errorf("got %+v", c)
				}
			}},
		{name: "account with env password", args: append(acct, "--username", "al", "--transport", "tcp"), env: map[string]string{PasswordEnv: "s3cret-env"},
			check: func(t *testing.T, c Config) {
				a := c.Account
				if a == nil || a.URI != "sip:alice@parlo.test" || a.Password != "s3cret-env" || a.Username != "al" || a.Transport != "tcp" || c.User != "" {
					t.Errorf("got %+v", a)
				}
			}},
		{name: "password file wins over env", args: append(acct, "--password-file", pwFile), env: map[string]string{PasswordEnv: "s3cret-env"},
			check: func(t *testing.T, c Config) {
				if c.Account.Password != "s3cret-file" {
					t.Errorf("password = %q, want the file's without newline", c.Account.Password)
				}
			}},
		{name: "account needs no listen", args: acct, env: map[string]string{PasswordEnv: "x"}},
		{name: "ring limits", args: append(direct, "--ring-timeout", "45s", "--max-ringing", "3"), check: func(t *testing.T, c Config) {
			if c.RingTimeout != 45*time.Second || c.MaxRinging != 3 {
				t.Errorf("ring timeout %s, max ringing %d", c.RingTimeout, c.MaxRinging)
			}
		}},
		{name: "negative ring timeout", args: append(direct, "--ring-timeout", "-1s"), wantErr: "--ring-timeout"},
		{name: "transfer policy defaults to ask", args: direct, check: func(t *testing.T, c Config) {
			if c.TransferPolicy != callengine.TransferAsk {
				t.Errorf("transfer policy %q, want ask", c.TransferPolicy)
			}
		}},
		{name: "transfer policy refuse", args: append(append([]string{}, direct...), "--transfer-policy", "refuse"), check: func(t *testing.T, c Config) {
			if c.TransferPolicy != callengine.TransferRefuse {
				t.Errorf("transfer policy %q, want refuse", c.TransferPolicy)
			}
		}},
		{name: "share defaults", args: direct, env: map[string]string{"DISPLAY": ":7"}, check: func(t *testing.T, c Config) {
			if c.ShareFPS != 30 || c.Display != ":7" {
				t.Errorf("want 30 fps on $DISPLAY :7, got %d fps on %q", c.ShareFPS, c.Display)
			}
		}},
		{name: "no display anywhere", args: direct, check: func(t *testing.T, c Config) {
			if c.Display != "" {
				t.Errorf("display = %q, want empty without --display and $DISPLAY", c.Display)
			}
		}},
		{name: "fps and display", args: append(direct, "--fps", "15", "--display", ":3"), env: map[string]string{"DISPLAY": ":7"}, check: func(t *testing.T, c Config) {
			if c.ShareFPS != 15 || c.Display != ":3" {
				t.Errorf("want 15 fps on :3 (the flag beats $DISPLAY), got %d fps on %q", c.ShareFPS, c.Display)
			}
		}},
		{name: "fps bounds", args: append(direct, "--fps", "1", "-fps=60", "--display", "localhost:10.0"), check: func(t *testing.T, c Config) {
			if c.ShareFPS != 60 || c.Display != "localhost:10.0" {
				t.Errorf("got %d fps on %q", c.ShareFPS, c.Display)
			}
		}},
		{name: "fps zero", args: append(direct, "--fps", "0"), wantErr: "-fps"},
		{name: "fps too high", args: append(direct, "--fps", "61"), wantErr: "-fps"},
		{name: "fps not a number", args: append(direct, "--fps", "fast"), wantErr: "-fps"},
		{name: "fps fractional", args: append(direct, "--fps", "29.97"), wantErr: "-fps"},
		{name: "display empty", args: append(direct, "--display", ""), wantErr: "-display"},
		{name: "display without number", args: append(direct, "--display", "localhost"), wantErr: "-display"},
		{name: "display junk", args: append(direct, "--display", ":1; rm -rf"), wantErr: "-display"},

		{name: "recordings default from env", args: direct, env: map[string]string{callengine.RecordingsEnv: filepath.Join(dir, "env-rec")}, check: func(t *testing.T, c Config) {
			if c.RecordingsDir != filepath.Join(dir, "env-rec") {
				t.Errorf("recordings %q, want $%s", c.RecordingsDir, callengine.RecordingsEnv)
			}
		}},
		{name: "recordings default", args: direct, check: func(t *testing.T, c Config) {
			if !strings.HasSuffix(c.RecordingsDir, filepath.Join("Recordings", "Parlo")) {
				t.Errorf("recordings %q, want ~/Recordings/Parlo", c.RecordingsDir)
			}
		}},
		{name: "recordings flag created", args: append(direct, "--recordings", filepath.Join(dir, "rec", "calls")), env: map[string]string{callengine.RecordingsEnv: "/elsewhere"},
			check: func(t *testing.T, c Config) {
				if c.RecordingsDir != filepath.Join(dir, "rec", "calls") {
					t.Errorf("recordings %q (the flag beats $%s)", c.RecordingsDir, callengine.RecordingsEnv)
				}
				if st, err := os.Stat(c.RecordingsDir); err != nil || !st.IsDir() {
					t.Errorf("recordings folder not created: %v", err)
				}
			}},
		{name: "recordings under a file", args: append(direct, "--recordings", filepath.Join(pwFile, "sub")), wantErr: "--recordings"},

		{name: "no listen in direct mode", args: nil, wantErr: "--listen is required"},
		{name: "bad listen", args: []string{"--listen", "udp:localhost:5060"}, wantErr: "-listen"},
		{name: "bad listen transport", args: []string{"--listen", "sctp:127.0.0.1:5060"}, wantErr: "-listen"},
		{name: "bad transfer policy", args: []string{"--listen", "udp:127.0.0.1:0", "--transfer-policy", "always"}, wantErr: "-transfer-policy"},
		{name: "bad audio-in", args: append(direct, "--audio-in", "mic"), wantErr: "-audio-in"},
		{name: "bad tone", args: append(direct, "--audio-in", "tone:abc"), wantErr: "-audio-in"},
		{name: "tone out of range", args: append(direct, "--audio-in", "tone:0"), wantErr: "-audio-in"},
		{name: "missing wav", args: append(direct, "--audio-in", "file:"+filepath.Join(dir, "nope.wav")), wantErr: "-audio-in"},
		{name: "bad audio-out", args: append(direct, "--audio-out", "speaker"), wantErr: "-audio-out"},
		{name: "audio-out dir missing", args: append(direct, "--audio-out", "file:/nonexistent/dir/b.wav"), wantErr: "-audio-out"},
		{name: "bad log level", args: append(direct, "--log-level", "loud"), wantErr: "-log-level"},
		{name: "unknown flag", args: append(direct, "--video"), wantErr: "-video"},
		{name: "positional argument", args: append(direct, "extra"), wantErr: `unexpected argument "extra"`},
		{name: "password flag refused", args: append(direct, "--password", "hunter2"), wantErr: "no --password flag"},
		{name: "password= flag refused", args: append(direct, "-password=hunter2"), wantErr: "no --password flag"},
		{name: "registrar without account", args: append(direct, "--registrar", "sip:127.0.0.1"), wantErr: "--registrar needs --account"},
		{name: "password-file without account", args: append(direct, "--password-file", pwFile), wantErr: "--password-file needs --account"},
		{name: "bad account", args: []string{"--account", "alice", "--registrar", "sip:127.0.0.1"}, env: map[string]string{PasswordEnv: "x"}, wantErr: "--account"},
		{name: "account without registrar", args: []string{"--account", "sip:alice@parlo.test"}, env: map[string]string{PasswordEnv: "x"}, wantErr: "--account needs --registrar"},
		{name: "bad registrar", args: []string{"--account", "sip:alice@parlo.test", "--registrar", "sip:127.0.0.1;transport=sctp"}, env: map[string]string{PasswordEnv: "x"}, wantErr: "--registrar"},
		{name: "bad transport", args: append(acct, "--transport", "carrier-pigeon"), env: map[string]string{PasswordEnv: "x"}, wantErr: "--transport"},
		{name: "account without password", args: acct, wantErr: "needs a password"},
		{name: "empty password file", args: append(acct, "--password-file", emptyFile), wantErr: "--password-file"},
		{name: "missing password file", args: append(acct, "--password-file", filepath.Join(dir, "nope")), wantErr: "--password-file"},
		{name: "ca-file not PEM", args: append(acct, "--ca-file", notPEM), env: map[string]string{PasswordEnv: "x"}, wantErr: "--ca-file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			c, err := ParseArgs(tt.args, getenv)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if tt.check != nil {
					tt.check(t, c)
				}
				return
			}
			if !errors.Is(err, ErrUsage) {
				t.Fatalf("want ErrUsage, got %v", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			for _, secret := range []string{"hunter2", "s3cret"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q leaks the password", err)
				}
			}
		})
	}
}

func TestParseArgsHelp(t *testing.T) {
	if _, err := ParseArgs([]string{"-h"}, func(string) string { return "" }); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: want flag.ErrHelp, got %v", err)
	}
	var b bytes.Buffer
	Usage(&b)
	for _, f := range []string{"-listen", "-account", "-registrar", "-username", "-transport", "-ca-file", "-password-file", "-audio-in", "-audio-out", "-auto-answer", "-log-level", "-fps", "-display", "-transfer-policy"} {
		if !strings.Contains(b.String(), f) {
			t.Errorf("usage lacks %s", f)
		}
	}
	if strings.Contains(b.String(), "  -password ") {
		t.Error("usage shows a --password flag")
	}
}

func TestMainExitCodes(t *testing.T) {
	// Main makes its logger the default one; put the test's back.
	old := slog.Default()
	t.Cleanup(func() { slog.SetDefault(old) })
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{name: "bad flag value", args: []string{"--listen", "udp:127.0.0.1:0", "--audio-in", "tone:x"}, wantCode: ExitUsage, wantErr: "-audio-in"},
		{name: "password flag", args: []string{"--password", "hunter2"}, wantCode: ExitUsage, wantErr: "PARLO_PASSWORD"},
		{name: "help", args: []string{"--help"}, wantCode: ExitOK, wantErr: "usage: parlo headless"},
		{name: "cannot bind", args: []string{"--listen", "udp:192.0.2.1:5060"}, wantCode: ExitError, wantErr: "192.0.2.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Main(tt.args, strings.NewReader(""), &stdout, &stderr)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr %s", code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tt.wantErr)
			}
			if strings.Contains(stderr.String(), "hunter2") {
				t.Error("stderr leaks the password")
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout must stay empty when the phone does not start, got %q", stdout.String())
			}
		})
	}
}
