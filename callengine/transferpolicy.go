package callengine

import "fmt"

// TransferPolicy says what Parlo does when the far end of a call asks it to
// call someone else (REFER, RFC 3515).
type TransferPolicy string

const (
	// TransferAsk reports onTransferRequested (pending) and waits for
	// AcceptTransfer or DeclineTransfer; unanswered requests are declined.
	// The default.
	TransferAsk TransferPolicy = "ask"
	// TransferAcceptSameDomain accepts without asking a target in the
	// account's domain; in direct mode, with no domain, it asks.
	TransferAcceptSameDomain TransferPolicy = "accept-same-domain"
	// TransferRefuse answers every REFER 403.
	TransferRefuse TransferPolicy = "refuse"
)

// ParseTransferPolicy reads a policy name ("" is the default, ask).
func ParseTransferPolicy(s string) (TransferPolicy, error) {
	switch TransferPolicy(s) {
	case "":
		return TransferAsk, nil
	case TransferAsk, TransferAcceptSameDomain, TransferRefuse:
		return TransferPolicy(s), nil
	}
	return "", fmt.Errorf("%w: transfer policy %q is not one of ask, accept-same-domain, refuse", ErrBadOption, s)
}

func (p *Phone) transferPolicy() TransferPolicy {
	pol, err := ParseTransferPolicy(string(p.opts.TransferPolicy))
	if err != nil {
		return TransferAsk
	}
	return pol
}
