package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/parlo-voip/parlo/callengine"
)

// ExplainAccountError turns an account or registration failure into a
// sentence naming the problem: which field is wrong, that the password was
// refused, or that the registrar did not answer — not an error chain.
func ExplainAccountError(err error) string {
	var re *callengine.RegistrationError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &re):
		return explainStatus(re.StatusCode, re.Reason)
	case errors.Is(err, callengine.ErrBadAccount):
		detail := err.Error()
		if i := strings.Index(detail, "bad account: "); i >= 0 {
			detail = detail[i+len("bad account: "):]
		}
		detail = strings.Replace(detail, "field URI", "the SIP URI", 1)
		detail = strings.Replace(detail, "field Registrar", "the registrar", 1)
		detail = strings.Replace(detail, "field Password", "the password", 1)
		detail = strings.Replace(detail, "field Transport", "the transport", 1)
		detail = strings.Replace(detail, "field CAFile", "the TLS CA file", 1)
		return "Account settings: " + detail + " — fix it in Settings"
	case errors.Is(err, context.DeadlineExceeded), strings.Contains(err.Error(), "timed out"),
		strings.Contains(err.Error(), "timeout"):
		return "The registrar did not answer — check its address and your network" + registrarOf(err)
	case strings.Contains(err.Error(), "connection refused"):
		return "The registrar refused the connection — check its address, port and transport" + registrarOf(err)
	case strings.Contains(err.Error(), "no such host"):
		return "The registrar's host name does not resolve — check the address in Settings"
	}
	return "Registration failed: " + err.Error()
}

// explainStatus explains a REGISTER final response (RFC 3261 §21).
func explainStatus(code int, reason string) string {
	sr := strings.TrimSpace(fmt.Sprintf("%d %s", code, reason))
	switch code {
	case 401, 403, 407:
		return "The registrar refused the username or password (" + sr + ") — check them in Settings"
	case 404:
		return "The registrar does not know this account (" + sr + ") — check the SIP URI"
	case 0:
		return "Registration failed"
	}
	return "Registration failed: " + sr
}

// registrarOf picks " (host:port)" out of "REGISTER to host:port: ...".
func registrarOf(err error) string {
	s := err.Error()
	i := strings.Index(s, " to ")
	if i < 0 {
		return ""
	}
	rest := s[i+4:]
	if j := strings.Index(rest, ": "); j > 0 {
		return " (" + rest[:j] + ")"
	}
	return ""
}

// explainRegistrationEvent is explainAccountError for an
// onRegistrationFailed payload (status, reason, error).
func explainRegistrationEvent(p callengine.RegistrationFailedPayload) string {
	if p.Status != 0 {
		return explainStatus(p.Status, p.Reason)
	}
	if p.Error != "" {
		return ExplainAccountError(errors.New(p.Error))
	}
	return "Registration failed"
}
