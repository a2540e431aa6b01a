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
		b.emit(Event{Name: "e", Payload: map[string]any{"i": i}})
	}
	for i := range 1000 {
		ev := <-s.C()
		if ev.Payload["i"] != i {
			t.Fatalf("event %d arrived as %v", i, ev.Payload["i"])
		}
	}
}

// A subscriber that never reads must not block emit; past the bound its
// events are dropped and counted.
func TestSlowSubscriberDoesNotBlock(t *testing.T) {
	b := newEventBus()
	stuck := b.subscribe()
	live := b.subscribe()
	defer stuck.Close()
	defer live.Close()
	done := make(chan struct{})
	go func() {
		for range maxQueuedEvents + 500 {
			b.emit(Event{Name: "x"})
		}
		close(done)
	}()
	got := 0
	timeout := time.After(10 * time.Second)
	for got < maxQueuedEvents+500 {
		select {
		case <-live.C():
			got++
		case <-timeout:
			t.Fatalf("live subscriber got %d events", got)
		}
	}
	<-done
	if stuck.Dropped() == 0 {
		t.Fatal("stuck subscriber dropped nothing")
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
		b.emit(Event{Name: "e", Payload: map[string]any{"i": i}})
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
