package rtpmedia

import (
	"testing"
	"time"
)

func TestPLIGate(t *testing.T) {
	var g PLIGate
	if !g.Allow() {
		t.Fatal("first PLI refused")
	}
	for range 10 {
		if g.Allow() {
			t.Fatal("a burst of requests let a second PLI through")
		}
	}
	g.mu.Lock()
	g.last = time.Now().Add(-MinPLIInterval)
	g.mu.Unlock()
	if !g.Allow() {
		t.Fatal("PLI refused after the interval")
	}
}
