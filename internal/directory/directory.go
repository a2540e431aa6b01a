package directory

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Config is the user's directory settings.
type Config struct {
	// LocalPath is the local address book; DefaultLocalPath when empty.
	LocalPath string
	// CardDAV is searched when its URL is set.
	CardDAV CardDAVOptions
	// LDAP is searched when its URL is set.
	LDAP LDAPOptions
	// Rules rewrite dialled numbers.
	Rules Rules
	// SearchTimeout and LookupTimeout: see SearcherOptions.
	SearchTimeout time.Duration
	LookupTimeout time.Duration
	// Logger gets source failures (never credentials).
	Logger *slog.Logger
}

// Directory is what the front ends use: the local book to edit, a
// searcher over every configured source, and the dialling rules.
type Directory struct {
	local    *Local
	searcher *Searcher
	rules    Rules
}

// Open opens the local book and makes the configured remote sources. A
// remote source with invalid settings is an error wrapping ErrConfig that
// names it; nothing touches the network here.
func Open(cfg Config) (*Directory, error) {
	path := cfg.LocalPath
	if path == "" {
		p, err := DefaultLocalPath()
		if err != nil {
			return nil, err
		}
		path = p
	}
	local, err := OpenLocal(path)
	if err != nil {
		return nil, err
	}
	sources := []Source{local}
	if cfg.CardDAV.URL != "" {
		s, err := NewCardDAV(cfg.CardDAV)
		if err != nil {
			return nil, fmt.Errorf("CardDAV settings: %w", err)
		}
		sources = append(sources, s)
	}
	if cfg.LDAP.URL != "" {
		s, err := NewLDAP(cfg.LDAP)
		if err != nil {
			return nil, fmt.Errorf("LDAP settings: %w", err)
		}
		sources = append(sources, s)
	}
	return &Directory{
		local: local,
		searcher: NewSearcher(SearcherOptions{
			Sources: sources, SearchTimeout: cfg.SearchTimeout, LookupTimeout: cfg.LookupTimeout, Logger: cfg.Logger,
		}),
		rules: cfg.Rules,
	}, nil
}

// Local is the editable local address book.
func (d *Directory) Local() *Local { return d.local }

// Search searches every source (Searcher.Search).
func (d *Directory) Search(ctx context.Context, query string) Result {
	return d.searcher.Search(ctx, query)
}

// SearchEach searches every source, reporting partial results
// (Searcher.SearchEach).
func (d *Directory) SearchEach(ctx context.Context, query string, partial func(Result)) Result {
	return d.searcher.SearchEach(ctx, query, partial)
}

// Lookup names a caller (Searcher.Lookup).
func (d *Directory) Lookup(ctx context.Context, number string) (Contact, error) {
	return d.searcher.Lookup(ctx, number)
}

// Rewrite applies the dialling rules to a target about to be called.
func (d *Directory) Rewrite(target string) string { return d.rules.Apply(target) }

// SourceNames lists the sources searched, Local first.
func (d *Directory) SourceNames() []string {
	var out []string
	for _, s := range d.searcher.Sources() {
		out = append(out, s.Name())
	}
	return out
}
