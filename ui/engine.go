package ui

import (
	"context"
	"image"
	"time"

	"github.com/parlo-voip/parlo/callengine"
	"github.com/parlo-voip/parlo/capture"
)

// Engine is everything the GUI asks of the phone. *callengine.Phone provides
// all of it except that its Subscribe returns the concrete
// *callengine.Subscription; PhoneEngine adapts that one method so tests can
// drive the GUI with a fake engine.
type Engine interface {
	Register(ctx context.Context) error
	Unregister(ctx context.Context) error
	Call(ctx context.Context, target string, opts callengine.CallOptions) (*callengine.CallSession, error)
	Accept(ctx context.Context, callID string) error
	Reject(ctx context.Context, callID string, code int) error
	Hangup(ctx context.Context, callID string) error
	Hold(ctx context.Context, callID string) error
	Resume(ctx context.Context, callID string) error
	Mute(callID string) error
	Unmute(callID string) error
	Calls() []*callengine.CallSession
	ContactURI() string
	Subscribe() EventStream
}

// EventStream is a subscription to the engine's events;
// *callengine.Subscription is one.
type EventStream interface {
	C() <-chan callengine.Event
	Close()
}

// Sharer is the screen-sharing part of the engine. When the engine given to
// Run does not implement it, the Share button is disabled.
type Sharer interface {
	StartScreenSharing(ctx context.Context, callID string, monitorIndex int) error
	StopScreenSharing(ctx context.Context, callID string) error
	Monitors() ([]capture.Monitor, error)
	Thumbnail(monitorIndex int, maxW, maxH int) (image.Image, error)
}

// FrameSource is a latest-frame sink of decoded remote video. seq grows by
// one or more with every new frame, so a reader redraws only on change.
type FrameSource interface {
	Latest() (img image.Image, seq uint64)
}

// frameNotifier is a FrameSource that also signals (coalesced, to one
// reader) each new frame, as the engine's receiver does; the call view
// then shows a frame as soon as it is decoded instead of at its next poll.
type frameNotifier interface {
	Updated() <-chan struct{}
}

// frameFitter is a FrameSource that can hand its newest frame already
// scaled down to fit maxW x maxH device pixels (0: full size), as the
// engine's receiver does: the fit view then uploads a texture of the size
// it draws instead of a whole 1080p frame.
type frameFitter interface {
	LatestFit(maxW, maxH int) (img image.Image, seq uint64)
}

// VideoReceiver gives the decoded remote video of a call, if it has any.
type VideoReceiver interface {
	RemoteVideo(callID string) (FrameSource, bool)
}

// PhoneEngine adapts a *callengine.Phone to Engine. The adapter embeds the
// phone, so methods the phone gains later (StartScreenSharing, ...) are
// promoted and found by Run's Sharer check.
func PhoneEngine(p *callengine.Phone) Engine { return phoneEngine{p} }

type phoneEngine struct{ *callengine.Phone }

func (e phoneEngine) Subscribe() EventStream { return e.Phone.Subscribe() }

// RemoteVideo gives the call's decoded remote video as a FrameSource: the
// phone returns its own receiver type, which has the FrameSource method.
func (e phoneEngine) RemoteVideo(callID string) (FrameSource, bool) {
	r, ok := e.Phone.RemoteVideo(callID)
	if !ok || r == nil {
		return nil, false
	}
	return r, true
}

// remoteVideoFunc finds the engine's RemoteVideo, or nil when it has none.
func remoteVideoFunc(e any) func(callID string) (FrameSource, bool) {
	if vr, ok := e.(VideoReceiver); ok {
		return vr.RemoteVideo
	}
	return nil
}

// The call-control parts of the engine (*callengine.Phone has them all).
// Each is optional: an engine without one leaves its button disabled with a
// tooltip saying why, so older engines and test fakes keep working.

// AccountSwitcher changes the account live: the old one is un-registered,
// the new one registered (nil: direct mode). Without it an account change
// applies at the next start.
type AccountSwitcher interface {
	SetAccount(ctx context.Context, a *callengine.Account) error
}

// ShareLimiter changes the frame rate and bitrate cap of the screen shares
// started from now on. Without it the share settings apply at the next
// start.
type ShareLimiter interface {
	SetShareLimits(callengine.ShareLimits)
}

// DTMFSender sends keypad tones in an established call.
type DTMFSender interface {
	SendDTMF(ctx context.Context, callID, tones string) error
}

// Transferer moves a call to someone else: blind (Transfer) or attended
// (StartAttendedTransfer places the consultation call, Complete hands the
// held party over to it, Cancel hangs it up and resumes).
type Transferer interface {
	Transfer(ctx context.Context, callID, target string) error
	StartAttendedTransfer(ctx context.Context, callID, target string) (*callengine.CallSession, error)
	CompleteAttendedTransfer(ctx context.Context, callID, consultID string) error
	CancelAttendedTransfer(ctx context.Context, callID, consultID string) error
}

// Chatter sends a chat text in a call (received ones arrive as
// phone/ON_CHAT events).
type Chatter interface {
	SendChat(ctx context.Context, callID, text string) error
}

// NetworkMonitor makes the engine emit onNetworkStats for a call.
type NetworkMonitor interface {
	StartNetworkMonitoring(callID string, interval time.Duration) error
	StopNetworkMonitoring(callID string) error
}
