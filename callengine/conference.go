package callengine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/parlo-voip/parlo/callengine/audio"
	"github.com/parlo-voip/parlo/callengine/share"
)

// ErrConference is returned for a merge or split the calls' states do not
// allow (fewer than two established calls, a call not in the conference).
var ErrConference = errors.New("callengine: conference")

// conference is the phone's one local conference: the calls whose audio
// Parlo mixes so every party hears the others. Each call's audio.CallTap
// does the mixing; this only keeps who is in.
type conference struct {
	mu   sync.Mutex
	legs []*call
}

func (cf *conference) ids() []string {
	cf.mu.Lock()
	defer cf.mu.Unlock()
	ids := make([]string, 0, len(cf.legs))
	for _, c := range cf.legs {
		ids = append(ids, c.id)
	}
	return ids
}

// others are the conference's legs other than c (none when c is not in
// the conference).
func (cf *conference) others(c *call) []*call {
	cf.mu.Lock()
	defer cf.mu.Unlock()
	if !slices.Contains(cf.legs, c) {
		return nil
	}
	return slices.DeleteFunc(slices.Clone(cf.legs), func(o *call) bool { return o == c })
}

func (cf *conference) has(c *call) bool {
	cf.mu.Lock()
	defer cf.mu.Unlock()
	return slices.Contains(cf.legs, c)
}

// Merge joins established calls into the phone's local conference (or
// starts it): Parlo mixes the audio so that every party hears every other,
// each leg at its own codec and rate. Held calls are resumed; no call is
// put on hold by the merge. A muted phone stays muted: its microphone is
// left out, the parties still hear each other. Merging calls already in
// the conference is a no-op.
func (p *Phone) Merge(ctx context.Context, ids ...string) error {
	var calls []*call
	for _, id := range ids {
		c, err := p.call(id)
		if err != nil {
			return err
		}
		if s := c.snapshot(); !s.IsEstablished() {
			return fmt.Errorf("%w: call %s is not established", ErrConference, id)
		}
		if !slices.Contains(calls, c) {
			calls = append(calls, c)
		}
	}
	cf := &p.conf
	cf.mu.Lock()
	all := slices.Clone(cf.legs)
	for _, c := range calls {
		if !slices.Contains(all, c) {
			all = append(all, c)
		}
	}
	cf.mu.Unlock()
	if len(all) < 2 {
		return fmt.Errorf("%w: a conference needs two established calls", ErrConference)
	}
	for _, c := range calls {
		if c.snapshot().Paused {
			if err := c.resume(ctx); err != nil {
				return fmt.Errorf("%w: resuming %s: %w", ErrConference, c.id, err)
			}
		}
	}
	cf.mu.Lock()
	var joined []*call
	for _, c := range all {
		if !slices.Contains(cf.legs, c) {
			for _, o := range cf.legs {
				audio.Link(c.tap, o.tap)
			}
			for _, o := range joined {
				audio.Link(c.tap, o.tap)
			}
			joined = append(joined, c)
		}
	}
	cf.legs = append(cf.legs, joined...)
	legs := slices.Clone(cf.legs)
	cf.mu.Unlock()
	if len(joined) == 0 {
		return nil
	}
	ids = cf.ids()
	for _, c := range legs {
		c.enterConference()
		c.update(func(s *CallSession) { s.Conference = true }, []string{EventCallMerged}, ConferencePayload{Calls: ids})
	}
	// A share running on one leg reaches the others too: everyone in a
	// conference sees what the host shows (the first leg's share, if two
	// calls shared different screens before the merge).
	for _, c := range legs {
		if sender := c.shareSender(); sender != nil {
			p.extendShare(ctx, sender, legs)
			break
		}
	}
	return nil
}

// Unmerge takes a call out of the conference; hold puts it on hold (the
// usual "split": the user keeps talking with the others). When one call
// is left, the conference ends and it is an ordinary call again.
func (p *Phone) Unmerge(ctx context.Context, id string, hold bool) error {
	c, err := p.call(id)
	if err != nil {
		return err
	}
	if !p.conf.has(c) {
		return fmt.Errorf("%w: call %s is not in the conference", ErrConference, id)
	}
	p.leaveConference(c)
	// A call split off leaves the conference's share; the calls that stay
	// keep it (the last one as an ordinary share).
	if sender := c.shareSender(); sender != nil && p.sharedBeyond(sender, c) {
		c.opMu.Lock()
		err := c.stopShare(ctx, !hold)
		c.opMu.Unlock()
		if err != nil && !hold {
			return err
		}
	}
	if hold {
		return c.hold(ctx)
	}
	return nil
}

// sharedBeyond reports whether a call other than c takes sender's share.
func (p *Phone) sharedBeyond(sender *share.Sender, c *call) bool {
	for _, o := range p.callList() {
		if o != c && o.shareSender() == sender {
			return true
		}
	}
	return false
}

// leaveConference unlinks c; a conference left with one call ends.
func (p *Phone) leaveConference(c *call) {
	cf := &p.conf
	cf.mu.Lock()
	i := slices.Index(cf.legs, c)
	if i < 0 {
		cf.mu.Unlock()
		return
	}
	cf.legs = slices.Delete(cf.legs, i, i+1)
	left := []*call{c}
	if len(cf.legs) == 1 {
		left = append(left, cf.legs[0])
		cf.legs = nil
	}
	rest := slices.Clone(cf.legs)
	cf.mu.Unlock()
	ids := cf.ids()
	for _, l := range left {
		l.tap.Unlink()
		l.leaveConferenceMedia()
		if !l.snapshot().IsTerminated() {
			l.update(func(s *CallSession) { s.Conference = false }, []string{EventCallUnmerged}, ConferencePayload{Calls: ids})
		}
	}
	for _, o := range rest {
		o.update(nil, []string{EventCallUnmerged}, ConferencePayload{Calls: ids})
	}
}

// enterConference moves the call's mute from the media session (which
// would silence the relayed parties too) to the tap's microphone.
func (c *call) enterConference() {
	muted := c.snapshot().Muted
	c.tap.SetMicMuted(muted)
	if m := c.mediaSession(); m != nil {
		m.SetMuted(false)
	}
}

// leaveConferenceMedia gives the mute back to the media session.
func (c *call) leaveConferenceMedia() {
	muted := c.snapshot().Muted
	if m := c.mediaSession(); m != nil {
		m.SetMuted(muted)
	}
}
