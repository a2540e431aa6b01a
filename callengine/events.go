package callengine

import "github.com/parlo-voip/parlo/callengine/presence"

// Event names: the Wazo SDK's own strings (phone-api.md), so a program written
// against Wazo.Phone.on(...) reads the same names from Parlo. Every event the
// engine emits is named here; the comment of each says which payload type its
// Event.Payload holds (none: the payload is nil).
const (
	// EventRegistered: RegisteredPayload.
	EventRegistered = "onRegistered"
	// EventUnregistered: UnregisteredPayload, or none after Unregister.
	EventUnregistered = "onUnRegistered"
	// EventRegistrationFailed: RegistrationFailedPayload.
	EventRegistrationFailed = "onRegistrationFailed"

	// EventCallOutgoing: none.
	EventCallOutgoing = "onCallOutgoing"
	// EventProgress (180/183 without SDP): none.
	EventProgress = "onProgress"
	// EventEarlyMedia: EarlyMediaPayload.
	EventEarlyMedia = "onEarlyMedia"
	// EventCallIncoming: CallIncomingPayload.
	EventCallIncoming = "onCallIncoming"
	// EventCallAnswered: none.
	EventCallAnswered = "onCallAnswered"
	// EventCallAccepted: CallAcceptedPayload.
	EventCallAccepted = "onCallAccepted"
	// EventMediaConnected: none.
	EventMediaConnected = "onMediaConnected"
	// EventCallRejected: CallStatusPayload.
	EventCallRejected = "onCallRejected"
	// EventCallCanceled: CallStatusPayload.
	EventCallCanceled = "onCallCanceled"
	// EventCallEnding: none.
	EventCallEnding = "onCallEnding"
	// EventCallEnded: CallStatusPayload, or none for an ordinary hangup.
	EventCallEnded = "onCallEnded"
	// EventCallHeld: none.
	EventCallHeld = "onCallHeld"
	// EventCallResumed: none.
	EventCallResumed = "onCallResumed"
	// EventCallMuted: none.
	EventCallMuted = "onCallMuted"
	// EventCallUnmuted: none.
	EventCallUnmuted = "onCallUnmuted"
	// EventReinvite: ReinvitePayload.
	EventReinvite = "reinvite"
	// EventTrack: TrackPayload (every remote track).
	EventTrack = "onTrack"
	// EventAudioStream: TrackPayload (a remote audio track).
	EventAudioStream = "onAudioStream"
	// EventVideoStream: TrackPayload (a remote video track).
	EventVideoStream = "onVideoStream"
	// EventCallError: CallStatusPayload (Error set).
	EventCallError = "onCallError"
	// EventCallFailed is the Wazo SDK's ON_CALL_FAILED: an established call
	// the phone ended itself because the far end is gone (liveness.go):
	// CallStatusPayload (Reason an EndReason, Error a sentence);
	// onCallEnded follows with the same payload.
	EventCallFailed = "onCallFailed"
	// EventSystemResumed: the machine slept; the phone re-registered and
	// refreshes its calls (clockwatch.go): SystemResumedPayload.
	EventSystemResumed = "onSystemResumed"

	// EventScreenShareStarted: ScreenSharePayload.
	EventScreenShareStarted = "onScreenShareStarted"
	// EventScreenShareEnding: ScreenShareEndingPayload.
	EventScreenShareEnding = "onScreenShareEnding"
	// EventScreenShareEnded: none.
	EventScreenShareEnded = "onScreenShareEnded"

	// EventIceDisconnected (ON_ICE_DISCONNECTED): IceStatePayload.
	EventIceDisconnected = "onIceDisconnected"
	// EventIceReconnecting (ON_ICE_RECONNECTING): IceRestartPayload.
	EventIceReconnecting = "onIceReconnecting"
	// EventIceReconnected (ON_ICE_RECONNECTED): IceRestartPayload.
	EventIceReconnected = "onIceReconnected"

	// EventNetworkStats is the SDK's ON_NETWORK_STATS, a periodic quality
	// report while monitoring: NetworkStatsPayload.
	EventNetworkStats = "onNetworkStats"

	// EventMessage (ON_MESSAGE), any SIP MESSAGE: MessagePayload.
	EventMessage = "onMessage"
	// EventChat (ON_CHAT), a MESSAGE carrying the SDK's chat envelope:
	// ChatPayload.
	EventChat = "phone/ON_CHAT"
	// EventSignal (ON_SIGNAL), a MESSAGE carrying the SDK's signal envelope:
	// ChatPayload.
	EventSignal = "phone/ON_SIGNAL"
	// EventDTMF reports a digit received by RFC 4733 or SIP INFO: DTMFPayload.
	EventDTMF = "onDTMF"

	// Transfer events are Parlo's; the Wazo SDK reports transfers through the
	// calls' own events.

	// EventTransferProgress carries the sipfrag status the transferee reports
	// in NOTIFY (RFC 3515 §2.4.5): TransferProgressPayload.
	EventTransferProgress = "onTransferProgress"
	// EventTransferRequested fires at the transferee when the far end asks it
	// to call someone else (REFER): TransferRequestedPayload.
	EventTransferRequested = "onTransferRequested"
	// EventTransferRequestEnded fires when a transfer request is answered:
	// TransferRequestEndedPayload.
	EventTransferRequestEnded = "onTransferRequestEnded"

	// Sound events, as the Wazo SDK emits them for the application to play its
	// ringtone, call-waiting beep, ringback and hangup tone. The engine plays
	// nothing itself: the front end owns the audio output and the user's
	// do-not-disturb and ignore choices. None has a payload.

	EventPlayRingingSound           = "playRingingSound"
	EventPlayInboundCallSignalSound = "playInboundCallSignalSound"
	EventPlayProgressSound          = "playProgressSound"
	EventPlayHangupSound            = "playHangupSound"
	EventTerminateSound             = "terminateSound"

	// EventCallMerged: ConferencePayload (a call joined the local
	// conference). The Wazo SDK holds conferences on its server and has no
	// phone event for them; these two follow its naming.
	EventCallMerged = "onCallMerged"
	// EventCallUnmerged: ConferencePayload (a call left it).
	EventCallUnmerged = "onCallUnmerged"

	// EventRecordingStarted: RecordingPayload (Path). Named after the
	// CallSession fields recording and recordingPaused.
	EventRecordingStarted = "onRecordingStarted"
	// EventRecordingPaused: none.
	EventRecordingPaused = "onRecordingPaused"
	// EventRecordingResumed: none.
	EventRecordingResumed = "onRecordingResumed"
	// EventRecordingStopped: RecordingPayload (Path; Error when the file
	// could not be written completely).
	EventRecordingStopped = "onRecordingStopped"

	// Lamps (watch.go): the Wazo SDK's phone has none (its lamps come over
	// the Wazo websocket), so they are named in its style.

	// EventBLFStateChanged: BLFPayload (a watched extension's busy lamp
	// changed).
	EventBLFStateChanged = "onBLFStateChanged"
	// EventPresenceChanged: PresencePayload (a watched contact's presence).
	EventPresenceChanged = "onPresenceChanged"
	// EventVoicemailChanged: VoicemailPayload (our mailbox's summary).
	EventVoicemailChanged = "onVoicemailChanged"
	// EventSubscriptionStateChanged: SubscriptionStatePayload (one of our
	// subscriptions became active, pending, terminated or failed).
	EventSubscriptionStateChanged = "onSubscriptionStateChanged"
)

