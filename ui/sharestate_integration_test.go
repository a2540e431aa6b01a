package ui

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine"
	"github.com/parlo-voip/parlo/internal/testpeers"
)

// A real share under a MESSAGE flood, with a GUI that lags (its UI work is
// run a little at a time) and a second subscriber that never reads: the
// phone's queues overflow and drop chat events, yet whenever the capture
// counter moves across a UI update the banner, badge and title show
// sharing; after the stop they are gone and capture has stopped; the stuck
// subscriber still gets both share events.
func TestIndicatorFollowsCaptureUnderMessageFloodIntegration(t *testing.T) {
	d := testpeers.StartDummyTwoMonitors(t)
	a, b := newDisplayPhone(t, d, false), newDisplayPhone(t, d, true)
	h := newHarness(t, PhoneEngine(a), harnessOpts{})
	stuck := a.Subscribe() // the subscriber that never reads
	defer stuck.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	s, err := a.Call(ctx, b.ContactURI(), callengine.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	id := s.SipCallID
	h.waitFor("established call", func() bool { e := h.w.find(id); return e != nil && stateOf(e.s) == stateActive })
	mons, err := a.Monitors()
	if err != nil || len(mons) == 0 {
		t.Fatalf("monitors: %v %v", mons, err)
	}
	// A moving picture: capture is damage-driven, so a still monitor is
	// only grabbed at its rare refreshes and the counter would stand still.
	d.ShowTestPattern(t, mons[0].X, mons[0].Y, mons[0].Width, mons[0].Height)

	// The flood: B sends chat MESSAGEs in the call over UDP, 8 at a time.
	const flood = 6000
	var sent atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sent.Add(1) <= flood && ctx.Err() == nil {
				_ = b.SendChat(ctx, id, "flood")
			}
		}()
	}
	// Let the backlog build (the GUI does not run meanwhile) until the
	// stuck subscriber drops, then start the share.
	for end := time.Now().Add(30 * time.Second); stuck.Dropped() == 0 && time.Now().Before(end); {
		time.Sleep(20 * time.Millisecond)
	}
	shareErr := make(chan error, 1)
	go func() { shareErr <- a.StartScreenSharing(ctx, id, mons[0].Index) }()

	// The lagging GUI: one queued UI job per step. Every job that handles
	// an event re-reads the capture state, so: counter moving before and
	// after a job => the indicator shows after it.
	pumpOne := func() bool {
		select {
		case f := <-h.queue:
			f()
			return true
		default:
			return false
		}
	}
	var checked, moving int
	started := false
	for deadline := time.Now().Add(60 * time.Second); !started || moving < 40; {
		if time.Now().After(deadline) {
			t.Fatalf("share started %v, %d UI jobs checked, %d with capture moving (sent %d)", started, checked, moving, sent.Load())
		}
		if !started {
			select {
			case err := <-shareErr:
				if err != nil {
					t.Fatalf("StartScreenSharing: %v", err)
				}
				started = true
			default:
			}
		}
		c0 := a.CapturedFrames()
		if !pumpOne() {
			time.Sleep(2 * time.Millisecond)
			continue
		}
		banner, badge, title := sharingShown(h)
		c1 := a.CapturedFrames()
		checked++
		if c0 > 0 && c1 > c0 {
			moving++
			if !banner || !badge || !title {
				t.Fatalf("capture ran (%d -> %d frames) while the indicator showed banner %v badge %v title %v", c0, c1, banner, badge, title)
			}
		}
		time.Sleep(time.Millisecond) // lag
	}
	wg.Wait()
	if stuck.Dropped() == 0 {
		t.Fatal("the stuck subscriber dropped nothing: the flood did not overflow its queue")
	}

	if err := a.StopScreenSharing(ctx, id); err != nil {
		t.Fatal(err)
	}
	// The GUI is still thousands of events behind; its next tick (run here,
	// on the test's UI goroutine) re-reads the state, whatever is queued.
	h.w.tick()
	if b, g, ti := sharingShown(h); b || g || ti {
		t.Fatalf("after the stop: banner %v badge %v title %v", b, g, ti)
	}
	c := a.CapturedFrames()
	time.Sleep(300 * time.Millisecond)
	if after := a.CapturedFrames(); after != c {
		t.Fatalf("indicator gone but %d frames captured since", after-c)
	}

	// The stuck subscriber lost chat events, never a share event.
	var gotStarted, gotEnded bool
	timeout := time.After(20 * time.Second)
	for !gotEnded {
		select {
		case ev := <-stuck.C():
			if ev.Session != nil && ev.Session.SipCallID == id {
				gotStarted = gotStarted || ev.Name == callengine.EventScreenShareStarted
				gotEnded = gotEnded || ev.Name == callengine.EventScreenShareEnded
			}
		case <-timeout:
			t.Fatalf("stuck subscriber: started %v ended %v after dropping %d", gotStarted, gotEnded, stuck.Dropped())
		}
	}
	if !gotStarted {
		t.Fatal("the stuck subscriber never got onScreenShareStarted")
	}
	t.Logf("flood %d MESSAGEs (%d UI jobs still queued), stuck subscriber dropped %d, %d UI checks, %d with capture moving", flood, len(h.queue), stuck.Dropped(), checked, moving)
}
