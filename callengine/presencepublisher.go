package callengine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/parlo-voip/parlo/callengine/presence"
)

// defaultPublishExpires is the lifetime of our published state (RFC 3903
// §4: the ESC may shorten it; it is refreshed before it runs out).
const defaultPublishExpires = 600 * time.Second

// errNoPublish: the server does not take PUBLISH for presence.
var errNoPublish = errors.New("callengine: the server does not accept presence PUBLISH")

// presencePublisher keeps our presence published (RFC 3903): the chosen
// status (available, away, do not disturb), replaced by on-the-phone while
// a call is up and by dnd while do-not-disturb is on. It follows the
// phone's own events to see calls start and end; its goroutine is owned by
// it and awaited by close, which removes the publication.
type presencePublisher struct {
	p      *Phone
	log    *slog.Logger
	events *Subscription
	kick   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once

	mu        sync.Mutex
	chosen    presence.Status
	note      string
	etag      string
	published presence.Status
}

// PublishPresence starts publishing our presence, or changes the status
// chosen by the user (presence.StatusAvailable, StatusAway, StatusBusy or
// StatusDND; the phone itself shows on-the-phone during calls). Needs a
// registered account.
func (p *Phone) PublishPresence(status presence.Status, note string) error {
	switch status {
	case presence.StatusAvailable, presence.StatusAway, presence.StatusBusy, presence.StatusDND:
	default:
		return fmt.Errorf("%w: presence status %q (available, away, busy or dnd)", ErrBadOption, status)
	}
	p.mu.Lock()
	reg := p.reg
	p.mu.Unlock()
	if reg == nil {
		return fmt.Errorf("%w: presence is published through the account's registrar", ErrNotRegistered)
	}
	w := &p.watches
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	pub := w.pub
	if pub == nil {
		ctx, cancel := context.WithCancel(p.ctx)
		pub = &presencePublisher{p: p, log: p.log.With("component", "presence"), events: p.Subscribe(),
			kick: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{}), chosen: status, note: note}
		w.pub = pub
		go pub.run(ctx)
	}
	w.mu.Unlock()
	pub.mu.Lock()
	pub.chosen, pub.note = status, note
	pub.mu.Unlock()
	pub.poke()
	return nil
}

// PublishedPresence is the status last accepted by the server ("" before).
func (p *Phone) PublishedPresence() presence.Status {
	p.watches.mu.Lock()
	pub := p.watches.pub
	p.watches.mu.Unlock()
	if pub == nil {
		return ""
	}
	pub.mu.Lock()
	defer pub.mu.Unlock()
	return pub.published
}

// presenceChanged tells the publisher that something it reads (do not
// disturb) changed.
func (p *Phone) presenceChanged() {
	p.watches.mu.Lock()
	pub := p.watches.pub
	p.watches.mu.Unlock()
	if pub != nil {
		pub.poke()
	}
}

func (pub *presencePublisher) poke() {
	select {
	case pub.kick <- struct{}{}:
	default:
	}
}

// desired is what should be published now.
func (pub *presencePublisher) desired() (presence.Status, string) {
	pub.mu.Lock()
	st, note := pub.chosen, pub.note
	pub.mu.Unlock()
	if st == presence.StatusDND || pub.p.DoNotDisturb() {
		return presence.StatusDND, note
	}
	for _, c := range pub.p.Calls() {
		if c.IsEstablished() || (c.IsCaller && !c.IsTerminated()) {
			return presence.StatusOnThePhone, note
		}
	}
	return st, note
}

