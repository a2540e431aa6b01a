package callengine

import "time"

// SIP status values of a CallSession (the SDK's sipStatus, after SIP.js'
// SessionState).
const (
	SipStatusInitial      = "Initial"
	SipStatusEstablishing = "Establishing"
	SipStatusEstablished  = "Established"
	SipStatusTerminating  = "Terminating"
	SipStatusTerminated   = "Terminated"
)

// CallSession is an immutable snapshot of one call, with exactly the 28 keys
// of the Wazo SDK's CallSession (seed page). A new one is built for every
// event; consumers replace their copy and never mutate it.
type CallSession struct {
	Answered                bool       `json:"answered"`
	AnsweredBySystem        *bool      `json:"answeredBySystem"`
	AnswerTime              *time.Time `json:"answerTime"`
	AutoAnswer              bool       `json:"autoAnswer"`
	Call                    any        `json:"call"`
	CallID                  *string    `json:"callId"`
	CallerNumber            *string    `json:"callerNumber"`
	CameraEnabled           bool       `json:"cameraEnabled"`
	Conference              bool       `json:"conference"`
	CreationTime            time.Time  `json:"creationTime"`
	DialedExtension         string     `json:"dialedExtension"`
	DisplayName             string     `json:"displayName"`
	EndTime                 *time.Time `json:"endTime"`
	Ignored                 bool       `json:"ignored"`
	IsCaller                bool       `json:"isCaller"`
	Muted                   bool       `json:"muted"`
	Number                  string     `json:"number"`
	Paused                  bool       `json:"paused"`
	Recording               bool       `json:"recording"`
	RecordingPaused         bool       `json:"recordingPaused"`
	Ringing                 bool       `json:"ringing"`
	Screensharing           bool       `json:"screensharing"`
	SipCallID               string     `json:"sipCallId"`
	SipStatus               string     `json:"sipStatus"`
	StartTime               *time.Time `json:"startTime"`
	Type                    string     `json:"type"`
	VideoMuted              bool       `json:"videoMuted"`
	VideoRemotelyDowngraded *bool      `json:"videoRemotelyDowngraded"`
}

// IsEstablished reports whether the dialog is up (answered and not ended).
func (s *CallSession) IsEstablished() bool { return s.SipStatus == SipStatusEstablished }

// IsTerminated reports whether the call is over.
func (s *CallSession) IsTerminated() bool { return s.SipStatus == SipStatusTerminated }
