package directory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// Default deadlines. A search runs as the user types, so a slow server
// must not hold the list; a caller's name is wanted while the phone rings.
const (
	DefaultSearchTimeout = 3 * time.Second
	DefaultLookupTimeout = 1500 * time.Millisecond
)

// SearcherOptions configure a Searcher.
type SearcherOptions struct {
	// Sources in order of trust: earlier sources win ties in ranking and
	// name a caller first. Put Local first.
	Sources []Source
	// SearchTimeout bounds one Search; DefaultSearchTimeout when 0.
	SearchTimeout time.Duration
	// LookupTimeout bounds the remote part of one Lookup;
	// DefaultLookupTimeout when 0.
	LookupTimeout time.Duration
	// Logger gets one line per source failure (never credentials).
	Logger *slog.Logger
}

// SourceError is one source's failure in a search.
type SourceError struct {
	Source string
	Err    error
}

func (e SourceError) Error() string { return e.Err.Error() }
func (e SourceError) Unwrap() error { return e.Err }

// SourceTiming is how long one source took.
type SourceTiming struct {
	Source  string
	Elapsed time.Duration
	Count   int
}

// Result is a merged search's answer: whatever the sources that answered
// in time found, and why the others did not.
type Result struct {
	Query    string
	Contacts []Contact
	Errors   []SourceError
	Timings  []SourceTiming
	Elapsed  time.Duration
}

// Searcher queries several sources at once under one deadline.
type Searcher struct {
	opts SearcherOptions
}

// NewSearcher makes a searcher over opts.Sources.
func NewSearcher(opts SearcherOptions) *Searcher {
	if opts.SearchTimeout <= 0 {
		opts.SearchTimeout = DefaultSearchTimeout
	}
	if opts.LookupTimeout <= 0 {
		opts.LookupTimeout = DefaultLookupTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Searcher{opts: opts}
}

// Sources returns the sources searched.
func (s *Searcher) Sources() []Source { return slices.Clone(s.opts.Sources) }

type sourceAnswer struct {
	index    int
	contacts []Contact
	err      error
	elapsed  time.Duration
}

// Search asks every source for query concurrently and returns when all
// have answered or the deadline has passed; every source honours its
// context, so none outlives the call. The contacts are de-duplicated and
// ranked (see rank); each failed source is in Errors with a message that
// names it.
func (s *Searcher) Search(ctx context.Context, query string) Result {
	return s.SearchEach(ctx, query, nil)
}

// SearchEach is Search that also hands partial, from the calling
// goroutine, the merged result so far each time a source answers before
// the last, so a slow server does not hold back what the others found.
func (s *Searcher) SearchEach(ctx context.Context, query string, partial func(Result)) Result {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, s.opts.SearchTimeout)
	defer cancel()
	answers := make(chan sourceAnswer, len(s.opts.Sources))
	for i, src := range s.opts.Sources {
		go func() { // owner: this Search, which receives every answer below
			t := time.Now()
			cs, err := src.Search(ctx, query)
			answers <- sourceAnswer{index: i, contacts: cs, err: err, elapsed: time.Since(t)}
		}()
	}
	byIndex := make([]*sourceAnswer, len(s.opts.Sources))
	for n := range s.opts.Sources {
		a := <-answers
		byIndex[a.index] = &a
		if partial != nil && n < len(s.opts.Sources)-1 {
			partial(s.result(query, byIndex, start, false))
		}
	}
	return s.result(query, byIndex, start, true)
}

// result merges the answers received so far (nil: not yet); final logs
// the failures.
func (s *Searcher) result(query string, byIndex []*sourceAnswer, start time.Time, final bool) Result {
	res := Result{Query: query}
	var all []ranked
	for i, a := range byIndex {
		if a == nil {
			continue
		}
		name := s.opts.Sources[i].Name()
		res.Timings = append(res.Timings, SourceTiming{Source: name, Elapsed: a.elapsed, Count: len(a.contacts)})
		if a.err != nil {
			err := a.err
			if errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrUnreachable) {
				err = fmt.Errorf("%w: %s did not answer within %s: %w", ErrUnreachable, name, s.opts.SearchTimeout, err)
			}
			res.Errors = append(res.Errors, SourceError{Source: name, Err: err})
			if final {
				s.opts.Logger.Warn("directory search failed", "source", name, "error", err)
			}
		}
		for j, c := range a.contacts {
			if j == MaxResults {
				break
			}
			c.Source = name
			all = append(all, ranked{c: c, source: i})
		}
	}
	res.Contacts = rank(merge(all), query)
	res.Elapsed = time.Since(start)
	return res
}

