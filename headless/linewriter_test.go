package headless

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/parlo-voip/parlo/callengine"
)

func TestEventLine(t *testing.T) {
	var out syncBuffer
	w := newLineWriter(&out)
	s := &callengine.CallSession{SipCallID: "c1", Type: "CallSession"}
	w.event("onTrack", s, map[string]any{"id": "t1", "kind": "audio", "error": errors.New("boom"), "odd": func() {}})
	w.event("onRegistered", nil, map[string]any{"expires": 300})
	lines := out.lines(t)
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got %v", lines)
	}
	ev := lines[0]
	if ev["event"] != "onTrack" || ev["kind"] != "audio" || ev["payloadId"] != "t1" || ev["error"] != "boom" {
		t.Errorf("payload not flattened as documented: %v", ev)
	}
	if _, clash := ev["id"]; clash {
		t.Errorf("a payload id must not look like a reply id: %v", ev)
	}
	if sess, _ := ev["session"].(map[string]any); sess["sipCallId"] != "c1" || len(sess) != 28 {
		t.Errorf("session should be the 28-key CallSession JSON, got %d keys: %v", len(sess), sess)
	}
	if _, ok := ev["odd"].(string); !ok {
		t.Errorf("an unencodable payload value should become a string: %v", ev)
	}
	if _, has := lines[1]["session"]; has || lines[1]["expires"] != float64(300) {
		t.Errorf("registration event: %v", lines[1])
	}
	out.mu.Lock()
	first := strings.SplitN(out.buf.String(), "\n", 2)[0]
	out.mu.Unlock()
	if !strings.HasPrefix(first, `{"event":"onTrack","session":`) {
		t.Errorf("event and session should come first: %s", first)
	}
}

