package callengine

import (
	"context"
	"errors"
	"fmt"

	"github.com/emiago/sipgo/sip"
)

// account is the account in force, nil in direct mode.
func (p *Phone) account() *Account { return p.acct.Load() }

// Account returns a copy of the account in force, nil in direct mode.
func (p *Phone) Account() *Account {
	a := p.account()
	if a == nil {
		return nil
	}
	c := *a
	return &c
}

// SetAccount switches the phone to another account without a restart: the
// new account is checked first (a typo must not drop a working line), then
// the old one is un-REGISTERed (Expires: 0, RFC 3261 §10.2.2) so its
// registrar stops routing calls here, then the new one is registered. A nil
// account leaves the phone in direct mode.
//
// Calls in progress are left alone: their dialogs carry their own route set
// and remote target (RFC 3261 §12.2), so they go on, and end, through the
// proxy that set them up. New calls, messages and challenges use the new
// account. A CA file different from the one the phone started with is
// refused with ErrRestartRequired: it is part of the TLS transport.
//
// It returns the new registration's outcome; when that fails the new
// account stays in force (Register retries it) and the old one stays
// unregistered.
func (p *Phone) SetAccount(ctx context.Context, a *Account) error {
	if a != nil {
		if err := a.Validate(); err != nil {
			return err
		}
		started := ""
		if p.opts.Account != nil {
			started = p.opts.Account.CAFile
		}
		if a.CAFile != started {
			return fmt.Errorf("%w: CA file %q (the phone started with %q)", ErrRestartRequired, a.CAFile, started)
		}
		c := *a
		a = &c
	}
	p.acctMu.Lock()
	defer p.acctMu.Unlock()
	if p.ctx.Err() != nil {
		return ErrClosed
	}
	if err := p.Unregister(ctx); err != nil && !errors.Is(err, ErrNotRegistered) {
		return err
	}
	p.acct.Store(a)
	// What was learnt of the old registrar no longer says who may call us.
	p.origin.mu.Lock()
	p.origin.ips = nil
	p.origin.mu.Unlock()
	// Register puts the new registrar's Contact back for non-UDP
	// transports; until then calls carry our plain listening Contact.
	p.dialogUA.ContactHDR = sip.ContactHeader{Address: p.contact}
	p.log.Info("account changed", "direct", a == nil)
	if a == nil {
		return nil
	}
	return p.Register(ctx)
}