func (pub *presencePublisher) run(ctx context.Context) {
	defer close(pub.done)
	defer pub.events.Close()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	timer.Stop()
	var sent presence.Status
	sentNote := ""
	refreshDue, failed := false, false
	for {
		st, note := pub.desired()
		if st != sent || note != sentNote || refreshDue {
			granted, err := pub.publish(ctx, st, note, refreshDue && !failed && st == sent && note == sentNote)
			if ctx.Err() != nil {
				return
			}
			refreshDue = false
			timer.Stop()
			switch {
			case errors.Is(err, errNoPublish):
				pub.log.Info("presence not published", "error", err)
				<-ctx.Done()
				return
			case err != nil:
				// Retried with a body when the timer fires, or at the
				// next change: never in a loop.
				pub.log.Warn("PUBLISH failed", "error", err)
				sent, sentNote, failed = st, note, true
				timer.Reset(30 * time.Second)
			default:
				sent, sentNote, failed = st, note, false
				wait := granted * 9 / 10
				if granted-wait > 30*time.Second {
					wait = granted - 30*time.Second
				}
				timer.Reset(wait)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-pub.kick:
		case <-timer.C:
			refreshDue = true
		case _, ok := <-pub.events.C():
			if !ok {
				return
			}
		}
	}
}

// publish sends one PUBLISH: a refresh (no body, SIP-If-Match, RFC 3903
// §4.3), a modification (body and SIP-If-Match, §4.4) or an initial one;
// 412 starts over with a new publication (§6 step 4), 423 asks again with
// Min-Expires.
func (pub *presencePublisher) publish(ctx context.Context, st presence.Status, note string, refreshOnly bool) (time.Duration, error) {
	expires := defaultPublishExpires
	if pub.p.opts.SubscribeExpires > 0 {
		expires = pub.p.opts.SubscribeExpires
	}
	for attempt := 0; ; attempt++ {
		pub.mu.Lock()
		etag := pub.etag
		pub.mu.Unlock()
		req := pub.newRequest(st, note, etag, expires, refreshOnly && etag != "")
		rctx, cancel := context.WithTimeout(ctx, 32*time.Second)
		res, err := pub.p.cli.Do(rctx, req)
		if err == nil && (res.StatusCode == sip.StatusUnauthorized || res.StatusCode == sip.StatusProxyAuthRequired) {
			if cerr := pub.p.challengeAllowed(req, res); cerr != nil {
				cancel()
				return 0, fmt.Errorf("%w: PUBLISH: %w", ErrRequestFailed, cerr)
			}
			res, err = pub.p.cli.DoDigestAuth(rctx, req, res, digestFor(pub.p.account()))
		}
		cancel()
		if err != nil {
			return 0, fmt.Errorf("%w: PUBLISH: %w", ErrRequestFailed, err)
		}
		switch {
		case res.IsSuccess():
			pub.mu.Lock()
			if h := res.GetHeader("SIP-ETag"); h != nil && isToken(strings.TrimSpace(h.Value())) {
				pub.etag = strings.TrimSpace(h.Value())
			}
			pub.published = st
			pub.mu.Unlock()
			granted := expires
			if g, ok := headerSeconds(res, "Expires"); ok && g > 0 && g <= expires {
				granted = g
			}
			return max(granted, 2*time.Second), nil
		case res.StatusCode == statusConditionalRequestFailed && attempt < 2:
			pub.mu.Lock()
			pub.etag = ""
			pub.mu.Unlock()
			refreshOnly = false
			continue
		case res.StatusCode == sip.StatusIntervalToBrief && attempt < maxMinExpiresRetries:
			if floor, ok := headerSeconds(res, "Min-Expires"); ok && floor > expires {
				expires = floor
				continue
			}
		case res.StatusCode == 489 || res.StatusCode == sip.StatusMethodNotAllowed || res.StatusCode == sip.StatusNotImplemented:
			return 0, fmt.Errorf("%w: %d %s", errNoPublish, res.StatusCode, headerText(res.Reason))
		}
		return 0, fmt.Errorf("%w: PUBLISH: %d %s", ErrRequestFailed, res.StatusCode, headerText(res.Reason))
	}
}

// newRequest builds a PUBLISH to our own AOR through the registrar.
func (pub *presencePublisher) newRequest(st presence.Status, note, etag string, expires time.Duration, refreshOnly bool) *sip.Request {
	aor := pub.p.fromURI()
	req := sip.NewRequest(sip.PUBLISH, aor)
	from := sip.FromHeader{Address: aor, DisplayName: displayName(pub.p.opts.DisplayName), Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	callID := sip.CallIDHeader(sip.GenerateTagN(24))
	req.AppendHeader(&from)
	req.AppendHeader(&sip.ToHeader{Address: aor})
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.PUBLISH})
	req.AppendHeader(sip.NewHeader("Event", string(PackagePresence)))
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(expires/time.Second))))
	if etag != "" {
		req.AppendHeader(sip.NewHeader("SIP-If-Match", etag))
	}
	if !refreshOnly && expires > 0 {
		req.AppendHeader(sip.NewHeader("Content-Type", PackagePresence.contentType()))
		req.SetBody(presence.BuildPIDF(aor.String(), st, note))
	}
	pub.p.route(req, aor)
	return req
}

// close stops the publisher and removes the publication (Expires: 0 with
// SIP-If-Match, RFC 3903 §4.5). Idempotent.
func (pub *presencePublisher) close(ctx context.Context) {
	pub.once.Do(func() {
		pub.cancel()
		<-pub.done
		pub.mu.Lock()
		etag := pub.etag
		pub.mu.Unlock()
		if etag == "" {
			return
		}
		req := pub.newRequest("", "", etag, 0, true)
		if res, err := pub.p.cli.Do(ctx, req); err != nil {
			pub.log.Debug("removing the publication failed", "error", err)
		} else if !res.IsSuccess() {
			pub.log.Debug("removing the publication refused", "status", res.StatusCode)
		}
	})
}

// statusConditionalRequestFailed is RFC 3903 §11.2.1's 412: the ESC no
// longer knows our entity-tag.
const statusConditionalRequestFailed = 412
