package ui

import (
	"errors"
	"fmt"

	"github.com/zalando/go-keyring"
)

// ErrNoSecretStore means the OS has no usable secret store (no Secret
// Service on D-Bus, no Keychain, no Credential Manager). Parlo then keeps
// the password nowhere: it is never written to a plain file.
var ErrNoSecretStore = errors.New("ui: no OS secret store available")

// SecretStore keeps account passwords.
type SecretStore interface {
	Get(account string) (string, error) // "" and nil when none is stored
	Set(account, password string) error
	Delete(account string) error
}

// KeyringSecrets stores passwords in the OS secret store through
// github.com/zalando/go-keyring (Secret Service on Linux, Keychain on macOS,
// Credential Manager on Windows), under the service name AppID.
type KeyringSecrets struct{}

// Get returns the stored password of account.
func (KeyringSecrets) Get(account string) (string, error) {
	pw, err := keyring.Get(AppID, account)
	if errors.Is(err, keyring.ErrNotFound) {
		return "", nil
	}
	return pw, wrapKeyringErr(err)
}

// Set stores the password of account.
func (KeyringSecrets) Set(account, password string) error {
	return wrapKeyringErr(keyring.Set(AppID, account, password))
}

// Delete forgets the password of account.
func (KeyringSecrets) Delete(account string) error {
	err := keyring.Delete(AppID, account)
	if errors.Is(err, keyring.ErrNotFound) {
		return nil
	}
	return wrapKeyringErr(err)
}

func wrapKeyringErr(err error) error {
	if err == nil || errors.Is(err, keyring.ErrSetDataTooBig) {
		return err
	}
	// go-keyring reports a missing D-Bus session or Secret Service with
	// assorted errors; all mean the same thing to the user.
	return fmt.Errorf("%w: %w", ErrNoSecretStore, err)
}
