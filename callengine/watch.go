package callengine

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/parlo-voip/parlo/callengine/presence"
)

// EventPackage names a SIP event package (RFC 6665 §7.2).
type EventPackage string

// The packages Parlo subscribes to.
const (
	// PackageDialog is the dialog event package (RFC 4235): busy lamps.
	PackageDialog EventPackage = "dialog"
	// PackagePresence is the presence event package (RFC 3856).
	PackagePresence EventPackage = "presence"
	// PackageMessageSummary is message waiting (RFC 3842).
	PackageMessageSummary EventPackage = "message-summary"
)

// contentType is the body type the package's NOTIFYs carry.
func (e EventPackage) contentType() string {
	switch e {
	case PackageDialog:
		return "application/dialog-info+xml"
	case PackagePresence:
		return "application/pidf+xml"
	case PackageMessageSummary:
		return "application/simple-message-summary"
	}
	return ""
}

// ParseEventPackage checks a package name given by a user.
func ParseEventPackage(s string) (EventPackage, error) {
	switch e := EventPackage(strings.ToLower(strings.TrimSpace(s))); e {
	case PackageDialog, PackagePresence, PackageMessageSummary:
		return e, nil
	}
	return "", fmt.Errorf("%w: event package %q (dialog, presence or message-summary)", ErrBadOption, s)
}

// WatchState is the last known state of one subscription, for front ends
// that start after the events (Watches).
type WatchState struct {
	Target  string
	Package EventPackage
	// Active is true while the notifier accepts the subscription.
	Active bool
	// Line is the lamp of a dialog subscription.
	Line presence.LineState
	// Presence is the status of a presence subscription.
	Presence presence.Presence
	// Voicemail is the summary of a message-summary subscription.
	Voicemail presence.MessageSummary
	// Ringing is the dialog a pickup would take over, while Line rings.
	Ringing *presence.Dialog
}

// defaultSubscribeExpires is the subscription lifetime asked for (RFC 6665
// §4.1.2.1 leaves it to the package; one hour is RFC 4235's and RFC
// 3856's suggestion, shortened so a lost notifier is noticed sooner).
const defaultSubscribeExpires = 600 * time.Second

// watchRegistry holds the phone's subscriptions, by package and target and
// by Call-ID (to match NOTIFYs). The zero value is ready.
type watchRegistry struct {
	mu       sync.Mutex
	byKey    map[string]*eventSubscription
	byCallID map[string]*eventSubscription
	closed   bool
	pub      *presencePublisher
}

func watchKey(pkg EventPackage, target string) string { return string(pkg) + " " + target }

// Watch subscribes to target's events of package pkg (RFC 6665) and keeps
// the subscription alive (refresh, re-subscribe after 481 or termination)
// until Unwatch or Close. target is an extension, a user or a SIP URI as
// Call takes it; for PackageMessageSummary an empty target means our own
// account's mailbox. Changes arrive as events; Watch returns once the
// subscription is started, not answered.
func (p *Phone) Watch(ctx context.Context, target string, pkg EventPackage) error {
	if p.ctx.Err() != nil {
		return ErrClosed
	}
	if _, err := ParseEventPackage(string(pkg)); err != nil {
		return err
	}
	p.mu.Lock()
	reg := p.reg
	p.mu.Unlock()
	if reg == nil {
		return fmt.Errorf("%w: subscriptions go through the account's registrar", ErrNotRegistered)
	}
	var uri sip.Uri
	if target == "" && pkg == PackageMessageSummary {
		uri = p.fromURI()
	} else {
		u, err := p.targetURI(target)
		if err != nil {
			return err
		}
		uri = sip.Uri{Scheme: u.Scheme, User: u.User, Host: u.Host, Port: u.Port}
	}
	w := &p.watches
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	if w.byKey == nil {
		w.byKey = map[string]*eventSubscription{}
		w.byCallID = map[string]*eventSubscription{}
	}
	key := watchKey(pkg, target)
	if _, ok := w.byKey[key]; ok {
		return nil
	}
	s := newEventSubscription(p, pkg, target, uri)
	w.byKey[key] = s
	w.byCallID[s.callID] = s
	s.start()
	return nil
}

// Unwatch ends a subscription Watch started (SUBSCRIBE with Expires: 0,
// RFC 6665 §4.1.2.3).
func (p *Phone) Unwatch(ctx context.Context, target string, pkg EventPackage) error {
	w := &p.watches
	w.mu.Lock()
	s := w.byKey[watchKey(pkg, target)]
	if s != nil {
		delete(w.byKey, watchKey(pkg, target))
	}
	w.mu.Unlock()
	if s == nil {
		return fmt.Errorf("%w: not watching %s of %q", ErrInvalidState, pkg, target)
	}
	s.close(ctx)
	w.mu.Lock()
	delete(w.byCallID, s.callID)
	w.mu.Unlock()
	return nil
}

