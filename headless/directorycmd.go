package headless

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/parlo-voip/parlo/internal/directory"
)

// Fields of the directory commands.
const (
	fieldQuery     = "query"     // search: what to look for
	fieldName      = "name"      // contacts-add: the contact's name
	fieldNumber    = "number"    // contacts-add: number or SIP URI; lookup: the number
	fieldContactID = "contactId" // contacts-delete: the id from contacts
)

// Environment variables holding the directory servers' passwords; like
// the account's, never flags (ps(1), shell history).
const (
	CardDAVPasswordEnv = "PARLO_CARDDAV_PASSWORD"
	LDAPPasswordEnv    = "PARLO_LDAP_PASSWORD"
)

// rawDirectoryFlags are the directory flags before validation.
type rawDirectoryFlags struct {
	contacts, carddavURL, carddavUser, ldapURL, ldapBindDN, ldapBase, ldapFilter, dialRules string
}

// addDirectoryFlags declares the directory flags.
func addDirectoryFlags(fs *flag.FlagSet, r *rawDirectoryFlags) {
	fs.StringVar(&r.contacts, "contacts", "", "local contacts `file` (default $XDG_CONFIG_HOME/parlo/contacts.json)")
	fs.StringVar(&r.carddavURL, "carddav-url", "", "CardDAV address book or server `URL` to search (password in $"+CardDAVPasswordEnv+")")
	fs.StringVar(&r.carddavUser, "carddav-user", "", "CardDAV user `NAME`")
	fs.StringVar(&r.ldapURL, "ldap-url", "", "LDAP server `URL` to search, ldap://host[:port] or ldaps://… (password in $"+LDAPPasswordEnv+")")
	fs.StringVar(&r.ldapBindDN, "ldap-bind-dn", "", "LDAP bind `DN` (empty: anonymous)")
	fs.StringVar(&r.ldapBase, "ldap-base", "", "LDAP search base `DN`")
	fs.StringVar(&r.ldapFilter, "ldap-filter", "", "LDAP search filter `TEMPLATE` with {query} (default "+directory.DefaultLDAPFilter+")")
	fs.StringVar(&r.dialRules, "dial-rules", "", "number rewriting `RULES` applied to call, comma-separated PREFIX=REPLACE[;min=N], e.g. +33=0,+=00")
}

// build validates the directory flags into a directory configuration.
func (r rawDirectoryFlags) build(getenv func(string) string) (directory.Config, error) {
	cfg := directory.Config{LocalPath: r.contacts}
	rules, err := directory.ParseRules(strings.ReplaceAll(r.dialRules, ",", "\n"))
	if err != nil {
		return cfg, fmt.Errorf("%w: --dial-rules: %w", ErrUsage, err)
	}
	cfg.Rules = rules
	if r.carddavURL != "" {
		cfg.CardDAV = directory.CardDAVOptions{URL: r.carddavURL, Username: r.carddavUser, Password: getenv(CardDAVPasswordEnv)}
		if _, err := directory.NewCardDAV(cfg.CardDAV); err != nil {
			return cfg, fmt.Errorf("%w: --carddav-url: %w", ErrUsage, err)
		}
	}
	if r.ldapURL != "" {
		cfg.LDAP = directory.LDAPOptions{URL: r.ldapURL, BindDN: r.ldapBindDN, Password: getenv(LDAPPasswordEnv), BaseDN: r.ldapBase, Filter: r.ldapFilter}
		if _, err := directory.NewLDAP(cfg.LDAP); err != nil {
			return cfg, fmt.Errorf("%w: --ldap-url: %w", ErrUsage, err)
		}
	}
	return cfg, nil
}

func (c *command) setDirectoryField(name string, raw json.RawMessage) error {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("%w: %q must be a string", ErrBadField, name)
	}
	if strings.ContainsRune(s, 0) || len(s) > 1024 {
		return fmt.Errorf("%w: %q holds a NUL byte or is too long", ErrBadField, name)
	}
	switch name {
	case fieldQuery:
		c.Query = s
	case fieldName:
		c.ContactName = s
	case fieldNumber:
		c.Number = s
	case fieldContactID:
		c.ContactID = s
	}
	return nil
}

// searchTimeout bounds the search command beyond the searcher's own
// deadline (which it never exceeds by more than a moment).
const searchTimeout = 10 * time.Second

// sourceError is one failed source in a search reply.
type sourceError struct {
	Source  string `json:"source"`
	Message string `json:"message"`
}

// addDirectoryCommands adds contacts, contacts-add, contacts-delete,
// search and lookup, and makes call apply the dialling rules.
func (d *dispatcher) addDirectoryCommands(dir *directory.Directory) {
	if call, ok := d.table["call"]; ok {
		run := call.run
		call.run = func(ctx context.Context, p phoneAPI, c command) (any, error) {
			c.To = dir.Rewrite(c.To)
			return run(ctx, p, c)
		}
		d.table["call"] = call
	}
	d.table["contacts"] = commandSpec{run: func(context.Context, phoneAPI, command) (any, error) {
		return map[string]any{"contacts": nonNil(dir.Local().List())}, nil
	}}
	d.table["contacts-add"] = commandSpec{required: []string{fieldNumber}, optional: []string{fieldName}, run: func(_ context.Context, _ phoneAPI, c command) (any, error) {
		ct, err := dir.Local().AddNumber(c.ContactName, c.Number)
		if err != nil {
			return nil, err
		}
		return map[string]any{"contact": ct}, nil
	}}
	d.table["contacts-delete"] = commandSpec{required: []string{fieldContactID}, run: func(_ context.Context, _ phoneAPI, c command) (any, error) {
		if err := dir.Local().Delete(c.ContactID); err != nil {
			return nil, err
		}
		return map[string]any{}, nil
	}}
	// search and lookup wait on servers: network commands, run on their own.
	d.table["search"] = commandSpec{required: []string{fieldQuery}, network: true, run: func(ctx context.Context, _ phoneAPI, c command) (any, error) {
		ctx, cancel := context.WithTimeout(ctx, searchTimeout)
		defer cancel()
		res := dir.Search(ctx, c.Query)
		errs := make([]sourceError, 0, len(res.Errors))
		for _, e := range res.Errors {
			errs = append(errs, sourceError{Source: e.Source, Message: e.Error()})
		}
		return map[string]any{"contacts": nonNil(res.Contacts), "errors": errs, "elapsedMs": res.Elapsed.Milliseconds()}, nil
	}}
	d.table["lookup"] = commandSpec{required: []string{fieldNumber}, network: true, run: func(ctx context.Context, _ phoneAPI, c command) (any, error) {
		ct, err := dir.Lookup(ctx, c.Number)
		if err != nil {
			return map[string]any{"found": false}, nil
		}
		return map[string]any{"found": true, "contact": ct}, nil
	}}
}

func nonNil(cs []directory.Contact) []directory.Contact {
	if cs == nil {
		return []directory.Contact{}
	}
	return cs
}
