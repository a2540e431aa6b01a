package history

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/parlo-voip/parlo/callengine"
)

// Recorder writes the phone's calls into a Store from its events: a record
// when a call is first seen, updates for a screen share, and the outcome at
// onCallEnded.
type Recorder struct {
	store *Store
	log   *slog.Logger
	// final is the event that decided each open call's end (rejected,
	// canceled, error), with its payload, until onCallEnded.
	final   map[string]callengine.Event
	changed chan struct{}
}

// NewRecorder records into store.
func NewRecorder(store *Store, log *slog.Logger) *Recorder {
	if log == nil {
		log = slog.Default()
	}
	return &Recorder{store: store, log: log.With("component", "history"),
		final: map[string]callengine.Event{}, changed: make(chan struct{}, 1)}
}

// Changed receives a value (coalesced) after a call's end is written, so a
// History view can reload.
func (r *Recorder) Changed() <-chan struct{} { return r.changed }

func (r *Recorder) signal() {
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// Run records events until ctx ends or events is closed (the phone's
// Close closes its subscriptions after the last hangup, so running until
// then records the calls ended by quitting).
func (r *Recorder) Run(ctx context.Context, events <-chan callengine.Event) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			if err := r.Handle(ev); err != nil {
				r.log.Warn("recording call history", "event", ev.Name, "error", err)
			}
		}
	}
}

// Handle records one event. It is not safe for concurrent use: one
// goroutine feeds it, in event order.
func (r *Recorder) Handle(ev callengine.Event) error {
	s := ev.Session
	if s == nil || s.SipCallID == "" {
		return nil
	}
	id := s.SipCallID
	if _, err := r.store.Get(id); err != nil {
		// First sight of the call: write it now, so a crash leaves a trace.
		rec := Record{
			CallID: id, Direction: Incoming, Remote: s.Number, RemoteName: s.DisplayName,
			Start: s.CreationTime, Outcome: OutcomeOpen,
		}
		if s.IsCaller {
			rec.Direction = Outgoing
		}
		if rec.Start.IsZero() {
			rec.Start = time.Now()
		}
		if err := r.store.Begin(rec); err != nil {
			return err
		}
	}
	switch ev.Name {
	case callengine.EventScreenShareStarted:
		return r.store.Update(id, func(rec *Record) { rec.Shared = true })
	case callengine.EventCallAccepted, callengine.EventCallAnswered:
		return r.store.Update(id, func(rec *Record) {
			if rec.Answered == nil {
				t := time.Now()
				if s.AnswerTime != nil {
					t = *s.AnswerTime
				}
				rec.Answered = &t
			}
		})
	case callengine.EventCallRejected, callengine.EventCallCanceled, callengine.EventCallError:
		if _, seen := r.final[id]; !seen || ev.Name != callengine.EventCallError {
			r.final[id] = ev
		}
	case callengine.EventCallEnded:
		final := r.final[id]
		delete(r.final, id)
		outcome, reason := Classify(s, final)
		err := r.store.Update(id, func(rec *Record) {
			end := time.Now()
			if s.EndTime != nil {
				end = *s.EndTime
			}
			rec.End = &end
			rec.Outcome, rec.Reason = outcome, reason
			if rec.RemoteName == "" {
				rec.RemoteName = s.DisplayName
			}
			if s.AnswerTime != nil && rec.Answered == nil {
				t := *s.AnswerTime
				rec.Answered = &t
			}
			if rec.Answered != nil && outcome == OutcomeAnswered {
				rec.Duration = end.Sub(*rec.Answered).Round(time.Second)
			}
		})
		if err == nil {
			r.signal()
		}
		return err
	}
	return nil
}

// Classify says how a call ended, from its last snapshot and the event that
// decided its end (rejected, canceled or error; zero when it just hung up).
func Classify(s *callengine.CallSession, final callengine.Event) (Outcome, string) {
	if s.Answered || s.AnswerTime != nil {
		return OutcomeAnswered, ""
	}
	st, _ := final.Payload.(callengine.CallStatusPayload)
	status, reason, errText := st.Status, st.Reason, st.Error
	switch final.Name {
	case callengine.EventCallRejected:
		if errText != "" {
			return OutcomeFailed, errText
		}
		if !s.IsCaller && reason == "" && status != 0 {
			reason = "declined"
		}
		if s.IsCaller && status != 486 && status != 600 && status != 603 {
			// 404, 408, 480, 5xx...: the call failed rather than being
			// declined (RFC 3261 §21).
			return OutcomeFailed, statusText(status, reason)
		}
		return OutcomeRejected, statusText(status, reason)
	case callengine.EventCallCanceled:
		if s.IsCaller {
			return OutcomeCanceled, ""
		}
		return OutcomeMissed, "caller hung up"
	case callengine.EventCallError:
		return OutcomeFailed, errText
	}
	if s.IsCaller {
		return OutcomeCanceled, ""
	}
	return OutcomeMissed, ""
}

func statusText(status int, reason string) string {
	switch {
	case status != 0 && reason != "":
		return fmt.Sprintf("%d %s", status, reason)
	case status != 0:
		return fmt.Sprint(status)
	}
	return reason
}
