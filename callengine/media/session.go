// Package media is the seam between SIP signalling and the way media is
// carried. Signalling (callengine) only ever talks to a Session: it asks for
// offers and answers, applies the peer's SDP, changes direction for hold and
// adds or removes the video sender. Whether that is one bundled pion
// PeerConnection (webrtcmedia) or one transport per m-line for classic phones
// is invisible above this package.
package media

import (
	"context"
	"errors"
	"time"

	"github.com/parlo-voip/parlo/callengine/audio"
	"github.com/parlo-voip/parlo/capture/videocodec"
)

// Sentinel errors every implementation returns (wrapped with detail).
var (
	// ErrBadSDP means the peer's SDP could not be parsed or is not a valid
	// offer/answer for this session. Signalling answers it with 488.
	ErrBadSDP = errors.New("media: bad SDP")
	// ErrNoCommonCodec means nothing offered is something we can use (488).
	ErrNoCommonCodec = errors.New("media: no common codec")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("media: session closed")
	// ErrNoVideoSender is returned by RemoveVideoSender when none is set.
	ErrNoVideoSender = errors.New("media: no video sender")
)

// Options configure a new Session.
type Options struct {
	// AudioIn is what we send (microphone, tone, file, silence). Required.
	AudioIn audio.Source
	// AudioOut receives decoded remote audio. Required.
	AudioOut audio.Sink
	// STUNServers are stun: URIs for server-reflexive candidates (optional).
	STUNServers []string
	// IncludeLoopback gathers 127.0.0.1 host candidates too.
	IncludeLoopback bool
	// LoopbackOnly gathers nothing but loopback candidates, so calls between
	// processes on one machine (and the tests) stay on 127.0.0.1.
	LoopbackOnly bool
	// VideoOut receives the peer's video as complete encoded frames
	// (optional; without it received video is dropped).
	VideoOut VideoSink
	// SRTP is the security policy (default SRTPRequired). The WebRTC path
	// is always DTLS-SRTP; the classic path follows it.
	SRTP SRTPPolicy
	// TURNServers are relays for when no direct path works (RFC 8656),
	// with long-term credentials.
	TURNServers []TURNServer
	// RelayOnly uses relay candidates only (iceTransportPolicy "relay").
	RelayOnly bool
	// ICEDisconnectedTimeout is how long without traffic before ICE says
	// disconnected (default 5 s); ICEFailedTimeout before it gives up
	// (default 15 s).
	ICEDisconnectedTimeout, ICEFailedTimeout time.Duration
	// Logger-free by design: implementations log through slog.Default with
	// a "component" attribute.
}

// Events are callbacks from the media layer to signalling. They are called
// from media goroutines and must not block; nil ones are skipped.
type Events struct {
	// OnConnected fires once, when the transport (ICE+DTLS) is up.
	OnConnected func()
	// OnFailed fires when the transport failed or was lost for good.
	OnFailed func(err error)
	// OnTrack fires when a remote track starts arriving.
	OnTrack func(t TrackInfo)
	// OnICEState reports ICE connection state changes after the first
	// connection: "disconnected", "failed", "connected" (again), "checking".
	OnICEState func(state string)
	// OnDTMF fires once per RFC 4733 event received (at its end), with the
	// digit ("0"-"9", "*", "#", "A"-"D").
	OnDTMF func(digit string)
}

// TrackInfo describes a remote track.
type TrackInfo struct {
	Kind  string // "audio" or "video"
	Codec string // e.g. "opus", "PCMU", "VP8"
	ID    string
}

// TURNServer is one TURN relay: "turn:host:port?transport=udp|tcp".
type TURNServer struct {
	URL        string
	Username   string
	Credential string
}

// TransportStats describe the selected ICE candidate pair.
type TransportStats struct {
	LocalAddress  string `json:"localAddress"`  // ip:port
	RemoteAddress string `json:"remoteAddress"` // ip:port
	LocalType     string `json:"localType"`     // host, srflx, prflx, relay
	RemoteType    string `json:"remoteType"`
	// ForeignDropped counts media packets dropped as a stranger's: from an
	// address the media is not latched to, or failing SRTP authentication
	// (symmetric RTP never follows them).
	ForeignDropped uint64 `json:"foreignDropped,omitempty"`
	// RTCPReceived counts the peer's RTCP packets that reached us
	// (authenticated, from the latched address): a peer in silence
	// without comfort noise sends no RTP for seconds, but still reports.
	RTCPReceived uint64 `json:"rtcpReceived,omitempty"`
}