// Event is one notification from the phone. Session is the call's snapshot
// at the moment of the event (nil for registration events and out-of-dialog
// messages); Payload holds the event's other fields as the payload type its
// name's comment gives, or nil. A front end reads the fields with a type
// assertion (ev.Payload.(callengine.CallStatusPayload)); the JSON form of a
// payload (its struct tags) is the SDK's field names, which the headless
// mode prints.
type Event struct {
	Name    string
	Session *CallSession
	Payload EventPayload
}

// EventPayload is implemented by the payload types below and nothing else,
// so an event cannot carry fields a front end does not know.
type EventPayload interface{ eventPayload() }

// RegisteredPayload is onRegistered's: the registrar accepted the REGISTER.
type RegisteredPayload struct {
	// Expires is the lifetime the registrar granted, in seconds.
	Expires int `json:"expires"`
	// Reason says why a registration was renewed early ("network change").
	Reason string `json:"reason,omitempty"`
}

// UnregisteredPayload is onUnRegistered's: the registration was lost.
type UnregisteredPayload struct {
	Reason string `json:"reason,omitempty"`
}

// RegistrationFailedPayload is onRegistrationFailed's: a REGISTER failed. Status and Reason are the
// registrar's final response (RFC 3261 §21) when it gave one; Error is the
// whole failure as text.
type RegistrationFailedPayload struct {
	Error  string `json:"error"`
	Reason string `json:"reason,omitempty"`
	Status int    `json:"status,omitempty"`
}

