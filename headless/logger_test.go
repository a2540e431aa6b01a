package headless

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// The headless JSON log redacts like the desktop log: SDES keys, digest
// responses and passwords, in messages and attributes.
func TestLoggerRedacts(t *testing.T) {
	var buf bytes.Buffer
	log := newLogger(&buf, slog.LevelDebug)
	const key = "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"
	log.Debug("offer a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"+key,
		"sdp", []byte("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"+key+"|2^20"),
		"msg", "Authorization: Digest response=\"6629fae4\"",
		"password", "hunter2")
	out := buf.String()
	for _, leak := range []string{key, "6629fae4", "hunter2"} {
		if strings.Contains(out, leak) {
			t.Errorf("headless log leaks %q:\n%s", leak, out)
		}
	}
	if !strings.Contains(out, "inline:[REDACTED]") {
		t.Errorf("no redacted key in:\n%s", out)
	}
}
