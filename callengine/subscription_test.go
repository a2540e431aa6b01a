package callengine

import (
	"io"
	"log/slog"
	"testing"
	"time"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestSubscriptionKeepsOrder(t *testing.T) {
	b := newEventBus()
	s := b.subscribe()
	defer s.Close()
	for i := range 1000 {
		b.emit(Event{Name: "e", Payload: seqPayload{i}})
	}
	for i := range 1000 {
		ev := <-s.C()
		if ev.Payload != (seqPayload{i}) {
			t.Fatalf("event %d arrived as %v", i, ev.Payload)
		}
	}
}

// A subscriber that never reads must not block emit or the other
// subscribers; past the bound its events are dropped and counted.
func TestSlowSubscriberDoesNotBlock(t *testing.T) {
	b := newEventBus()
	stuck := b.subscribe()
	live := b.subscribe()
	defer stuck.Close()
	defer live.Close()
	total := maxQueuedEvents + 500
	for i := range total {
		b.emit(Event{Name: "x", Payload: seqPayload{i}})
		select {
		case ev := <-live.C():
			if ev.Payload != (seqPayload{i}) {
				t.Fatalf("live subscriber got %v, want %d", ev.Payload, i)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("live subscriber stalled at event %d", i)
		}
	}
	if live.Dropped() != 0 {
		t.Fatalf("live subscriber dropped %d", live.Dropped())
	}
	// The stuck one holds at most the bound (plus the one its pump is
	// trying to hand over); the rest was dropped.
	if d := stuck.Dropped(); d < uint64(total-maxQueuedEvents-1) {
		t.Fatalf("stuck subscriber dropped %d, want at least %d", d, total-maxQueuedEvents-1)
	}
}

func TestSubscriptionCloseIsIdempotent(t *testing.T) {
	b := newEventBus()
	s := b.subscribe()
	s.Close()
	s.Close()
	if _, ok := <-s.C(); ok {
		t.Fatal("channel open after Close")
	}
	b.emit(Event{Name: "after"}) // must not panic or block
}

// Events emitted just before the phone closes still reach a subscriber that
// keeps reading.
func TestCloseAllDeliversQueuedEvents(t *testing.T) {
	b := newEventBus()
	s := b.subscribe()
	for i := range 100 {
		b.emit(Event{Name: "e", Payload: seqPayload{i}})
	}
	done := make(chan int)
	go func() {
		n := 0
		for range s.C() {
			n++
		}
		done <- n
	}()
	b.closeAll()
	if n := <-done; n != 100 {
		t.Fatalf("subscriber got %d of 100 events queued before close", n)
	}
}

// Share and call-end events survive a full queue: they push out the oldest
// droppable events, and the stuck subscriber gets them all, in order,
// once it reads again.
func TestLosslessEventsSurviveAFullQueue(t *testing.T) {
	b := newEventBus()
	s := b.subscribe()
	defer s.Close()
	critical := []string{EventScreenShareStarted, EventScreenShareEnding, EventScreenShareEnded, EventCallEnded}
	for i := range 3 * maxQueuedEvents {
		b.emit(Event{Name: EventMessage, Payload: seqPayload{i}})
		if i%1000 == 999 {
			b.emit(Event{Name: critical[(i/1000)%len(critical)], Payload: seqPayload{i}})
		}
	}
	b.emit(Event{Name: EventCallEnded, Payload: seqPayload{-1}}) // the end
	if s.Dropped() == 0 {
		t.Fatal("nothing dropped: the queue never filled")
	}
	var got []int
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-s.C():
			if ev.Payload == (seqPayload{-1}) {
				if len(got) != 3*maxQueuedEvents/1000 {
					t.Fatalf("got %d lossless events, want %d: %v", len(got), 3*maxQueuedEvents/1000, got)
				}
				for k, i := range got {
					if i != 1000*k+999 {
						t.Fatalf("lossless events out of order: %v", got)
					}
				}
				return
			}
			if lossless(ev.Name) {
				got = append(got, ev.Payload.(seqPayload).i)
			}
		case <-deadline:
			t.Fatalf("the last event never came; lossless so far %v", got)
		}
	}
}

// seqPayload numbers the events of these tests.
type seqPayload struct{ i int }

func (seqPayload) eventPayload() {}