// Lookup names the caller with number: the first source (Local) is asked
// alone first, as it answers at once; then the others together under
// LookupTimeout, and the earliest source in order that knows the number
// wins. It returns an error wrapping ErrNotFound when none does (joined
// with the sources' failures, if any).
func (s *Searcher) Lookup(ctx context.Context, number string) (Contact, error) {
	if Normalize(number) == "" || len(s.opts.Sources) == 0 {
		return Contact{}, fmt.Errorf("%q: %w", number, ErrNotFound)
	}
	first := s.opts.Sources[0]
	if c, err := first.Lookup(ctx, number); err == nil {
		c.Source = first.Name()
		return c, nil
	}
	rest := s.opts.Sources[1:]
	if len(rest) == 0 {
		return Contact{}, fmt.Errorf("%q: %w", number, ErrNotFound)
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.LookupTimeout)
	defer cancel()
	answers := make(chan lookupAnswer, len(rest))
	for i, src := range rest {
		go func() { // owner: this Lookup, which receives every answer below
			c, err := src.Lookup(ctx, number)
			answers <- lookupAnswer{index: i, c: c, err: err}
		}()
	}
	results := make([]*lookupAnswer, len(rest))
	pending := len(rest)
	for pending > 0 {
		a := <-answers
		pending--
		results[a.index] = &a
		// A later source's answer wins only once every earlier one has
		// failed; then the rest are cancelled.
		if earliest(results) != nil {
			break
		}
	}
	cancel()
	for ; pending > 0; pending-- {
		<-answers // they return at once: their context is cancelled
	}
	if f := earliest(results); f != nil {
		f.c.Source = rest[f.index].Name()
		return f.c, nil
	}
	var errs []error
	for i, r := range results {
		if r != nil && r.err != nil && !errors.Is(r.err, ErrNotFound) {
			errs = append(errs, r.err)
			s.opts.Logger.Info("directory lookup failed", "source", rest[i].Name(), "error", r.err)
		}
	}
	return Contact{}, errors.Join(append([]error{fmt.Errorf("%q: %w", number, ErrNotFound)}, errs...)...)
}

// lookupAnswer is one source's answer to a Lookup.
type lookupAnswer struct {
	index int
	c     Contact
	err   error
}

// earliest returns the first answer in source order that found the
// number, if every source before it has answered without finding it.
func earliest(results []*lookupAnswer) *lookupAnswer {
	for _, r := range results {
		if r == nil {
			return nil
		}
		if r.err == nil {
			return r
		}
	}
	return nil
}

// ranked is a contact with the index of its source.
type ranked struct {
	c      Contact
	source int
}

// merge folds contacts that are the same person in several sources (same
// name, case-insensitive, and a number in common or no numbers) into the
// one from the most trusted source, adding the other's numbers.
func merge(all []ranked) []ranked {
	slices.SortStableFunc(all, func(a, b ranked) int { return a.source - b.source })
	var out []ranked
	for _, r := range all {
		dup := -1
		for i, o := range out {
			if strings.EqualFold(o.c.Name, r.c.Name) && (sharesNumber(o.c, r.c) || len(o.c.Phones) == 0 || len(r.c.Phones) == 0) {
				dup = i
				break
			}
		}
		if dup < 0 {
			out = append(out, r)
			continue
		}
		m := &out[dup].c
		for _, p := range r.c.Phones {
			if !m.HasNumber(p.Number) && len(m.Phones) < MaxNumbersPerContact {
				// Clip: never write into the source's own slice, which
				// a later (progressive) merge reads again.
				m.Phones = append(slices.Clip(m.Phones), p)
			}
		}
		if !strings.Contains(m.Source, r.c.Source) {
			m.Source += ", " + r.c.Source
		}
	}
	return out
}

func sharesNumber(a, b Contact) bool {
	for _, p := range b.Phones {
		if a.HasNumber(p.Number) {
			return true
		}
	}
	return false
}

// rank orders contacts by how well they answer query: the name equal to
// it, then starting with it, then a word of the name starting with it,
// then anything else (a number or organisation match); ties go to the
// more trusted source, then alphabetical order.
func rank(rs []ranked, query string) []Contact {
	q := strings.ToLower(strings.TrimSpace(query))
	score := func(c Contact) int {
		n := strings.ToLower(c.Name)
		switch {
		case q == "":
			return 3
		case n == q:
			return 0
		case strings.HasPrefix(n, q):
			return 1
		}
		for _, w := range strings.Fields(n) {
			if strings.HasPrefix(w, q) {
				return 2
			}
		}
		return 3
	}
	slices.SortStableFunc(rs, func(a, b ranked) int {
		if d := score(a.c) - score(b.c); d != 0 {
			return d
		}
		if d := a.source - b.source; d != 0 {
			return d
		}
		return strings.Compare(strings.ToLower(a.c.Name), strings.ToLower(b.c.Name))
	})
	out := make([]Contact, len(rs))
	for i, r := range rs {
		out[i] = r.c
	}
	return out
}