// CallIncomingPayload is onCallIncoming's: a new incoming call.
type CallIncomingPayload struct {
	// WantsVideo is whether the offer has a video line with a port.
	WantsVideo bool `json:"wantsVideo"`
}

// CallAcceptedPayload is onCallAccepted's: the call is established.
type CallAcceptedPayload struct {
	CameraEnabled bool `json:"cameraEnabled"`
}

// EarlyMediaPayload is onEarlyMedia's: a provisional response (RFC 3262)
// opened early media.
type EarlyMediaPayload struct {
	// SDP is whether the response carried an answer.
	SDP bool `json:"sdp"`
}

// CallStatusPayload says why a call was refused, cancelled, failed or ended:
// the SIP final status and reason phrase when there was one, a text error,
// and for a cancelled incoming call whether it was answered elsewhere
// (RFC 3326 Reason). Zero fields are absent from the JSON form.
type CallStatusPayload struct {
	Elsewhere *bool  `json:"elsewhere,omitempty"`
	Error     string `json:"error,omitempty"`
	Reason    string `json:"reason,omitempty"`
	Status    int    `json:"status,omitempty"`
}

// SystemResumedPayload is onSystemResumed's: how long the machine slept
// (wall-clock jump less monotonic time).
type SystemResumedPayload struct {
	SleptSeconds int `json:"sleptSeconds"`
}

// ReinvitePayload is reinvite's: a re-INVITE we sent was answered (Response) or one we
// received was accepted (Request); Direction is the new media direction.
// LateOffer marks the ACK that completed an offerless INVITE (RFC 3261
// §13.2.1).
type ReinvitePayload struct {
	Direction string `json:"direction"`
	LateOffer bool   `json:"lateOffer,omitempty"`
	Request   string `json:"request,omitempty"`
	Response  string `json:"response,omitempty"`
}

// TrackPayload is onTrack's, onAudioStream's and onVideoStream's: a remote
// media track arrived.
type TrackPayload struct {
	Codec   string `json:"codec"`
	Kind    string `json:"kind"` // "audio" or "video"
	TrackID string `json:"trackId"`
}

// ScreenSharePayload is onScreenShareStarted's: our screen share started,
// from this monitor.
type ScreenSharePayload struct {
	Height  int    `json:"height"`
	Monitor string `json:"monitor"`
	Width   int    `json:"width"`
}

// ScreenShareEndingPayload is onScreenShareEnding's: our screen share stops on its own (the capture
// failed or the monitor went away).
type ScreenShareEndingPayload struct {
	Reason string `json:"reason"`
}

// IceStatePayload is onIceDisconnected's: the media connection was lost (ICE state, or "address
// changed" when the machine's address changed).
type IceStatePayload struct {
	State string `json:"state"`
}

// IceRestartPayload is onIceReconnecting's and onIceReconnected's: an ICE
// restart attempt (counted from 1).
type IceRestartPayload struct {
	Attempt int `json:"attempt"`
}

// NetworkStatsPayload is onNetworkStats's: one sample and the one before it
// (nil for the first).
type NetworkStatsPayload struct {
	Previous *NetworkStats `json:"previous"`
	Stats    NetworkStats  `json:"stats"`
}

// MessagePayload is onMessage's: a SIP MESSAGE (RFC 3428) arrived.
type MessagePayload struct {
	Body        string `json:"body"`
	ContentType string `json:"contentType"`
	From        string `json:"from"`
}

// ChatPayload is phone/ON_CHAT's and phone/ON_SIGNAL's: a chat or signal
// envelope arrived in a MESSAGE. Content is
// the envelope's content as decoded JSON (a string for a chat text).
type ChatPayload struct {
	Content any    `json:"content"`
	From    string `json:"from"`
}

// DTMFPayload is onDTMF's: a keypad tone arrived; Method is "rfc4733" or "info".
type DTMFPayload struct {
	Method string `json:"method"`
	Tone   string `json:"tone"`
}

