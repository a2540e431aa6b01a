package ui

import (
	"context"
	"image/color"

	"github.com/parlo-voip/parlo/callengine"
	"github.com/parlo-voip/parlo/callengine/presence"
)

// Lamps is the busy-lamp, presence and voicemail part of the engine
// (*callengine.Phone has it). Without it the contacts panel lists the
// watched extensions with grey lamps, and they can still be called.
type Lamps interface {
	Watch(ctx context.Context, target string, pkg callengine.EventPackage) error
	Unwatch(ctx context.Context, target string, pkg callengine.EventPackage) error
	Watches() []callengine.WatchState
	PublishPresence(status presence.Status, note string) error
	Pickup(ctx context.Context, target string) (*callengine.CallSession, error)
}

// Lamp colours, as desk phones light them.
var (
	lampIdle    = color.NRGBA{R: 0x2e, G: 0xb8, B: 0x4f, A: 0xff} // green: free
	lampRinging = color.NRGBA{R: 0xf5, G: 0xa6, B: 0x23, A: 0xff} // amber: ringing, can be picked up
	lampBusy    = color.NRGBA{R: 0xd9, G: 0x3a, B: 0x2f, A: 0xff} // red: on the phone
	lampOff     = color.NRGBA{R: 0x9a, G: 0x9a, B: 0x9a, A: 0xff} // grey: unknown, unregistered
)

// lampColor is the colour of a line state.
func lampColor(s presence.LineState) color.Color {
	switch s {
	case presence.LineIdle:
		return lampIdle
	case presence.LineRinging:
		return lampRinging
	case presence.LineBusy:
		return lampBusy
	}
	return lampOff
}

// lampText words a line state for the user.
func lampText(s presence.LineState) string {
	switch s {
	case presence.LineIdle:
		return "free"
	case presence.LineRinging:
		return "ringing"
	case presence.LineBusy:
		return "on the phone"
	case presence.LineUnregistered:
		return "not registered"
	}
	return "unknown"
}

// presenceText words a presence status; "" when it adds nothing to the lamp.
func presenceText(s presence.Status, note string) string {
	t := ""
	switch s {
	case presence.StatusAway:
		t = "away"
	case presence.StatusBusy:
		t = "busy"
	case presence.StatusDND:
		t = "do not disturb"
	case presence.StatusOffline:
		t = "offline"
	}
	if note != "" {
		if t != "" {
			t += ": "
		}
		t += note
	}
	return t
}
