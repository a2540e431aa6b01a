package applog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/parlo-voip/parlo/callengine"
	"github.com/parlo-voip/parlo/callengine/audio"
	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/callengine/media/classic"
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
		{"SDES key in SDP",
			"m=audio 4000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4\r\n",
			"m=audio 4000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:[REDACTED]|2^20|1:4\r\n"},
		{"SDES key unpadded, in a log line", "answer crypto=2 AES_CM_128_HMAC_SHA1_32 INLINE:d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj end",
			"answer crypto=2 AES_CM_128_HMAC_SHA1_32 inline:[REDACTED] end"},
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
		slog.Group("acct", "password", "ingroup", "user", "alice"),
		"sdp", []byte("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:inbytesKEY"),
		"offer", struct{ SDP string }{"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:instructKEY"})
	out := buf.String()
	for _, leak := range []string{"with-attr", "inmsg", "inuri", "plain", "inerror", "ingroup", "inbytesKEY", "instructKEY"} {
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

// rawTee records every SIP message unredacted (to learn the keys the call
// really used) and passes it on to the redacting trace.
type rawTee struct {
	mu   sync.Mutex
	raw  strings.Builder
	next *SIPTracer
}

func (r *rawTee) SIPTraceRead(tr, l, rem string, msg []byte) {
	r.mu.Lock()
	r.raw.Write(msg)
	r.mu.Unlock()
	r.next.SIPTraceRead(tr, l, rem, msg)
}

func (r *rawTee) SIPTraceWrite(tr, l, rem string, msg []byte) {
	r.mu.Lock()
	r.raw.Write(msg)
	r.mu.Unlock()
	r.next.SIPTraceWrite(tr, l, rem, msg)
}

// TestDebugLogRedactsRealSDESCall places a real SDES call between two
// phones on the classic path with debug logging and the SIP trace on (as
// --debug does), both logging into one file: the a=crypto lines are in the
// trace, their keys are not anywhere in the file.
func TestDebugLogRedactsRealSDESCall(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parlo.log")
	l, err := Open(Options{Path: path, Debug: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	prev := slog.Default()
	slog.SetDefault(l.Logger)
	defer slog.SetDefault(prev)
	tee := &rawTee{next: NewSIPTracer(l.Logger)}
	traceMu.Lock()
	sip.SIPDebugTracer(tee)
	sip.SIPDebug = true
	traceMu.Unlock()
	defer func() { sip.SIPDebug = false }()

	newPhone := func(auto bool) (*callengine.Phone, *callengine.Subscription) {
		p, err := callengine.NewPhone(callengine.Options{
			Listen: []string{"udp:127.0.0.1:0"}, AutoAnswer: auto,
			ClassicMediaFactory: classic.New, Media: "classic", SRTP: media.SRTPRequired,
			NewAudioIn:  func() (audio.Source, error) { return audio.NewTone(440, 0.3), nil },
			NewAudioOut: func() (audio.Sink, error) { return audio.Null(), nil },
			Logger:      l.Logger,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		sub := p.Subscribe()
		t.Cleanup(sub.Close)
		return p, sub
	}
	a, subA := newPhone(false)
	b, _ := newPhone(true)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	lb := b.Listeners()[0]
	s, err := a.Call(ctx, fmt.Sprintf("sip:parlo@%s:%d", lb.Host, lb.Port), callengine.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, subA, callengine.EventCallAccepted, 10*time.Second)
	if st, err := a.Stats(s.SipCallID); err != nil || st.SRTP != "sdes" {
		t.Fatalf("stats %+v (%v), want an SDES call", st, err)
	}
	if err := a.Hangup(ctx, s.SipCallID); err != nil {
		t.Fatal(err)
	}

	tee.mu.Lock()
	raw := tee.raw.String()
	tee.mu.Unlock()
	keys := regexp.MustCompile(`inline:([A-Za-z0-9+/=]+)`).FindAllStringSubmatch(raw, -1)
	if len(keys) < 2 {
		t.Fatalf("the call carried %d SDES keys, want the offer's and the answer's:\n%s", len(keys), raw)
	}
	b2, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	logText := string(b2)
	if !strings.Contains(logText, "a=crypto:") || !strings.Contains(logText, "inline:[REDACTED]") {
		t.Fatalf("the trace lacks the redacted a=crypto lines:\n%s", logText)
	}
	for _, k := range keys {
		// The text handler may escape, but base64 has nothing to escape.
		if strings.Contains(logText, k[1]) {
			t.Fatalf("the log file holds SDES key %s", k[1])
		}
	}
}

func waitEvent(t *testing.T, sub *callengine.Subscription, name string, d time.Duration) {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case ev, ok := <-sub.C():
			if !ok {
				t.Fatalf("subscription closed before %s", name)
			}
			if ev.Name == name {
				return
			}
		case <-timeout:
			t.Fatalf("no %s within %s", name, d)
		}
	}
}
