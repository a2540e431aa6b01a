package directory

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestLocalAddEditDeletePersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parlo", "contacts.json")
	l, err := OpenLocal(path)
	if err != nil {
		t.Fatal(err)
	}
	alice, err := l.Add(Contact{Name: "Alice Martin", Phones: []Phone{{Label: "Work", Number: "+33 1 23 45 67 89"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Add(Contact{}); !errors.Is(err, ErrInvalidContact) {
		t.Fatalf("empty contact: %v", err)
	}
	// From the history: a number only, then named later without a duplicate.
	bob, err := l.AddNumber("", "sip:201@pbx")
	if err != nil {
		t.Fatal(err)
	}
	if bob.Name != "sip:201@pbx" {
		t.Fatalf("unnamed contact named %q", bob.Name)
	}
	if bob, err = l.AddNumber("Bob", "201"); err != nil || bob.Name != "Bob" {
		t.Fatalf("AddNumber again: %+v %v", bob, err)
	}
	alice.Name = "Alice Dupont"
	if err := l.Update(alice); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("contacts file: %v %v", fi, err)
	}

	again, err := OpenLocal(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := again.List(); len(got) != 2 || got[0].Name != "Alice Dupont" || got[1].Name != "Bob" {
		t.Fatalf("reopened: %+v", got)
	}
	c, err := again.Lookup(context.Background(), "0123456789")
	if err != nil || c.ID != alice.ID || c.Phones[0].Label != "work" {
		t.Fatalf("Lookup: %+v %v", c, err)
	}
	found, _ := again.Search(context.Background(), "dup ali")
	if len(found) != 1 || found[0].ID != alice.ID {
		t.Fatalf("Search by words: %+v", found)
	}
	found, _ = again.Search(context.Background(), "4567")
	if len(found) != 1 || found[0].ID != alice.ID {
		t.Fatalf("Search by digits: %+v", found)
	}
	if err := again.Delete(alice.ID); err != nil {
		t.Fatal(err)
	}
	if err := again.Delete(alice.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := again.Lookup(context.Background(), "0123456789"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted contact still found: %v", err)
	}
}

func TestLocalRefusesCorruptFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "contacts.json")
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenLocal(path); err == nil {
		t.Fatal("corrupt file accepted")
	}
}

func TestCleanContact(t *testing.T) {
	c, ok := cleanContact(Contact{
		Name:   "Eve\u202e\x00 \n evil",
		Phones: []Phone{{Number: "+1 (555) 0100 <script>"}, {Number: "no digits"}},
	})
	if !ok || c.Name != "Eve evil" || len(c.Phones) != 1 || c.Phones[0].Number != "+1 (555) 0100" {
		t.Fatalf("cleaned: %+v %v", c, ok)
	}
}

// TestSearchEachReportsPartials: the fast source's contacts come before
// the slow one has answered, and the final result has both, merged.
func TestSearchEachReportsPartials(t *testing.T) {
	fast := newLocalWith(t, Contact{Name: "Ann Lee", Phones: []Phone{{Number: "201"}}})
	slow := slowSource{Local: newLocalWith(t, Contact{Name: "Ann Lee", Phones: []Phone{{Number: "201"}, {Number: "0611"}}}), delay: 300 * time.Millisecond}
	s := NewSearcher(SearcherOptions{Sources: []Source{fast, slow}})
	var partials []Result
	final := s.SearchEach(context.Background(), "ann", func(r Result) { partials = append(partials, r) })
	if len(partials) != 1 || len(partials[0].Contacts) != 1 || len(partials[0].Timings) != 1 || partials[0].Timings[0].Source != LocalName {
		t.Fatalf("partials: %+v", partials)
	}
	if len(final.Contacts) != 1 || len(final.Contacts[0].Phones) != 2 || final.Contacts[0].Source != "Local, Slow" {
		t.Fatalf("final: %+v", final.Contacts)
	}
	if len(partials[0].Contacts[0].Phones) != 1 {
		t.Fatal("the final merge changed the partial result's contact")
	}
}

func newLocalWith(t *testing.T, cs ...Contact) *Local {
	t.Helper()
	l, err := OpenLocal(filepath.Join(t.TempDir(), "c.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if _, err := l.Add(c); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

// slowSource is a local book that answers after delay (or ctx's end).
type slowSource struct {
	*Local
	delay time.Duration
}

func (s slowSource) Name() string { return "Slow" }

func (s slowSource) Search(ctx context.Context, q string) ([]Contact, error) {
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.Local.Search(ctx, q)
}
