package applog

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
)

// redacted replaces every secret.
const redacted = "[REDACTED]"

// Secret-bearing parts of SIP messages and log values:
//   - Authorization / Proxy-Authorization (RFC 3261 §20.7, §20.28) carry the
//     digest response, which an eavesdropper can brute-force offline; the
//     whole value goes, whatever the scheme (Digest, Bearer).
//   - a password in a URI's userinfo (sip:alice:secret@host, deprecated by
//     RFC 3261 §19.1.1 but still seen) or in key=value text.
//   - SDES master keys: the inline key-params of a=crypto (RFC 4568 §6.1,
//     "inline:" base64 key||salt, then optional |lifetime|MKI:length) decrypt
//     the call's SRTP for anyone who reads the log. The base64 goes, the
//     lifetime and MKI stay (they help debugging and are not secret).
var (
	sdesKey    = regexp.MustCompile(`(?i)\binline:[A-Za-z0-9+/=_-]+`)
	authHeader = regexp.MustCompile(`(?im)^((?:proxy-)?authorization[ \t]*:[ \t]*)[^\r\n]*`)
	uriPass    = regexp.MustCompile(`(?i)\b(sips?|wss?|https?):([^:@\s/;<>"]+):([^@\s;<>"]+)@`)
	kvPass     = regexp.MustCompile(`(?i)\b(password|passwd|secret|pwd)(\s*[=:]\s*)("[^"]*"|[^\s,;&]+)`)
)

// Redact removes credentials from text (a SIP message, a log line).
func Redact(s string) string {
	s = authHeader.ReplaceAllString(s, "${1}"+redacted)
	s = uriPass.ReplaceAllString(s, "${1}:${2}:"+redacted+"@")
	s = kvPass.ReplaceAllString(s, "${1}${2}"+redacted)
	s = sdesKey.ReplaceAllString(s, "inline:"+redacted)
	return s
}

// secretKey reports whether an attribute key names a secret as a whole.
func secretKey(k string) bool {
	k = strings.ToLower(k)
	for _, s := range []string{"password", "passwd", "secret", "authorization", "token"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

// RedactingHandler is a slog.Handler that removes credentials from the
// message and every string attribute before passing the record on, so
// neither our code nor a library (sipgo) can log a password by mistake.
type RedactingHandler struct{ next slog.Handler }

// NewRedactingHandler wraps next.
func NewRedactingHandler(next slog.Handler) *RedactingHandler { return &RedactingHandler{next: next} }

// Enabled implements slog.Handler.
func (h *RedactingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

// Handle implements slog.Handler.
func (h *RedactingHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, Redact(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

// WithAttrs implements slog.Handler.
func (h *RedactingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(as))
	for i, a := range as {
		clean[i] = redactAttr(a)
	}
	return &RedactingHandler{next: h.next.WithAttrs(clean)}
}

// WithGroup implements slog.Handler.
func (h *RedactingHandler) WithGroup(name string) slog.Handler {
	return &RedactingHandler{next: h.next.WithGroup(name)}
}

func redactAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	if secretKey(a.Key) {
		return slog.String(a.Key, redacted)
	}
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, Redact(v.String()))
	case slog.KindGroup:
		g := v.Group()
		clean := make([]any, len(g))
		for i, ga := range g {
			clean[i] = redactAttr(ga)
		}
		return slog.Group(a.Key, clean...)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, Redact(err.Error()))
		}
		if s, ok := v.Any().(interface{ String() string }); ok {
			return slog.String(a.Key, Redact(s.String()))
		}
		if b, ok := v.Any().([]byte); ok {
			// A raw SIP message or SDP body, which text and JSON
			// handlers print as a string.
			return slog.String(a.Key, Redact(string(b)))
		}
		// Anything else is printed with %+v: check that text too.
		if s := fmt.Sprintf("%+v", v.Any()); Redact(s) != s {
			return slog.String(a.Key, Redact(s))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
