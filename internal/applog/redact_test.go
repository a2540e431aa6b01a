package applog

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine"
	"github.com/parlo-voip/parlo/internal/testpeers"
)

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"authorization header",
			"REGISTER sip:parlo.test SIP/2.0\r\nAuthorization: Digest username=\"alice\", realm=\"parlo.test\", nonce=\"abc\", response=\"6629fae49393a05397450978507c4ef1\"\r\nCSeq: 2 REGISTER\r\n",
			"REGISTER sip:parlo.test SIP/2.0\r\nAuthorization: [REDACTED]\r\nCSeq: 2 REGISTER\r\n"},
		{"proxy-authorization, any case",
			"INVITE sip:bob@x SIP/2.0\r\nproxy-authorization:Digest response=\"ff\"\r\n\r\n",
			"INVITE sip:bob@x SIP/2.0\r\nproxy-authorization:[REDACTED]\r\n\r\n"},
		{"bearer token", "Authorization: Bearer eyJhbGciOi\n", "Authorization: [REDACTED]\n"},
		{"WWW-Authenticate is kept (a challenge holds no secret)",
			"WWW-Authenticate: Digest realm=\"x\", nonce=\"n\"\r\n", "WWW-Authenticate: Digest realm=\"x\", nonce=\"n\"\r\n"},
		{"password in URI", "calling sip:alice:hunter2@pbx.example.com;transport=tcp", "calling sip:alice:[REDACTED]@pbx.example.com;transport=tcp"},
		{"URI with port is not a password", "sip:alice@pbx.example.com:5060", "sip:alice@pbx.example.com:5060"},
		{"key=value", "account password=hunter2 user=alice", "account password=[REDACTED] user=alice"},
		{"quoted", `secret: "a b c", next`, `secret: [REDACTED], next`},
		{"nothing to hide", "SIP/2.0 200 OK\r\nCSeq: 1 OPTIONS\r\n", "SIP/2.0 200 OK\r\nCSeq: 1 OPTIONS\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Redact(tc.in); got != tc.want {
				t.Fatalf("Redact(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestRedactingHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(NewRedactingHandler(slog.NewTextHandler(&buf, nil)))
	log.With("password", "with-attr").Info("login password=inmsg",
		"account", "sip:alice:inuri@example.com",
		"Password", "plain",
		"err", errors.New("auth failed, secret=inerror"),
		slog.Group("acct", "password", "ingroup", "user", "alice"))
	out := buf.String()
	for _, leak := range []string{"with-attr", "inmsg", "inuri", "plain", "inerror", "ingroup"} {
		if strings.Contains(out, leak) {
			t.Errorf("log leaks %q:\n%s", leak, out)
		}
	}
	if !strings.Contains(out, "user=alice") && !strings.Contains(out, "acct.user=alice") {
		t.Errorf("log lost a harmless attribute:\n%s", out)
	}
}

// TestSIPTraceRedactsRealRegister registers a real Phone with Kamailio
// (digest challenge, so a REGISTER with Authorization is sent) through the
// debug trace into a log file, and checks the file has the messages but no
// credentials.
func TestSIPTraceRedactsRealRegister(t *testing.T) {
	const password = "pw-Very-Secret-42"
	k := testpeers.StartKamailio(t, testpeers.KamailioOptions{Users: map[string]string{"alice": password}})
	path := filepath.Join(t.TempDir(), "state", "parlo.log")
	l, err := Open(Options{Path: path, Debug: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	EnableSIPTrace(l.Logger)

	p, err := callengine.NewPhone(callengine.Options{
		Listen: []string{"udp:127.0.0.1:0"},
		Account: &callengine.Account{
			URI: "sip:alice@" + k.Domain(), Password: password, Registrar: "sip:" + k.UDPAddr(),
		},
		Logger: l.Logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Register(ctx); err != nil {
		t.Fatalf("register: %v", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	log := string(b)
	if !strings.Contains(log, "SIP sent") || !strings.Contains(log, "REGISTER sip:") || !strings.Contains(log, "401 Unauthorized") {
		t.Fatalf("trace lacks the REGISTER exchange:\n%s", log)
	}
	if !strings.Contains(log, "Authorization: [REDACTED]") {
		t.Fatalf("trace has no redacted Authorization header:\n%s", log)
	}
	if strings.Contains(log, password) || strings.Contains(log, "response=") {
		t.Fatalf("trace leaks credentials:\n%s", log)
	}
}
