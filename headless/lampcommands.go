package headless

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/parlo-voip/parlo/callengine"
	"github.com/parlo-voip/parlo/callengine/presence"
)

// Fields of the lamp commands.
const (
	fieldPackage = "package" // subscribe/unsubscribe: dialog, presence or message-summary
	fieldStatus  = "status"  // presence: available, away, busy or dnd
	fieldNote    = "note"    // presence: a free text shown beside the status
)

// lampAPI is the part of *callengine.Phone the lamp commands use.
type lampAPI interface {
	Watch(ctx context.Context, target string, pkg callengine.EventPackage) error
	Unwatch(ctx context.Context, target string, pkg callengine.EventPackage) error
	Watches() []callengine.WatchState
	PublishPresence(status presence.Status, note string) error
	Pickup(ctx context.Context, target string) (*callengine.CallSession, error)
}

// lampFields are the lamp commands' fields of a command.
type lampFields struct {
	Package callengine.EventPackage
	Status  presence.Status
	Note    string
}

// setLampField parses the lamp commands' fields.
func (c *command) setLampField(name string, raw json.RawMessage) error {
	var s string
	switch name {
	case fieldPackage, fieldStatus, fieldNote:
		if err := json.Unmarshal(raw, &s); err != nil {
			return fmt.Errorf("%w: %q must be a string", ErrBadField, name)
		}
	default:
		return nil
	}
	switch name {
	case fieldPackage:
		pkg, err := callengine.ParseEventPackage(s)
		if err != nil {
			return fmt.Errorf("%w: %q must be dialog, presence or message-summary", ErrBadField, name)
		}
		c.Lamp.Package = pkg
	case fieldStatus:
		switch st := presence.Status(strings.ToLower(strings.TrimSpace(s))); st {
		case presence.StatusAvailable, presence.StatusAway, presence.StatusBusy, presence.StatusDND:
			c.Lamp.Status = st
		default:
			return fmt.Errorf("%w: %q must be available, away, busy or dnd", ErrBadField, name)
		}
	case fieldNote:
		if strings.ContainsAny(s, "\x00") || len(s) > 200 {
			return fmt.Errorf("%w: %q must be a text of at most 200 bytes", ErrBadField, name)
		}
		c.Lamp.Note = s
	}
	return nil
}

// lampView is one entry of the lamps reply.
type lampView struct {
	Target  string `json:"target"`
	Package string `json:"package"`
	Active  bool   `json:"active"`
	// State is a dialog subscription's lamp; Status and Note a presence
	// subscription's; the counts a message-summary subscription's.
	State     string `json:"state,omitempty"`
	Status    string `json:"status,omitempty"`
	Note      string `json:"note,omitempty"`
	Waiting   *bool  `json:"waiting,omitempty"`
	New       *int   `json:"new,omitempty"`
	Old       *int   `json:"old,omitempty"`
	CanPickup bool   `json:"pickup,omitempty"`
}

func lampViews(ws []callengine.WatchState) []lampView {
	out := make([]lampView, 0, len(ws))
	for _, w := range ws {
		v := lampView{Target: w.Target, Package: string(w.Package), Active: w.Active}
		switch w.Package {
		case callengine.PackageDialog:
			v.State, v.CanPickup = string(w.Line), w.Ringing != nil
		case callengine.PackagePresence:
			v.Status, v.Note = string(w.Presence.Status), w.Presence.Note
		case callengine.PackageMessageSummary:
			waiting, n, o := w.Voicemail.Waiting, w.Voicemail.Voice.New, w.Voicemail.Voice.Old
			v.Waiting, v.New, v.Old = &waiting, &n, &o
		}
		out = append(out, v)
	}
	return out
}

// lampCommands are the busy lamp, presence and voicemail commands. They
// need --account: subscriptions and PUBLISH go through its registrar.
func lampCommands() map[string]commandSpec {
	both := []callengine.EventPackage{callengine.PackageDialog, callengine.PackagePresence}
	return map[string]commandSpec{
		// watch follows an extension's busy lamp and presence; unwatch stops.
		"watch": {required: []string{fieldTo}, network: true, account: true, run: func(ctx context.Context, p phoneAPI, c command) (any, error) {
			for _, pkg := range both {
				if err := p.Watch(ctx, c.To, pkg); err != nil {
					return nil, err
				}
			}
			return map[string]any{}, nil
		}},
		"unwatch": {required: []string{fieldTo}, network: true, account: true, run: func(ctx context.Context, p phoneAPI, c command) (any, error) {
			for _, pkg := range both {
				if err := p.Unwatch(ctx, c.To, pkg); err != nil {
					return nil, err
				}
			}
			return map[string]any{}, nil
		}},
		// subscribe / unsubscribe: one event package of one target ("to";
		// none for our own message-summary).
		"subscribe": {required: []string{fieldPackage}, optional: []string{fieldTo}, network: true, account: true, run: func(ctx context.Context, p phoneAPI, c command) (any, error) {
			return map[string]any{}, p.Watch(ctx, c.To, c.Lamp.Package)
		}},
		"unsubscribe": {required: []string{fieldPackage}, optional: []string{fieldTo}, network: true, account: true, run: func(ctx context.Context, p phoneAPI, c command) (any, error) {
			return map[string]any{}, p.Unwatch(ctx, c.To, c.Lamp.Package)
		}},
		// mwi subscribes to our own mailbox's message summary.
		"mwi": {network: true, account: true, run: func(ctx context.Context, p phoneAPI, _ command) (any, error) {
			return map[string]any{}, p.Watch(ctx, "", callengine.PackageMessageSummary)
		}},
		"lamps": {run: func(_ context.Context, p phoneAPI, _ command) (any, error) {
			return map[string]any{"lamps": lampViews(p.Watches())}, nil
		}},
		// presence publishes our status (the phone shows on-the-phone
		// during calls by itself).
		"presence": {required: []string{fieldStatus}, optional: []string{fieldNote}, account: true, run: func(_ context.Context, p phoneAPI, c command) (any, error) {
			return map[string]any{}, p.PublishPresence(c.Lamp.Status, c.Lamp.Note)
		}},
		// pickup answers the call ringing at a watched extension.
		"pickup": {required: []string{fieldTo}, network: true, account: true, run: func(ctx context.Context, p phoneAPI, c command) (any, error) {
			s, err := p.Pickup(ctx, c.To)
			if err != nil {
				return nil, err
			}
			return map[string]any{"session": s}, nil
		}},
	}
}

// withLampCommands adds the lamp commands to a command table.
func withLampCommands(t map[string]commandSpec) map[string]commandSpec {
	for name, spec := range lampCommands() {
		t[name] = spec
	}
	return t
}
