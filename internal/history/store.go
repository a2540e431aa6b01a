// Package history keeps Parlo's call history in an embedded bbolt database
// under the user's data directory. A call is written when it starts and
// updated when it ends, so a crash mid-call leaves an open record, which the
// next Open marks "interrupted".
package history

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Sentinel errors.
var (
	// ErrNotFound: no record has that call ID.
	ErrNotFound = errors.New("history: no such call")
	// ErrLocked: another process (a second Parlo) holds the database.
	ErrLocked = errors.New("history: database is in use by another Parlo")
)

// Direction of a call.
type Direction string

// The directions of a call.
const (
	Incoming Direction = "incoming"
	Outgoing Direction = "outgoing"
)

// Outcome of a call. OutcomeOpen is a call not yet ended.
type Outcome string

// The outcomes of a call.
const (
	OutcomeOpen        Outcome = "open"
	OutcomeAnswered    Outcome = "answered"
	OutcomeMissed      Outcome = "missed"
	OutcomeRejected    Outcome = "rejected"
	OutcomeCanceled    Outcome = "canceled"
	OutcomeFailed      Outcome = "failed"
	OutcomeInterrupted Outcome = "interrupted" // Parlo stopped during the call
)

// Record is one call.
type Record struct {
	CallID     string        `json:"callId"` // SIP Call-ID
	Direction  Direction     `json:"direction"`
	Remote     string        `json:"remote"` // number or SIP URI to call back
	RemoteName string        `json:"remoteName,omitempty"`
	Start      time.Time     `json:"start"`
	Answered   *time.Time    `json:"answered,omitempty"`
	End        *time.Time    `json:"end,omitempty"`
	Outcome    Outcome       `json:"outcome"`
	Reason     string        `json:"reason,omitempty"` // why it failed or was rejected
	Shared     bool          `json:"shared"`           // we shared a screen
	Duration   time.Duration `json:"duration"`         // answered until end
}

// Open reports whether the call has not ended yet.
func (r Record) Open() bool { return r.Outcome == OutcomeOpen }

var (
	bucketCalls = []byte("calls") // sortKey → JSON Record
	bucketIndex = []byte("index") // Call-ID → sortKey
)

// Store is the history database. Its methods are safe for concurrent use.
type Store struct {
	db        *bolt.DB
	recovered int
}

// DefaultPath is history.db in Parlo's directory of the user's data dir
// ($XDG_DATA_HOME, default ~/.local/share, on Linux).
func DefaultPath() (string, error) {
	dir := os.Getenv("XDG_DATA_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("history: no data directory: %w", err)
		}
		dir = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(dir, "parlo", "history.db"), nil
}

// Open opens (creating it and its directory) the database at path and marks
// every call left open by a previous run as interrupted.
func Open(path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s", ErrLocked, path)
	}
	if err != nil {
		return nil, fmt.Errorf("history: open %s: %w", path, err)
	}
	s := &Store{db: db}
	if err := s.db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketCalls, bucketIndex} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("history: %w", err)
	}
	if s.recovered, err = s.recover(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Recovered is how many open calls Open marked interrupted.
func (s *Store) Recovered() int { return s.recovered }

// recover marks open records interrupted: their end is unknown, so End
// stays nil and Duration is what can be said for sure (none).
func (s *Store) recover() (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCalls)
		var fix [][2][]byte
		err := b.ForEach(func(k, v []byte) error {
			var r Record
			if json.Unmarshal(v, &r) != nil || !r.Open() {
				return nil
			}
			r.Outcome = OutcomeInterrupted
			r.Reason = "Parlo stopped during the call"
			nv, err := json.Marshal(r)
			if err != nil {
				return err
			}
			fix = append(fix, [2][]byte{bytes.Clone(k), nv})
			return nil
		})
		if err != nil {
			return err
		}
		for _, kv := range fix {
			if err := b.Put(kv[0], kv[1]); err != nil {
				return err
			}
		}
		n = len(fix)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("history: recovering open calls: %w", err)
	}
	return n, nil
}

// sortKey orders records by start time, then Call-ID.
func sortKey(r Record) []byte {
	k := make([]byte, 8, 8+len(r.CallID))
	binary.BigEndian.PutUint64(k, uint64(r.Start.UnixNano()))
	return append(k, r.CallID...)
}

// Begin writes a new call (Outcome open unless set). A second Begin for the
// same Call-ID replaces the first.
func (s *Store) Begin(r Record) error {
	if r.CallID == "" {
		return errors.New("history: record without call ID")
	}
	if r.Outcome == "" {
		r.Outcome = OutcomeOpen
	}
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		calls, idx := tx.Bucket(bucketCalls), tx.Bucket(bucketIndex)
		if old := idx.Get([]byte(r.CallID)); old != nil {
			if err := calls.Delete(old); err != nil {
				return err
			}
		}
		k := sortKey(r)
		if err := calls.Put(k, v); err != nil {
			return err
		}
		return idx.Put([]byte(r.CallID), k)
	})
}

// Update changes the record of callID with f. f must not change CallID or
// Start (they are its key).
func (s *Store) Update(callID string, f func(*Record)) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		calls, idx := tx.Bucket(bucketCalls), tx.Bucket(bucketIndex)
		k := idx.Get([]byte(callID))
		if k == nil {
			return fmt.Errorf("%w: %q", ErrNotFound, callID)
		}
		var r Record
		if err := json.Unmarshal(calls.Get(k), &r); err != nil {
			return fmt.Errorf("history: record %q: %w", callID, err)
		}
		f(&r)
		v, err := json.Marshal(r)
		if err != nil {
			return err
		}
		return calls.Put(k, v)
	})
}

// Get returns the record of callID.
func (s *Store) Get(callID string) (Record, error) {
	var r Record
	err := s.db.View(func(tx *bolt.Tx) error {
		k := tx.Bucket(bucketIndex).Get([]byte(callID))
		if k == nil {
			return fmt.Errorf("%w: %q", ErrNotFound, callID)
		}
		return json.Unmarshal(tx.Bucket(bucketCalls).Get(k), &r)
	})
	return r, err
}

// Search returns up to limit records (0: all), newest first, whose remote
// party, name, outcome, reason or direction contains every word of query
// (case-insensitive; empty query: all). A linear scan: a user's history is
// thousands of records, which bbolt walks in a millisecond or two.
func (s *Store) Search(query string, limit int) ([]Record, error) {
	words := strings.Fields(strings.ToLower(query))
	var out []Record
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketCalls).Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			var r Record
			if json.Unmarshal(v, &r) != nil {
				continue
			}
			if !matches(r, words) {
				continue
			}
			out = append(out, r)
			if limit > 0 && len(out) >= limit {
				return nil
			}
		}
		return nil
	})
	// Keys are ordered already; keep the guarantee explicit for equal
	// start times from different clocks.
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.After(out[j].Start) })
	return out, err
}

func matches(r Record, words []string) bool {
	hay := strings.ToLower(strings.Join([]string{r.Remote, r.RemoteName, string(r.Outcome), r.Reason, string(r.Direction)}, "\x00"))
	for _, w := range words {
		if !strings.Contains(hay, w) {
			return false
		}
	}
	return true
}

// Close closes the database. Idempotent.
func (s *Store) Close() error {
	if s == nil || s.db == nil {
		return nil
	}
	err := s.db.Close()
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return nil
	}
	return err
}