// AudioStats are the audio counters of one call.
type AudioStats struct {
	Codec           string `json:"codec"`
	PacketsSent     uint64 `json:"packetsSent"`
	BytesSent       uint64 `json:"bytesSent"`
	PacketsReceived uint64 `json:"packetsReceived"`
	BytesReceived   uint64 `json:"bytesReceived"`
	PacketsLost     uint64 `json:"packetsLost"`
	// JitterMs is the interarrival jitter of what we receive (RFC 3550
	// §6.4.1); RTTMs the round trip from the peer's receiver reports
	// (§6.4.1 LSR/DLSR). 0 until measured.
	JitterMs float64 `json:"jitterMs"`
	RTTMs    float64 `json:"rttMs"`
	// FECDecoded counts lost frames rebuilt from the next packet's Opus
	// in-band FEC (RFC 7587 §3.3); DTXFrames counts our frames not sent
	// as DTX silence (§3.1.3).
	FECDecoded uint64 `json:"fecDecoded,omitempty"`
	DTXFrames  uint64 `json:"dtxFrames,omitempty"`
	// PlayoutDelayMs is the jitter buffer's current target delay.
	PlayoutDelayMs float64 `json:"playoutDelayMs,omitempty"`
}

// VideoSentStats count what our video sender put on the wire. Frames,
// Width, Height and FPS come from the sender (the engine fills them).
type VideoSentStats struct {
	Codec  string `json:"codec"`
	Frames uint64 `json:"frames"`
	Bytes  uint64 `json:"bytes"`
	// Packets is filled by the classic path; the WebRTC path packetises
	// inside pion's track and leaves it 0.
	Packets uint64  `json:"packets,omitempty"`
	Width   int     `json:"width"`
	Height  int     `json:"height"`
	FPS     float64 `json:"fps"`
	// KeyframeRequests counts PLI/FIR received from the peer.
	KeyframeRequests uint64 `json:"keyframeRequests"`
	// NACKsReceived counts generic NACKs (RFC 4585 §6.2.1) the peer sent
	// for our video; filled where the path counts them (classic).
	NACKsReceived uint64 `json:"nacksReceived,omitempty"`
	// BitrateKbps is the current encoder target.
	BitrateKbps int `json:"bitrateKbps"`
}

// VideoReceivedStats count the peer's video. FramesDecoded, Width, Height
// and FPS come from the decoder (the engine fills them).
type VideoReceivedStats struct {
	Codec           string `json:"codec"`
	Packets         uint64 `json:"packets"`
	Bytes           uint64 `json:"bytes"`
	FramesAssembled uint64 `json:"framesAssembled"`
	FramesDecoded   uint64 `json:"framesDecoded"`
	// FramesRefused counts frames the decoder refused unread because they
	// claimed a picture over the size cap (a keyframe was asked for).
	FramesRefused uint64 `json:"framesRefused,omitempty"`
	// NACKsSent and PLIsSent count the feedback we sent for the peer's
	// video (RFC 4585 §6.2.1, §6.3.1); filled where the path counts them
	// (classic).
	NACKsSent uint64 `json:"nacksSent,omitempty"`
	PLIsSent  uint64 `json:"plisSent,omitempty"`
	// Retransmissions counts RTX packets (RFC 4588) that repaired the
	// peer's video; filled where the path counts them (classic).
	Retransmissions uint64  `json:"retransmissions,omitempty"`
	Width           int     `json:"width"`
	Height          int     `json:"height"`
	FPS             float64 `json:"fps"`
}

// VideoStats are the video counters of one call.
type VideoStats struct {
	Sent     VideoSentStats     `json:"sent"`
	Received VideoReceivedStats `json:"received"`
}

// Stats is a snapshot of a session's counters.
type Stats struct {
	// Path is "webrtc" (one bundled PeerConnection) or "classic" (per line).
	Path string `json:"path"`
	// SRTP is "dtls", "sdes" or "none".
	SRTP      string         `json:"srtp"`
	Audio     AudioStats     `json:"audio"`
	Video     VideoStats     `json:"video"`
	Transport TransportStats `json:"transport"`
}

// VideoSender produces the encoded video a session sends (a screen share).
// The session starts it once a negotiation lets us send video, with the
// negotiated codec, and stops it when the sender is removed or the session
// closes.
type VideoSender interface {
	// Codecs lists the codecs it can produce, preferred first.
	Codecs() []videocodec.Name
	// Start begins producing frames of codec, calling write for each
	// encoded frame (with its duration) until Stop. It returns at once.
	Start(codec videocodec.Name, write func(frame []byte, duration time.Duration) error) error
	// RequestKeyframe asks for a keyframe soon (the peer sent PLI or FIR).
	RequestKeyframe()
	// SetBitrate changes the encoder's target from receiver feedback.
	SetBitrate(kbps int)
	// Stop stops producing; idempotent; no write happens after it returns.
	Stop()
}

// VideoRefresher is a VideoSender that can send its current picture again
// at once, changed or not (a still screen sends nothing otherwise). A
// small frame right behind a keyframe shows the receiver whether the
// keyframe's last packets were lost (RFC 4585 §6.2.1: only a later packet
// reveals a lost tail), so it can NACK them or ask again.
type VideoRefresher interface {
	RequestRefresh()
}

