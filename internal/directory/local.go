package directory

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// LocalName is the local address book's source name.
const LocalName = "Local"

// maxLocalFile bounds the contacts file read at start (a corrupt or
// foreign file must not exhaust memory).
const maxLocalFile = 16 << 20

// localFile is the JSON layout of the contacts file.
type localFile struct {
	Version  int       `json:"version"`
	Contacts []Contact `json:"contacts"`
}

// Local is the user's own address book, a JSON file in the config
// directory, written atomically (temporary file and rename) on each
// change. It is safe for concurrent use.
type Local struct {
	path string

	mu       sync.Mutex
	contacts []Contact
}

// DefaultLocalPath is $XDG_CONFIG_HOME/parlo/contacts.json (os.UserConfigDir
// elsewhere).
func DefaultLocalPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("directory: no config directory: %w", err)
	}
	return filepath.Join(dir, "parlo", "contacts.json"), nil
}

// OpenLocal reads the address book at path; a missing file is an empty
// book (created on the first change).
func OpenLocal(path string) (*Local, error) {
	l := &Local{path: path}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		return nil, fmt.Errorf("directory: read contacts: %w", err)
	}
	if len(data) > maxLocalFile {
		return nil, fmt.Errorf("directory: contacts file %s is larger than %d bytes: %w", path, maxLocalFile, ErrConfig)
	}
	var f localFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("directory: contacts file %s: %w", path, err)
	}
	for _, c := range f.Contacts {
		if c, ok := cleanContact(c); ok {
			if c.ID == "" {
				c.ID = newID()
			}
			c.Source = LocalName
			l.contacts = append(l.contacts, c)
		}
	}
	return l, nil
}

// Name is LocalName.
func (l *Local) Name() string { return LocalName }

// Path is the file the book is kept in.
func (l *Local) Path() string { return l.path }

// List returns every contact, sorted by name.
func (l *Local) List() []Contact {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := slices.Clone(l.contacts)
	slices.SortStableFunc(out, func(a, b Contact) int {
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	return out
}

// Search returns the contacts matching query (see Source).
func (l *Local) Search(_ context.Context, query string) ([]Contact, error) {
	var out []Contact
	for _, c := range l.List() {
		if matches(c, query) {
			out = append(out, c)
			if len(out) == MaxResults {
				break
			}
		}
	}
	return out, nil
}

// Lookup returns the contact with number.
func (l *Local) Lookup(_ context.Context, number string) (Contact, error) {
	for _, c := range l.List() {
		if c.HasNumber(number) {
			return c, nil
		}
	}
	return Contact{}, fmt.Errorf("%s: %q: %w", LocalName, number, ErrNotFound)
}

// Add stores a new contact and returns it with its ID.
func (l *Local) Add(c Contact) (Contact, error) {
	c.ID = newID()
	c.Source = LocalName
	c, ok := cleanContact(c)
	if !ok {
		return Contact{}, ErrInvalidContact
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	next := append(slices.Clone(l.contacts), c)
	if err := l.write(next); err != nil {
		return Contact{}, err
	}
	l.contacts = next
	return c, nil
}

// AddNumber stores a contact for a number from the call history or a call
// in progress; when a contact already has that number it gets the name
// instead (when it had none but its number), so adding twice does not
// duplicate.
func (l *Local) AddNumber(name, number string) (Contact, error) {
	if c, err := l.Lookup(context.Background(), number); err == nil {
		if strings.TrimSpace(name) == "" || c.Name != c.PrimaryNumber() {
			return c, nil
		}
		c.Name = name
		return c, l.Update(c)
	}
	return l.Add(Contact{Name: name, Phones: []Phone{{Number: number}}})
}

// Update replaces the contact with c.ID.
func (l *Local) Update(c Contact) error {
	c.Source = LocalName
	c, ok := cleanContact(c)
	if !ok {
		return ErrInvalidContact
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	i := slices.IndexFunc(l.contacts, func(x Contact) bool { return x.ID == c.ID })
	if i < 0 {
		return fmt.Errorf("contact %q: %w", c.ID, ErrNotFound)
	}
	next := slices.Clone(l.contacts)
	next[i] = c
	if err := l.write(next); err != nil {
		return err
	}
	l.contacts = next
	return nil
}

// Delete removes the contact with id.
func (l *Local) Delete(id string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := slices.IndexFunc(l.contacts, func(x Contact) bool { return x.ID == id })
	if i < 0 {
		return fmt.Errorf("contact %q: %w", id, ErrNotFound)
	}
	next := slices.Delete(slices.Clone(l.contacts), i, i+1)
	if err := l.write(next); err != nil {
		return err
	}
	l.contacts = next
	return nil
}

// write saves contacts to a temporary file beside the book and renames it
// over the book, so a crash leaves the old or the new file, never half.
func (l *Local) write(contacts []Contact) error {
	if err := os.MkdirAll(filepath.Dir(l.path), 0o700); err != nil {
		return fmt.Errorf("directory: save contacts: %w", err)
	}
	out := make([]Contact, len(contacts))
	for i, c := range contacts {
		c.Source = ""
		out[i] = c
	}
	data, err := json.MarshalIndent(localFile{Version: 1, Contacts: out}, "", "  ")
	if err != nil {
		return fmt.Errorf("directory: save contacts: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(l.path), ".contacts-*.json")
	if err != nil {
		return fmt.Errorf("directory: save contacts: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("directory: save contacts: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("directory: save contacts: %w", err)
	}
	if err := os.Rename(tmp.Name(), l.path); err != nil {
		return fmt.Errorf("directory: save contacts: %w", err)
	}
	return nil
}

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
