package webrtcmedia

import (
	"errors"
	"strings"
	"sync"

	"github.com/pion/webrtc/v4"

	"github.com/parlo-voip/parlo/callengine/audio"
)

// errNoSendCodec means the negotiated list had no audio codec we can encode.
var errNoSendCodec = errors.New("webrtcmedia: no negotiated codec to send")

// audioTrack is our outgoing audio as a pion TrackLocal. pion's static
// tracks are bound to one MIME type chosen before negotiation; this one
// takes whatever the negotiation put first (RFC 3264 §6.1: the answerer's
// order is the preference for what we send), so the same track works when
// the peer only does PCMU.
type audioTrack struct {
	id, streamID string

	mu     sync.Mutex
	writer webrtc.TrackLocalWriter
	codec  webrtc.RTPCodecParameters
	ssrc   uint32
	// te is the negotiated telephone-event at the voice codec's clock rate
	// (RFC 4733 §2.1: events use the clock of the audio they replace);
	// PayloadType 0 when none was negotiated.
	te webrtc.RTPCodecParameters
}

func newAudioTrack(id, streamID string) *audioTrack {
	return &audioTrack{id: id, streamID: streamID}
}

// Bind is called by pion once negotiation has fixed the codecs.
func (t *audioTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	codec, ok := firstMediaCodec(ctx.CodecParameters())
	if !ok {
		return webrtc.RTPCodecParameters{}, errNoSendCodec
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.writer = ctx.WriteStream()
	t.codec = codec
	t.ssrc = uint32(ctx.SSRC())
	t.te = webrtc.RTPCodecParameters{}
	for _, c := range ctx.CodecParameters() {
		if strings.EqualFold(c.MimeType, mimeTelephoneEvent) && c.ClockRate == codec.ClockRate {
			t.te = c
		}
	}
	return codec, nil
}

// telephoneEvent returns the negotiated telephone-event codec, if any.
func (t *audioTrack) telephoneEvent() (webrtc.RTPCodecParameters, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.te, t.te.PayloadType != 0
}

// Unbind is called when the sender stops.
func (t *audioTrack) Unbind(webrtc.TrackLocalContext) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.writer = nil
	return nil
}

// ID implements webrtc.TrackLocal.
func (t *audioTrack) ID() string { return t.id }

// RID implements webrtc.TrackLocal (no simulcast for audio).
func (t *audioTrack) RID() string { return "" }

// StreamID implements webrtc.TrackLocal.
func (t *audioTrack) StreamID() string { return t.streamID }

// Kind implements webrtc.TrackLocal.
func (t *audioTrack) Kind() webrtc.RTPCodecType { return webrtc.RTPCodecTypeAudio }

// bound returns the writer and codec once Bind has run.
func (t *audioTrack) bound() (webrtc.TrackLocalWriter, webrtc.RTPCodecParameters, uint32, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.writer, t.codec, t.ssrc, t.writer != nil
}

// firstMediaCodec picks the voice codec we send: it skips telephone-event
// (RFC 4733), which is not a voice codec, and anything we have no encoder
// for, and takes the best of the rest.
func firstMediaCodec(codecs []webrtc.RTPCodecParameters) (webrtc.RTPCodecParameters, bool) {
	best, found := webrtc.RTPCodecParameters{}, false
	for _, c := range codecs {
		name := codecName(c.MimeType)
		if name == "" {
			continue
		}
		// The best by audio.Preference (Opus, G.722, G.711), the
		// negotiated order among equals.
		if !found || audio.Preference(name) < audio.Preference(codecName(best.MimeType)) {
			best, found = c, true
		}
	}
	return best, found
}

// codecName maps a MIME type to the name audio.NewEncoder/NewDecoder take,
// or "" when we have no codec for it.
func codecName(mime string) string {
	switch {
	case strings.EqualFold(mime, webrtc.MimeTypeOpus):
		return "opus"
	case strings.EqualFold(mime, webrtc.MimeTypePCMU):
		return "PCMU"
	case strings.EqualFold(mime, webrtc.MimeTypePCMA):
		return "PCMA"
	case strings.EqualFold(mime, webrtc.MimeTypeG722):
		return "G722"
	default:
		return ""
	}
}
