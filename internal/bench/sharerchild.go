package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/parlo-voip/parlo/callengine"
)

// SharerOptions configure RunSharerChild.
type SharerOptions struct {
	Display string // X display whose first monitor is shared
	Target  string // SIP URI of the (auto-answering) peer
}

// SharerStatus is the line RunSharerChild writes once the share runs.
type SharerStatus struct {
	Sharing bool   `json:"sharing"`
	CallID  string `json:"callId"`
}

// RunSharerChild is a whole Parlo phone in its own process: it calls
// o.Target, shares the first monitor of o.Display once media is connected,
// writes a SharerStatus line and keeps sharing until a "quit" line (or the end
// of in), then hangs up. The parent reads the process's memory from /proc.
func RunSharerChild(o SharerOptions, in io.Reader, out io.Writer) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	p, err := callengine.NewPhone(callengine.Options{
		Listen: []string{"udp:127.0.0.1:0"}, Display: o.Display, User: "sharer", Logger: log,
	})
	if err != nil {
		return err
	}
	defer p.Close()
	sub := p.Subscribe()
	defer sub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := p.Call(ctx, o.Target, callengine.CallOptions{})
	if err != nil {
		return err
	}
	if err := WaitEvent(ctx, sub, callengine.EventMediaConnected, s.SipCallID); err != nil {
		return err
	}
	if err := p.StartScreenSharing(ctx, s.SipCallID, 0); err != nil {
		return err
	}
	if err := json.NewEncoder(out).Encode(SharerStatus{Sharing: true, CallID: s.SipCallID}); err != nil {
		return err
	}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		if sc.Text() == "quit" {
			break
		}
	}
	hctx, hcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer hcancel()
	return p.Hangup(hctx, s.SipCallID)
}

// WaitEvent waits for the named event of call id ("" for any call) on sub.
func WaitEvent(ctx context.Context, sub *callengine.Subscription, name, id string) error {
	for {
		select {
		case ev, ok := <-sub.C():
			if !ok {
				return fmt.Errorf("bench: subscription closed waiting for %s", name)
			}
			if ev.Name == name && (id == "" || (ev.Session != nil && ev.Session.SipCallID == id)) {
				return nil
			}
		case <-ctx.Done():
			return fmt.Errorf("bench: waiting for %s: %w", name, ctx.Err())
		}
	}
}
