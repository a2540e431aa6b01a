package callengine

// Event names: the Wazo SDK's own strings (phone-api.md), so a program written
// against Wazo.Phone.on(...) reads the same names from Parlo.
const (
	EventRegistered         = "onRegistered"
	EventUnregistered       = "onUnRegistered"
	EventRegistrationFailed = "onRegistrationFailed"

	EventCallOutgoing   = "onCallOutgoing"
	EventProgress       = "onProgress"
	EventEarlyMedia     = "onEarlyMedia"
	EventCallIncoming   = "onCallIncoming"
	EventCallAnswered   = "onCallAnswered"
	EventCallAccepted   = "onCallAccepted"
	EventMediaConnected = "onMediaConnected"
	EventCallRejected   = "onCallRejected"
	EventCallCanceled   = "onCallCanceled"
	EventCallEnding     = "onCallEnding"
	EventCallEnded      = "onCallEnded"
	EventCallHeld       = "onCallHeld"
	EventCallResumed    = "onCallResumed"
	EventCallMuted      = "onCallMuted"
	EventCallUnmuted    = "onCallUnmuted"
	EventReinvite       = "reinvite"
	EventTrack          = "onTrack"
	EventAudioStream    = "onAudioStream"
	EventVideoStream    = "onVideoStream"
	EventCallError      = "onCallError"

	EventScreenShareStarted = "onScreenShareStarted"
	EventScreenShareEnding  = "onScreenShareEnding"
	EventScreenShareEnded   = "onScreenShareEnded"
)

// Event is one notification from the phone. Session is the call's snapshot
// at the moment of the event (nil for registration events); Payload carries
// the event's other fields by the SDK's names (wantsVideo, elsewhere, error,
// status, reason, ...).
type Event struct {
	Name    string
	Session *CallSession
	Payload map[string]any
}
