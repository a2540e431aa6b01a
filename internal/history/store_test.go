package history

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine"
)

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sub", "history.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestStoreWriteUpdate(t *testing.T) {
	s, _ := openTemp(t)
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	if err := s.Begin(Record{CallID: "a", Direction: Outgoing, Remote: "sip:bob@example.com", Start: t0}); err != nil {
		t.Fatal(err)
	}
	r, err := s.Get("a")
	if err != nil || !r.Open() || r.Remote != "sip:bob@example.com" {
		t.Fatalf("after Begin: %+v, %v", r, err)
	}
	end := t0.Add(90 * time.Second)
	if err := s.Update("a", func(r *Record) {
		r.Outcome, r.End, r.Shared, r.Duration = OutcomeAnswered, &end, true, 80*time.Second
	}); err != nil {
		t.Fatal(err)
	}
	r, _ = s.Get("a")
	if r.Outcome != OutcomeAnswered || !r.Shared || r.Duration != 80*time.Second || !r.End.Equal(end) {
		t.Fatalf("after Update: %+v", r)
	}
	if err := s.Update("nope", func(*Record) {}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Update of unknown call: %v, want ErrNotFound", err)
	}
	if err := s.Begin(Record{}); err == nil {
		t.Fatal("Begin without call ID succeeded")
	}
}

func TestStoreCrashRecovery(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	_ = s.Begin(Record{CallID: "open", Direction: Incoming, Remote: "1000", Start: now})
	_ = s.Begin(Record{CallID: "done", Direction: Incoming, Remote: "1001", Start: now, Outcome: OutcomeMissed})
	// A crash: the process ends without Update. Closing the file is what
	// the OS does for a killed process; bbolt's data is already on disk.
	s.Close()

	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if s2.Recovered() != 1 {
		t.Fatalf("Recovered = %d, want 1", s2.Recovered())
	}
	if r, _ := s2.Get("open"); r.Outcome != OutcomeInterrupted {
		t.Fatalf("open call after restart: %q, want interrupted", r.Outcome)
	}
	if r, _ := s2.Get("done"); r.Outcome != OutcomeMissed {
		t.Fatalf("finished call after restart: %q, want missed (untouched)", r.Outcome)
	}
}

func TestStoreLockedBySecondInstance(t *testing.T) {
	_, path := openTemp(t)
	if _, err := Open(path); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
}

func TestStoreSearch(t *testing.T) {
	s, _ := openTemp(t)
	base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for i, r := range []Record{
		{CallID: "1", Direction: Outgoing, Remote: "sip:alice@example.com", RemoteName: "Alice Martin", Outcome: OutcomeAnswered},
		{CallID: "2", Direction: Incoming, Remote: "sip:bob@example.com", RemoteName: "Bob", Outcome: OutcomeMissed},
		{CallID: "3", Direction: Incoming, Remote: "1002", Outcome: OutcomeRejected, Reason: "486 do not disturb"},
		{CallID: "4", Direction: Outgoing, Remote: "sip:alice@other.org", Outcome: OutcomeFailed, Reason: "404 Not Found"},
	} {
		r.Start = base.Add(time.Duration(i) * time.Minute)
		if err := s.Begin(r); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(rs []Record) (out []string) {
		for _, r := range rs {
			out = append(out, r.CallID)
		}
		return out
	}
	for _, tc := range []struct {
		query string
		limit int
		want  []string
	}{
		{"", 0, []string{"4", "3", "2", "1"}}, // newest first
		{"", 2, []string{"4", "3"}},
		{"alice", 0, []string{"4", "1"}},
		{"ALICE example", 0, []string{"1"}},
		{"martin", 0, []string{"1"}},
		{"missed", 0, []string{"2"}},
		{"disturb", 0, []string{"3"}},
		{"incoming", 0, []string{"3", "2"}},
		{"carol", 0, nil},
	} {
		got, err := s.Search(tc.query, tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		if g := ids(got); len(g) != len(tc.want) || (len(g) > 0 && !equal(g, tc.want)) {
			t.Errorf("Search(%q, %d) = %v, want %v", tc.query, tc.limit, g, tc.want)
		}
	}
}

func equal(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

func TestClassify(t *testing.T) {
	at := time.Now()
	ev := func(name string, p callengine.CallStatusPayload) callengine.Event {
		return callengine.Event{Name: name, Payload: p}
	}
	for _, tc := range []struct {
		name       string
		s          callengine.CallSession
		final      callengine.Event
		want       Outcome
		wantReason string
	}{
		{"answered", callengine.CallSession{AnswerTime: &at}, callengine.Event{}, OutcomeAnswered, ""},
		{"incoming, caller cancels", callengine.CallSession{}, ev(callengine.EventCallCanceled, callengine.CallStatusPayload{}), OutcomeMissed, "caller hung up"},
		{"incoming, we reject", callengine.CallSession{}, ev(callengine.EventCallRejected, callengine.CallStatusPayload{Status: 486}), OutcomeRejected, "486 declined"},
		{"incoming, DND", callengine.CallSession{}, ev(callengine.EventCallRejected, callengine.CallStatusPayload{Status: 486, Reason: "do not disturb"}), OutcomeRejected, "486 do not disturb"},
		{"outgoing busy", callengine.CallSession{IsCaller: true}, ev(callengine.EventCallRejected, callengine.CallStatusPayload{Status: 486, Reason: "Busy Here"}), OutcomeRejected, "486 Busy Here"},
		{"outgoing 404", callengine.CallSession{IsCaller: true}, ev(callengine.EventCallRejected, callengine.CallStatusPayload{Status: 404, Reason: "Not Found"}), OutcomeFailed, "404 Not Found"},
		{"outgoing network error", callengine.CallSession{IsCaller: true}, ev(callengine.EventCallRejected, callengine.CallStatusPayload{Error: "no route"}), OutcomeFailed, "no route"},
		{"outgoing we cancel", callengine.CallSession{IsCaller: true}, ev(callengine.EventCallCanceled, callengine.CallStatusPayload{}), OutcomeCanceled, ""},
		{"media error", callengine.CallSession{IsCaller: true}, ev(callengine.EventCallError, callengine.CallStatusPayload{Error: "ICE failed"}), OutcomeFailed, "ICE failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, reason := Classify(&tc.s, tc.final)
			if got != tc.want || reason != tc.wantReason {
				t.Fatalf("Classify = %q %q, want %q %q", got, reason, tc.want, tc.wantReason)
			}
		})
	}
}
