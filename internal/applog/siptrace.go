package applog

import (
	"log/slog"
	"sync"

	"github.com/emiago/sipgo/sip"
)

// sipgo does not log SIP messages through the slog.Logger it is given: its
// transports print them only when the package variable sip.SIPDebug is set,
// to stderr or to the one process-wide tracer set by sip.SIPDebugTracer
// (sipgo v1.7.3 sip/sip.go). SIPTracer is such a tracer that writes each
// message, redacted, as a debug record.

// SIPTracer logs SIP messages through a logger (redacting, when the logger
// comes from Open).
type SIPTracer struct{ log *slog.Logger }

// NewSIPTracer traces into log.
func NewSIPTracer(log *slog.Logger) *SIPTracer {
	return &SIPTracer{log: log.With("component", "sip-trace")}
}

// SIPTraceRead implements sip.SIPTracer.
func (t *SIPTracer) SIPTraceRead(transport, laddr, raddr string, msg []byte) {
	t.log.Debug("SIP received", "transport", transport, "local", laddr, "remote", raddr, "message", Redact(string(msg)))
}

// SIPTraceWrite implements sip.SIPTracer.
func (t *SIPTracer) SIPTraceWrite(transport, laddr, raddr string, msg []byte) {
	t.log.Debug("SIP sent", "transport", transport, "local", laddr, "remote", raddr, "message", Redact(string(msg)))
}

var traceMu sync.Mutex

// EnableSIPTrace turns sipgo's message trace on for the whole process,
// into log. Call it once, before the phone starts (sip.SIPDebug is read
// without locking by sipgo's transports).
func EnableSIPTrace(log *slog.Logger) {
	traceMu.Lock()
	defer traceMu.Unlock()
	sip.SIPDebugTracer(NewSIPTracer(log))
	sip.SIPDebug = true
}