// TransferProgressPayload is onTransferProgress's: the transferee's sipfrag
// status line.
type TransferProgressPayload struct {
	Reason string `json:"reason"`
	Status int    `json:"status"`
}

// TransferRequestedPayload is onTransferRequested's: the far end asks us to
// call Target. Pending is
// whether the user must answer with AcceptTransfer or DeclineTransfer (false
// when the policy accepted already); Replaces whether the REFER asks to
// replace another call (attended transfer, RFC 3891).
type TransferRequestedPayload struct {
	Pending    bool   `json:"pending"`
	ReferredBy string `json:"referredBy"`
	Replaces   bool   `json:"replaces"`
	Target     string `json:"target"`
}

// TransferRequestEndedPayload is onTransferRequestEnded's: a transfer
// request was answered; Reason says
// why it was declined.
type TransferRequestEndedPayload struct {
	Accepted bool   `json:"accepted"`
	Reason   string `json:"reason,omitempty"`
}

// ConferencePayload is onCallMerged's and onCallUnmerged's: the SIP
// Call-IDs in the local conference after the change.
type ConferencePayload struct {
	Calls []string `json:"calls"`
}

// RecordingPayload is onRecordingStarted's and onRecordingStopped's: the
// file, and why it is incomplete when it is.
type RecordingPayload struct {
	Path  string `json:"path"`
	Error string `json:"error,omitempty"`
}

// BLFPayload is onBLFStateChanged's: Target as given to Watch, the lamp's
// State, and while it rings the caller (Remote) and whether the dialog-info
// names the call well enough for Pickup.
type BLFPayload struct {
	Target string             `json:"target"`
	URI    string             `json:"uri"`
	State  presence.LineState `json:"state"`
	Remote string             `json:"remote,omitempty"`
	Pickup bool               `json:"pickup,omitempty"`
}

// PresencePayload is onPresenceChanged's.
type PresencePayload struct {
	Target string          `json:"target"`
	URI    string          `json:"uri"`
	Status presence.Status `json:"status"`
	Note   string          `json:"note"`
}

// VoicemailPayload is onVoicemailChanged's: the voice-message counts of
// the message summary (RFC 3842) and whether the lamp is lit.
type VoicemailPayload struct {
	Target    string `json:"target"`
	Account   string `json:"account"`
	Waiting   bool   `json:"waiting"`
	New       int    `json:"new"`
	Old       int    `json:"old"`
	UrgentNew int    `json:"urgentNew"`
	UrgentOld int    `json:"urgentOld"`
}

// SubscriptionStatePayload is onSubscriptionStateChanged's: State is
// active, pending, terminated or failed; Status the SIP code of a failure.
type SubscriptionStatePayload struct {
	Target  string       `json:"target"`
	Package EventPackage `json:"package"`
	State   string       `json:"state"`
	Reason  string       `json:"reason,omitempty"`
	Status  int          `json:"status,omitempty"`
}

func (BLFPayload) eventPayload()               {}
func (PresencePayload) eventPayload()          {}
func (VoicemailPayload) eventPayload()         {}
func (SubscriptionStatePayload) eventPayload() {}

func (RegisteredPayload) eventPayload()           {}
func (UnregisteredPayload) eventPayload()         {}
func (RegistrationFailedPayload) eventPayload()   {}
func (CallIncomingPayload) eventPayload()         {}
func (CallAcceptedPayload) eventPayload()         {}
func (EarlyMediaPayload) eventPayload()           {}
func (CallStatusPayload) eventPayload()           {}
func (ReinvitePayload) eventPayload()             {}
func (TrackPayload) eventPayload()                {}
func (ScreenSharePayload) eventPayload()          {}
func (ScreenShareEndingPayload) eventPayload()    {}
func (IceStatePayload) eventPayload()             {}
func (IceRestartPayload) eventPayload()           {}
func (NetworkStatsPayload) eventPayload()         {}
func (MessagePayload) eventPayload()              {}
func (ChatPayload) eventPayload()                 {}
func (DTMFPayload) eventPayload()                 {}
func (TransferProgressPayload) eventPayload()     {}
func (TransferRequestedPayload) eventPayload()    {}
func (TransferRequestEndedPayload) eventPayload() {}
func (ConferencePayload) eventPayload()           {}
func (RecordingPayload) eventPayload()            {}
func (SystemResumedPayload) eventPayload()        {}
