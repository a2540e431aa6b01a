package ui

import (
	"fmt"
	"time"

	"github.com/parlo-voip/parlo/callengine"
)

// callState is what the GUI shows as a call's state.
type callState int

const (
	stateCalling callState = iota // outgoing, not answered yet
	stateRinging                  // incoming, not answered yet
	stateActive                   // established, media flowing
	stateHeld                     // established, on hold (paused)
	stateEnding                   // hangup in progress
	stateEnded                    // terminated
)

func (s callState) String() string {
	switch s {
	case stateCalling:
		return "calling"
	case stateRinging:
		return "ringing"
	case stateActive:
		return "active"
	case stateHeld:
		return "on hold"
	case stateEnding:
		return "ending"
	default:
		return "ended"
	}
}

// stateOf derives the GUI state from an engine snapshot.
func stateOf(s *callengine.CallSession) callState {
	switch {
	case s.SipStatus == callengine.SipStatusTerminated:
		return stateEnded
	case s.SipStatus == callengine.SipStatusTerminating:
		return stateEnding
	case s.Paused:
		return stateHeld
	case s.SipStatus == callengine.SipStatusEstablished || s.Answered:
		return stateActive
	case !s.IsCaller:
		return stateRinging
	default:
		return stateCalling
	}
}

// callEntry is the GUI's record of one call: the engine's latest snapshot
// plus what events told about sharing and video.
type callEntry struct {
	s *callengine.CallSession
	// sharing is set by onScreenShareStarted and cleared by
	// onScreenShareEnded/Ending: never by a button press.
	sharing      bool
	shareMonitor string
	// remoteVideo is set by onVideoStream.
	remoteVideo bool
	// ignored: the user silenced this ringing call (it keeps ringing at the
	// caller's end, without ringtone or prompt here).
	ignored bool
	// earlyMedia: the far end sends its own ringback (183 with SDP).
	earlyMedia bool
	// notified: the incoming-call notification was sent.
	notified bool
	// dirName is the directory's name for the far end (directory.go),
	// preferred to the name the far end sent.
	dirName string

	// Call control (callcontrol.go). dtmfSent and dtmfReceived are the
	// last keypad tones each way; chat the call's messages, unread those
	// not seen yet; quality the newest onNetworkStats sample (nil before
	// the first); monitoring whether onNetworkStats was asked for.
	dtmfSent     string
	dtmfReceived string
	chat         []chatLine
	unread       int
	quality      *callengine.NetworkStats
	monitoring   bool
}

func (e *callEntry) id() string { return e.s.SipCallID }

// remoteName is the best human name of the far end.
func (e *callEntry) remoteName() string {
	if e.dirName != "" {
		return e.dirName
	}
	if e.s.DisplayName != "" {
		return e.s.DisplayName
	}
	if e.s.Number != "" {
		return e.s.Number
	}
	if e.s.CallerNumber != nil && *e.s.CallerNumber != "" {
		return *e.s.CallerNumber
	}
	return "Unknown"
}

// remoteNumber is the number or address, empty when the name already is it.
func (e *callEntry) remoteNumber() string {
	n := e.s.Number
	if n == "" && e.s.CallerNumber != nil {
		n = *e.s.CallerNumber
	}
	if n == e.remoteName() {
		return ""
	}
	return n
}

func (e *callEntry) direction() string {
	if e.s.IsCaller {
		return "Outgoing"
	}
	return "Incoming"
}

// duration is the talk time once answered, otherwise the time since the call
// began; it stops at the end time.
func (e *callEntry) duration(now time.Time) time.Duration {
	from := e.s.CreationTime
	if e.s.AnswerTime != nil {
		from = *e.s.AnswerTime
	} else if e.s.StartTime != nil {
		from = *e.s.StartTime
	}
	to := now
	if e.s.EndTime != nil {
		to = *e.s.EndTime
	}
	if from.IsZero() || to.Before(from) {
		return 0
	}
	return to.Sub(from)
}

// formatDuration prints m:ss, or h:mm:ss past an hour.
func formatDuration(d time.Duration) string {
	d = d.Truncate(time.Second)
	h, m, s := int(d/time.Hour), int(d/time.Minute)%60, int(d/time.Second)%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%d:%02d", m, s)
}
