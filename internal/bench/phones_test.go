package bench

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine"
)

// phone is an in-process Parlo phone on loopback with its event stream.
type phone struct {
	*callengine.Phone
	sub *callengine.Subscription
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func newPhone(tb testing.TB, user, display string, autoAnswer bool) *phone {
	tb.Helper()
	p, err := callengine.NewPhone(callengine.Options{
		Listen: []string{"udp:127.0.0.1:0"}, User: user, Display: display,
		AutoAnswer: autoAnswer, Logger: quietLogger(),
	})
	if err != nil {
		tb.Fatal(err)
	}
	ph := &phone{Phone: p, sub: p.Subscribe()}
	tb.Cleanup(func() { ph.sub.Close(); p.Close() })
	return ph
}

// drain drops queued events, so that a wait only sees what comes next.
func (p *phone) drain() {
	for {
		select {
		case <-p.sub.C():
		default:
			return
		}
	}
}

// callConnected places a call from a to b and waits for a's
// onMediaConnected. It returns the SIP Call-ID and the times from Call to
// onCallAccepted and to onMediaConnected.
func callConnected(tb testing.TB, a *phone, target string) (id string, accepted, connected time.Duration) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	a.drain()
	start := time.Now()
	s, err := a.Call(ctx, target, callengine.CallOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	id = s.SipCallID
	for accepted == 0 || connected == 0 {
		select {
		case ev := <-a.sub.C():
			if ev.Session == nil || ev.Session.SipCallID != id {
				continue
			}
			switch ev.Name {
			case callengine.EventCallAccepted:
				accepted = time.Since(start)
			case callengine.EventMediaConnected:
				connected = time.Since(start)
			case callengine.EventCallEnded, callengine.EventCallRejected:
				tb.Fatalf("call to %s ended during set-up: %s", target, ev.Name)
			}
		case <-ctx.Done():
			tb.Fatalf("call to %s: no media after 15 s (accepted after %s)", target, accepted)
		}
	}
	return id, accepted, connected
}

// hangup ends call id from p and waits for its onCallEnded.
func hangup(tb testing.TB, p *phone, id string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Hangup(ctx, id); err != nil {
		tb.Fatalf("hangup: %v", err)
	}
	if err := WaitEvent(ctx, p.sub, callengine.EventCallEnded, id); err != nil {
		tb.Fatal(err)
	}
}

// waitRemoteVideo waits until p has decoded a frame of call id newer than
// seq and returns when that was noticed.
func waitRemoteVideo(ctx context.Context, p *phone, id string, seq uint64) (time.Time, error) {
	var rv *callengine.VideoReceiver
	for rv == nil {
		if v, ok := p.RemoteVideo(id); ok {
			rv = v
			break
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	for {
		if _, s := rv.Latest(); s > seq {
			return time.Now(), nil
		}
		select {
		case <-rv.Updated():
			return time.Now(), nil
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		}
	}
}
