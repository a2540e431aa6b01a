package callengine

import "errors"

// Sentinel errors of the phone API. Callers test them with errors.Is; the
// returned errors wrap them with detail.
var (
	ErrClosed          = errors.New("callengine: phone closed")
	ErrNoSuchCall      = errors.New("callengine: no such call")
	ErrBadURI          = errors.New("callengine: bad SIP URI")
	ErrBadListenAddr   = errors.New("callengine: bad listen address")
	ErrBadAccount      = errors.New("callengine: bad account")
	ErrInvalidState    = errors.New("callengine: call is not in a state that allows this")
	ErrReinvitePending = errors.New("callengine: a re-INVITE is already pending")
	ErrRegistration    = errors.New("callengine: registration failed")
	ErrNotRegistered   = errors.New("callengine: no account registered")
	ErrRequestFailed   = errors.New("callengine: request failed")
	ErrBadOption       = errors.New("callengine: bad option")
	// ErrForeignChallenge: a 401/407 came from someone other than the
	// account's registrar, or for another realm; no credentials are sent.
	ErrForeignChallenge = errors.New("callengine: authentication challenge not from the account's registrar")
	// ErrRestartRequired: the change asked for is fixed when the phone
	// starts (an account's CA file is part of the TLS transport).
	ErrRestartRequired = errors.New("callengine: this change applies after a restart")
)
