package rtpmedia

import (
	"testing"
	"time"
)

// The waits between reports spread over [0.5, 1.5] × the mean (RFC 3550
// §6.3.1), so two peers' report phases cannot stay locked.
func TestReportTickerSpread(t *testing.T) {
	const mean = time.Second
	rt := &reportTicker{mean: mean}
	var low, high int
	for range 1000 {
		d := rt.next()
		if d < mean/2 || d > mean*3/2 {
			t.Fatalf("wait %v outside [%v, %v]", d, mean/2, mean*3/2)
		}
		if d < mean*3/4 {
			low++
		}
		if d > mean*5/4 {
			high++
		}
	}
	// Each outer quarter holds about 250 of 1000 uniform draws.
	if low < 150 || high < 150 {
		t.Fatalf("draws not spread: %d below 0.75×, %d above 1.25×", low, high)
	}
}

func TestReportTickerTicksAndStops(t *testing.T) {
	tk := NewReportTicker(10 * time.Millisecond)
	for range 3 {
		select {
		case <-tk.Ch():
		case <-time.After(5 * time.Second):
			t.Fatal("no tick")
		}
	}
	tk.Stop()
	tk.Stop()
	// A tick already queued may remain; after it none may come.
	select {
	case <-tk.Ch():
	default:
	}
	select {
	case <-tk.Ch():
		t.Fatal("tick after Stop")
	case <-time.After(100 * time.Millisecond):
	}
}