// The call-control events, with the payloads the engine emits, come out as
// flat JSON a driver can read without knowing Go types.
// A typed payload prints exactly the line its fields in a map printed
// before payloads were typed (the Wazo-style names of headless/README.md):
// same keys, values, order and escaping.
func TestTypedPayloadLinesMatchMapLines(t *testing.T) {
	s := &callengine.CallSession{SipCallID: "c1", Type: "CallSession"}
	prev := callengine.NetworkStats{RTTMs: 10, Quality: "good"}
	tests := []struct {
		event string
		typed callengine.EventPayload
		old   map[string]any
	}{
		{callengine.EventRegistered, callengine.RegisteredPayload{Expires: 300}, map[string]any{"expires": 300}},
		{callengine.EventRegistered, callengine.RegisteredPayload{Expires: 60, Reason: "network change"}, map[string]any{"expires": 60, "reason": "network change"}},
		{callengine.EventUnregistered, callengine.UnregisteredPayload{}, nil},
		{callengine.EventRegistrationFailed, callengine.RegistrationFailedPayload{Error: "401 <x> & y", Status: 401, Reason: "Unauthorized"}, map[string]any{"error": "401 <x> & y", "status": 401, "reason": "Unauthorized"}},
		{callengine.EventCallIncoming, callengine.CallIncomingPayload{}, map[string]any{"wantsVideo": false}},
		{callengine.EventCallAccepted, callengine.CallAcceptedPayload{}, map[string]any{"cameraEnabled": false}},
		{callengine.EventEarlyMedia, callengine.EarlyMediaPayload{SDP: true}, map[string]any{"sdp": true}},
		{callengine.EventCallRejected, callengine.CallStatusPayload{Status: 486, Reason: "do not disturb"}, map[string]any{"status": 486, "reason": "do not disturb"}},
		{callengine.EventCallCanceled, callengine.CallStatusPayload{Elsewhere: new(false)}, map[string]any{"elsewhere": false}},
		{callengine.EventCallError, callengine.CallStatusPayload{Error: "bad SDP answer: x"}, map[string]any{"error": "bad SDP answer: x"}},
		{callengine.EventReinvite, callengine.ReinvitePayload{Request: "INVITE sip:a@h SIP/2.0", Direction: "sendonly", LateOffer: true}, map[string]any{"request": "INVITE sip:a@h SIP/2.0", "direction": "sendonly", "lateOffer": true}},
		{callengine.EventTrack, callengine.TrackPayload{Kind: "video", Codec: "VP8", TrackID: "v0"}, map[string]any{"kind": "video", "codec": "VP8", "trackId": "v0"}},
		{callengine.EventScreenShareStarted, callengine.ScreenSharePayload{Monitor: "HDMI-1", Width: 1920, Height: 1080}, map[string]any{"monitor": "HDMI-1", "width": 1920, "height": 1080}},
		{callengine.EventIceReconnecting, callengine.IceRestartPayload{Attempt: 2}, map[string]any{"attempt": 2}},
		{callengine.EventNetworkStats, callengine.NetworkStatsPayload{Stats: callengine.NetworkStats{RTTMs: 42.5, Quality: "fair"}}, map[string]any{"stats": callengine.NetworkStats{RTTMs: 42.5, Quality: "fair"}, "previous": (*callengine.NetworkStats)(nil)}},
		{callengine.EventNetworkStats, callengine.NetworkStatsPayload{Previous: &prev}, map[string]any{"stats": callengine.NetworkStats{}, "previous": &prev}},
		{callengine.EventSignal, callengine.ChatPayload{From: "<sip:a@h>", Content: map[string]any{"type": "onTrackUpdated", "n": 1.5}}, map[string]any{"from": "<sip:a@h>", "content": map[string]any{"type": "onTrackUpdated", "n": 1.5}}},
		{callengine.EventTransferRequested, callengine.TransferRequestedPayload{Target: "sip:c@h", ReferredBy: "<sip:b@h>", Pending: true}, map[string]any{"target": "sip:c@h", "referredBy": "<sip:b@h>", "replaces": false, "pending": true}},
		{callengine.EventTransferRequestEnded, callengine.TransferRequestEndedPayload{Accepted: true}, map[string]any{"accepted": true}},
		{callengine.EventCallMerged, callengine.ConferencePayload{Calls: []string{"c1", "c2"}}, map[string]any{"calls": []string{"c1", "c2"}}},
		{callengine.EventRecordingStopped, callengine.RecordingPayload{Path: "/tmp/r.ogg", Error: "disk full"}, map[string]any{"path": "/tmp/r.ogg", "error": "disk full"}},
	}
	for _, tt := range tests {
		t.Run(tt.event, func(t *testing.T) {
			var typed, old syncBuffer
			newLineWriter(&typed).event(tt.event, s, tt.typed)
			newLineWriter(&old).event(tt.event, s, tt.old)
			if got, want := typed.text(), old.text(); got != want {
				t.Errorf("typed payload line\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestCallControlEventLines(t *testing.T) {
	s := &callengine.CallSession{SipCallID: "c1", Type: "CallSession"}
	prev := callengine.NetworkStats{RTTMs: 10}
	tests := []struct {
		event   string
		payload callengine.EventPayload
		want    map[string]any // dotted path → value
	}{
		{callengine.EventDTMF, callengine.DTMFPayload{Tone: "#", Method: "rfc4733"}, map[string]any{"tone": "#", "method": "rfc4733"}},
		{callengine.EventTransferProgress, callengine.TransferProgressPayload{Status: 180, Reason: "Ringing"}, map[string]any{"status": float64(180), "reason": "Ringing"}},
		{callengine.EventTransferRequested, callengine.TransferRequestedPayload{Target: "sip:carol@127.0.0.1"}, map[string]any{"target": "sip:carol@127.0.0.1", "replaces": false}},
		{callengine.EventMessage, callengine.MessagePayload{From: "sip:a@h", ContentType: "text/plain", Body: "hi"}, map[string]any{"from": "sip:a@h", "contentType": "text/plain", "body": "hi"}},
		{callengine.EventChat, callengine.ChatPayload{From: "sip:a@h", Content: "hello"}, map[string]any{"content": "hello"}},
		{callengine.EventSignal, callengine.ChatPayload{From: "sip:a@h", Content: map[string]any{"type": "onTrackUpdated", "update": "upgrade"}}, map[string]any{"content.type": "onTrackUpdated", "content.update": "upgrade"}},
		{callengine.EventNetworkStats, callengine.NetworkStatsPayload{
			Stats: callengine.NetworkStats{RTTMs: 42.5, JitterMs: 3, LossPercent: 1.5, AudioInKbps: 40, AudioOutKbps: 41, PacketsIn: 500, Quality: "fair"},
		}, map[string]any{"stats.rttMs": 42.5, "stats.jitterMs": float64(3), "stats.lossPercent": 1.5, "stats.audioInKbps": float64(40), "stats.audioOutKbps": float64(41), "stats.packetsReceived": float64(500), "stats.quality": "fair", "previous": nil}},
		{callengine.EventNetworkStats, callengine.NetworkStatsPayload{Stats: callengine.NetworkStats{Quality: "good"}, Previous: &prev}, map[string]any{"stats.quality": "good", "previous.rttMs": float64(10)}},
		{callengine.EventPlayRingingSound, nil, map[string]any{}},
		{callengine.EventTerminateSound, nil, map[string]any{}},
	}
	for _, tt := range tests {
		t.Run(tt.event, func(t *testing.T) {
			var out syncBuffer
			newLineWriter(&out).event(tt.event, s, tt.payload)
			lines := out.lines(t)
			if len(lines) != 1 {
				t.Fatalf("want one line, got %v", lines)
			}
			ev := lines[0]
			if ev["event"] != tt.event || digPath(ev, "session.sipCallId") != "c1" {
				t.Fatalf("event line = %v", ev)
			}
			for path, want := range tt.want {
				if got := digPath(ev, path); got != want {
					t.Errorf("%s = %#v, want %#v (line %v)", path, got, want, ev)
				}
			}
			if tt.event == callengine.EventNetworkStats {
				st, _ := ev["stats"].(map[string]any)
				if _, ok := st["at"].(string); !ok {
					t.Errorf("stats.at should be an RFC 3339 time: %v", st)
				}
				for k := range st {
					if k == "raw" || k == "RTTMs" {
						t.Errorf("stats carries a Go field name %q: %v", k, st)
					}
				}
			}
		})
	}
}

// Lines written from many goroutines stay whole (run with -race).
func TestLineWriterConcurrent(t *testing.T) {
	var out syncBuffer
	w := newLineWriter(&out)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(2)
		go func() { defer wg.Done(); w.reply(i, map[string]any{"x": strings.Repeat("a", 500)}, nil) }()
		go func() { defer wg.Done(); w.event("onX", nil, map[string]any{"n": i}) }()
	}
	wg.Wait()
	if n := len(out.lines(t)); n != 100 {
		t.Fatalf("want 100 lines, got %d", n)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestLineWriterFailure(t *testing.T) {
	w := newLineWriter(failWriter{})
	w.reply("1", nil, nil)
	select {
	case <-w.failed:
	default:
		t.Fatal("failed not closed after a write error")
	}
	w.reply("2", nil, nil) // must not panic on a second failure
	if w.Err() == nil {
		t.Fatal("Err() is nil")
	}
}