// Watches returns the state of every subscription, sorted by package and
// target.
func (p *Phone) Watches() []WatchState {
	w := &p.watches
	w.mu.Lock()
	subs := make([]*eventSubscription, 0, len(w.byKey))
	for _, s := range w.byKey {
		subs = append(subs, s)
	}
	w.mu.Unlock()
	out := make([]WatchState, 0, len(subs))
	for _, s := range subs {
		out = append(out, s.state())
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Package != out[j].Package {
			return out[i].Package < out[j].Package
		}
		return out[i].Target < out[j].Target
	})
	return out
}

// subscriptionFor finds the subscription an in-dialog NOTIFY belongs to:
// its Call-ID, and our tag in its To (RFC 6665 §4.1.3: the first NOTIFY
// may come before the 2xx, so the notifier's tag is learnt from it). A
// Call-ID alone is not enough: anyone who saw one could then feed lamps.
func (w *watchRegistry) subscriptionFor(req *sip.Request) *eventSubscription {
	if req.CallID() == nil || req.To() == nil {
		return nil
	}
	w.mu.Lock()
	s := w.byCallID[req.CallID().Value()]
	w.mu.Unlock()
	if s == nil {
		return nil
	}
	toTag, _ := req.To().Params.Get("tag")
	if toTag != s.localTag {
		return nil
	}
	if req.Method == sip.NOTIFY {
		if fromTag, _ := req.From().Params.Get("tag"); !s.acceptsRemoteTag(fromTag) {
			return nil
		}
	}
	return s
}

// onSubscriptionNotify serves a NOTIFY of one of our subscriptions and
// reports whether it was one (else it is the REFER's).
func (p *Phone) onSubscriptionNotify(req *sip.Request, tx sip.ServerTransaction) bool {
	s := p.watches.subscriptionFor(req)
	if s == nil {
		return false
	}
	s.onNotify(req, tx)
	return true
}

// closeWatches ends every subscription and our presence publication; the
// phone's Close calls it before un-registering.
func (p *Phone) closeWatches(ctx context.Context) {
	w := &p.watches
	w.mu.Lock()
	w.closed = true
	subs := make([]*eventSubscription, 0, len(w.byKey))
	for _, s := range w.byKey {
		subs = append(subs, s)
	}
	pub := w.pub
	w.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.close(ctx)
		}()
	}
	if pub != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pub.close(ctx)
		}()
	}
	wg.Wait()
}

// Pickup answers a call ringing at a watched extension (directed pickup):
// an INVITE to the caller with Replaces naming the early dialog the
// extension's dialog-info reported (RFC 3891 §3, "early-only": it must not
// take over a call already answered). The caller's phone drops the ringing
// leg and takes ours.
func (p *Phone) Pickup(ctx context.Context, target string) (*CallSession, error) {
	p.watches.mu.Lock()
	s := p.watches.byKey[watchKey(PackageDialog, target)]
	p.watches.mu.Unlock()
	if s == nil {
		return nil, fmt.Errorf("%w: not watching the lamp of %q", ErrInvalidState, target)
	}
	st := s.state()
	if st.Ringing == nil {
		return nil, fmt.Errorf("%w: %q is not ringing", ErrInvalidState, target)
	}
	d := *st.Ringing
	// The extension's document names the dialog from its side: its local
	// tag is the caller's remote tag. Replaces names it as the caller (who
	// receives our INVITE) sees it: to-tag is the caller's own tag.
	r := replaces{callID: d.CallID, toTag: d.RemoteTag, fromTag: d.LocalTag, earlyOnly: true}
	if !isCallID(r.callID) || !isToken(r.toTag) || !isToken(r.fromTag) {
		return nil, fmt.Errorf("%w: the dialog-info of %q lacks the call-id and tags a pickup needs", ErrInvalidState, target)
	}
	caller := d.RemoteIdentity
	if caller == "" {
		caller = d.RemoteTarget
	}
	var u sip.Uri
	if err := sip.ParseUri(strings.Trim(caller, "<>"), &u); err != nil {
		return nil, fmt.Errorf("%w: caller %q: %w", ErrBadURI, headerText(caller), err)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%w: caller %q has no host", ErrBadURI, headerText(caller))
	}
	return p.Call(ctx, (&sip.Uri{Scheme: "sip", User: u.User, Host: u.Host, Port: u.Port}).String(), CallOptions{Headers: map[string]string{"Replaces": r.String()}})
}