// VideoBitrateLimiter is a VideoSender with a ceiling of its own (a user's
// cap for a slow or metered link): the session's target, the encoder's and
// the pacer's, never goes above MaxKbps (0: no ceiling), whatever the
// path's estimate allows.
type VideoBitrateLimiter interface {
	MaxKbps() int
}

// VideoSink receives the peer's video as complete encoded frames
// (depacketised), from a media goroutine. It must not block for long.
type VideoSink interface {
	WriteVideoFrame(codec videocodec.Name, frame []byte) error
}

// Session carries the media of one call. Signalling calls it from one
// goroutine at a time (the call's), except Stats and SetMuted which are safe
// from anywhere.
type Session interface {
	// CreateOffer returns a complete (non-trickle) SDP offer for the current
	// state: the first INVITE, or a re-INVITE. dir is the direction we
	// offer (SendOnly while we hold). The offer stays pending until
	// ApplyAnswer; CreateOffer may be called again with the same dir to
	// resend the same offer after a 491 (RFC 3261 §14.1).
	CreateOffer(ctx context.Context, dir Direction) ([]byte, error)
	// ApplyAnswer applies the peer's answer to our pending offer.
	ApplyAnswer(ctx context.Context, answer []byte) error
	// CreateAnswer applies the peer's offer (initial or re-INVITE) and
	// returns our answer. local is the most we want (SendOnly while we
	// hold); the answer intersects it with the reverse of the offer.
	// Errors wrap ErrBadSDP or ErrNoCommonCodec when the offer is unusable.
	CreateAnswer(ctx context.Context, offer []byte, local Direction) ([]byte, error)
	// Direction is the negotiated direction of audio from our side.
	Direction() Direction
	// SetMuted stops (true) or restarts sending microphone audio; no SIP.
	SetMuted(muted bool)
	// Stats returns the current counters.
	Stats() Stats
	// SetVideoSender attaches v as our video. When a video line is already
	// negotiated with us sending, v takes over the running sender at once
	// and needsOffer is false (no re-INVITE, as the Wazo SDK replaces the
	// camera track); otherwise the next CreateOffer adds or reopens a
	// video line and v starts when the answer accepts it.
	SetVideoSender(v VideoSender) (needsOffer bool, err error)
	// RemoveVideoSender stops and detaches our video; it returns once the
	// sender is stopped. The next offer marks the video line inactive.
	RemoveVideoSender() error
	// VideoSending reports whether the last negotiation lets our video
	// sender send (false when the peer refused the line with port 0).
	VideoSending() bool
	// RequestKeyframe asks the peer for a keyframe of its video (PLI).
	RequestKeyframe()
	// Close stops everything; idempotent.
	Close() error
}

// ErrNoTelephoneEvent means the negotiation has no telephone-event (RFC
// 4733) codec, so DTMF must go by SIP INFO.
var ErrNoTelephoneEvent = errors.New("media: telephone-event not negotiated")

// DTMFSender is implemented by sessions that can send RFC 4733 events.
type DTMFSender interface {
	// SendDTMF sends each tone for duration (with a short gap between
	// tones) and returns once the last end packet is sent.
	SendDTMF(ctx context.Context, tones string, duration time.Duration) error
}

// DTMFEvent maps a tone character to its RFC 4733 §3.2 event code.
func DTMFEvent(tone rune) (uint8, bool) {
	switch {
	case tone >= '0' && tone <= '9':
		return uint8(tone - '0'), true
	case tone == '*':
		return 10, true
	case tone == '#':
		return 11, true
	case tone >= 'A' && tone <= 'D':
		return uint8(12 + tone - 'A'), true
	case tone >= 'a' && tone <= 'd':
		return uint8(12 + tone - 'a'), true
	}
	return 0, false
}

// DTMFTone is the inverse of DTMFEvent ("" for codes above 15).
func DTMFTone(event uint8) string {
	switch {
	case event <= 9:
		return string(rune('0' + event))
	case event == 10:
		return "*"
	case event == 11:
		return "#"
	case event <= 15:
		return string(rune('A' + event - 12))
	}
	return ""
}

// ICERestarter is implemented by sessions that can restart ICE: the next
// CreateOffer carries new ICE credentials (RFC 8839 §4.4.1.1.1) and gathers
// anew, so a call survives a lost path or a changed address.
type ICERestarter interface {
	RestartICE()
}

// OfferCanceler is implemented by sessions that can abandon a pending offer
// the peer refused (491, 488, timeout) and return to the last negotiated
// state, so the next CreateOffer starts from there.
type OfferCanceler interface {
	CancelOffer() error
}

// Factory makes a Session. Signalling holds one per call.
type Factory func(opts Options, ev Events) (Session, error)
