package headless

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine"
)

func TestDispatchTable(t *testing.T) {
	tests := []struct {
		name       string
		line       string
		hasAccount bool
		wantID     any    // nil: the reply must carry no id
		wantErr    string // "" means ok:true
		wantCalls  []string
		setup      func(f *fakePhone)
		check      func(t *testing.T, result map[string]any)
	}{
		{name: "call", line: `{"id":"7","cmd":"call","to":"sip:bob@127.0.0.1:5090"}`, wantID: "7",
			wantCalls: []string{"Call sip:bob@127.0.0.1:5090"},
			check: func(t *testing.T, r map[string]any) {
				s, _ := r["session"].(map[string]any)
				if s["sipCallId"] != "new-1" || s["isCaller"] != true {
					t.Errorf("call result should hold the new session, got %v", r)
				}
			}},
		{name: "call engine error", line: `{"id":"8","cmd":"call","to":"bob"}`, wantID: "8", wantErr: "bad SIP URI", wantCalls: []string{"Call bob"}},
		{name: "numeric id echoed as number", line: `{"id":42,"cmd":"calls"}`, wantID: float64(42)},
		{name: "accept", line: `{"id":"1","cmd":"accept","call":"c1"}`, wantID: "1", wantCalls: []string{"Accept c1"},
			check: func(t *testing.T, r map[string]any) {
				if s, _ := r["session"].(map[string]any); s["sipCallId"] != "c1" {
					t.Errorf("accept result should hold the call's session, got %v", r)
				}
			}},
		{name: "accept unknown call", line: `{"id":"1","cmd":"accept","call":"zz"}`, wantID: "1", wantErr: "no such call", wantCalls: []string{"Accept zz"}},
		{name: "reject default code", line: `{"id":"2","cmd":"reject","call":"c1"}`, wantID: "2", wantCalls: []string{"Reject c1 486"}},
		{name: "reject with code", line: `{"id":"2","cmd":"reject","call":"c1","code":603}`, wantID: "2", wantCalls: []string{"Reject c1 603"}},
		{name: "reject code not a failure", line: `{"id":"2","cmd":"reject","call":"c1","code":200}`, wantID: "2", wantErr: `"code" 200 is not a 4xx`},
		{name: "reject code not a number", line: `{"id":"2","cmd":"reject","call":"c1","code":"603"}`, wantID: "2", wantErr: `"code" must be an integer`},
		{name: "hangup", line: `{"id":"3","cmd":"hangup","call":"c1"}`, wantID: "3", wantCalls: []string{"Hangup c1"},
			check: func(t *testing.T, r map[string]any) {
				if len(r) != 0 {
					t.Errorf("hangup result should be empty once the call is gone, got %v", r)
				}
			}},
		{name: "hold", line: `{"id":"4","cmd":"hold","call":"c1"}`, wantID: "4", wantCalls: []string{"Hold c1"}},
		{name: "merge", line: `{"id":"m","cmd":"merge","call":"c1","consult":"c1"}`, wantID: "m", wantCalls: []string{"Merge c1 c1"}},
		{name: "merge without the other call", line: `{"id":"m","cmd":"merge","call":"c1"}`, wantID: "m", wantErr: `"consult"`},
		{name: "unmerge holds", line: `{"id":"u","cmd":"unmerge","call":"c1"}`, wantID: "u", wantCalls: []string{"Unmerge c1 hold=true"}},
		{name: "record ogg by default", line: `{"id":"r","cmd":"record","call":"c1","path":"/tmp/rec"}`, wantID: "r", wantCalls: []string{"Record c1 /tmp/rec ogg"},
			check: func(t *testing.T, r map[string]any) {
				if r["path"] != "/tmp/rec/rec.ogg" {
					t.Errorf("record result path %v", r["path"])
				}
			}},
		{name: "record wav", line: `{"id":"r","cmd":"record","call":"c1","path":"/tmp/rec","format":"wav"}`, wantID: "r", wantCalls: []string{"Record c1 /tmp/rec wav"}},
		{name: "record bad format", line: `{"id":"r","cmd":"record","call":"c1","path":"/tmp/rec","format":"mp3"}`, wantID: "r", wantErr: `"format" must be`},
		{name: "record in the --recordings folder", line: `{"id":"r","cmd":"record","call":"c1"}`, wantID: "r", wantCalls: []string{"Record c1  ogg"}},
		{name: "record-pause", line: `{"id":"r","cmd":"record-pause","call":"c1"}`, wantID: "r", wantCalls: []string{"RecordPause c1"}},
		{name: "record-resume", line: `{"id":"r","cmd":"record-resume","call":"c1"}`, wantID: "r", wantCalls: []string{"RecordResume c1"}},
		{name: "record-stop", line: `{"id":"r","cmd":"record-stop","call":"c1"}`, wantID: "r", wantCalls: []string{"RecordStop c1"}},
		{name: "resume", line: `{"id":"5","cmd":"resume","call":"c1"}`, wantID: "5", wantCalls: []string{"Resume c1"}},
		{name: "mute", line: `{"id":"6","cmd":"mute","call":"c1"}`, wantID: "6", wantCalls: []string{"Mute c1"}},
		{name: "unmute", line: `{"id":"6","cmd":"unmute","call":"c1"}`, wantID: "6", wantCalls: []string{"Unmute c1"}},
		{name: "calls", line: `{"id":"9","cmd":"calls"}`, wantID: "9",
			check: func(t *testing.T, r map[string]any) {
				calls, ok := r["calls"].([]any)
				if !ok || len(calls) != 1 {
					t.Errorf("calls result should list the one call, got %v", r)
				}
			}},
		{name: "stats", line: `{"id":"10","cmd":"stats","call":"c1"}`, wantID: "10", wantCalls: []string{"Stats c1"},
			check: func(t *testing.T, r map[string]any) {
				a, _ := r["audio"].(map[string]any)
				if r["path"] != "webrtc" || r["srtp"] != "dtls" || a["codec"] != "opus" || a["packetsReceived"] != float64(5) || a["bytesReceived"] != float64(400) || a["packetsSent"] != float64(7) {
					t.Errorf("stats result should be media.Stats JSON, got %v", r)
				}
				// The video keys README.md documents, with the fake's values.
				for path, want := range map[string]any{
					"video.sent.codec": "VP8", "video.sent.frames": float64(90), "video.sent.bytes": float64(123456),
					"video.sent.width": float64(1280), "video.sent.height": float64(720), "video.sent.fps": 29.5,
					"video.received.codec": "VP8", "video.received.framesDecoded": float64(61),
					"video.received.width": float64(1920), "video.received.height": float64(1080), "video.received.fps": float64(30),
				} {
					if got := digPath(r, path); got != want {
						t.Errorf("stats %s = %#v, want %#v", path, got, want)
					}
				}
			}},
		{name: "monitors", line: `{"id":"m","cmd":"monitors"}`, wantID: "m", wantCalls: []string{"Monitors"},
			check: func(t *testing.T, r map[string]any) {
				want := []any{
					map[string]any{"index": float64(0), "name": "DUMMY0", "x": float64(0), "y": float64(0), "width": float64(1920), "height": float64(1080), "primary": true},
					map[string]any{"index": float64(1), "name": "DUMMY1", "x": float64(1920), "y": float64(0), "width": float64(1280), "height": float64(720), "primary": false},
				}
				if !reflect.DeepEqual(r["monitors"], want) {
					t.Errorf("monitors = %v, want %v", r["monitors"], want)
				}
			}},
		{name: "share", line: `{"id":"s","cmd":"share","call":"c1","monitor":1}`, wantID: "s", wantCalls: []string{"Share c1 1"},
			check: func(t *testing.T, r map[string]any) {
				if digPath(r, "session.screensharing") != true {
					t.Errorf("share result should hold the session with screensharing=true, got %v", r)
				}
			}},
		{name: "share unknown monitor", line: `{"id":"s","cmd":"share","call":"c1","monitor":5}`, wantID: "s", wantErr: "no monitor 5", wantCalls: []string{"Share c1 5"}},
		{name: "share unknown call", line: `{"id":"s","cmd":"share","call":"zz","monitor":0}`, wantID: "s", wantErr: "no such call", wantCalls: []string{"Share zz 0"}},
		{name: "share missing call", line: `{"id":"s","cmd":"share","monitor":1}`, wantID: "s", wantErr: `missing field "call" for share`},
		{name: "share missing monitor", line: `{"id":"s","cmd":"share","call":"c1"}`, wantID: "s", wantErr: `missing field "monitor" for share`},
		{name: "share monitor as string", line: `{"id":"s","cmd":"share","call":"c1","monitor":"1"}`, wantID: "s", wantErr: `"monitor" must be a monitor index`},
		{name: "share monitor fractional", line: `{"id":"s","cmd":"share","call":"c1","monitor":1.5}`, wantID: "s", wantErr: `"monitor" must be a monitor index`},
		{name: "share monitor negative", line: `{"id":"s","cmd":"share","call":"c1","monitor":-1}`, wantID: "s", wantErr: `"monitor" must be a monitor index`},
		{name: "share monitor null", line: `{"id":"s","cmd":"share","call":"c1","monitor":null}`, wantID: "s", wantErr: `"monitor" must be a monitor index`},
		{name: "unshare", line: `{"id":"u","cmd":"unshare","call":"c1"}`, wantID: "u", wantCalls: []string{"Unshare c1"},
			setup: func(f *fakePhone) { f.calls["c1"].Screensharing = true },
			check: func(t *testing.T, r map[string]any) {
				if digPath(r, "session.screensharing") != false {
					t.Errorf("unshare result should hold the session with screensharing=false, got %v", r)
				}
			}},
		{name: "unshare missing call", line: `{"id":"u","cmd":"unshare"}`, wantID: "u", wantErr: `missing field "call" for unshare`},
		{name: "snapshot", line: `{"id":"p","cmd":"snapshot","call":"c1","path":"/tmp/x.png"}`, wantID: "p", wantCalls: []string{"Snapshot c1 /tmp/x.png"},
			check: func(t *testing.T, r map[string]any) {
				want := map[string]any{"path": "/tmp/x.png", "width": float64(1280), "height": float64(720)}
				if !reflect.DeepEqual(r, want) {
					t.Errorf("snapshot result = %v, want %v", r, want)
				}
			}},
		{name: "snapshot before any frame", line: `{"id":"p","cmd":"snapshot","call":"c1","path":"x.png"}`, wantID: "p", wantErr: "no remote video frame decoded yet",
			setup: func(f *fakePhone) { f.noFrame["c1"] = true }, wantCalls: []string{"Snapshot c1 x.png"}},
		{name: "snapshot missing path", line: `{"id":"p","cmd":"snapshot","call":"c1"}`, wantID: "p", wantErr: `missing field "path" for snapshot`},
		{name: "snapshot missing call", line: `{"id":"p","cmd":"snapshot","path":"x.png"}`, wantID: "p", wantErr: `missing field "call" for snapshot`},
		{name: "snapshot empty path", line: `{"id":"p","cmd":"snapshot","call":"c1","path":""}`, wantID: "p", wantErr: `"path" is empty`},
		{name: "snapshot path not a string", line: `{"id":"p","cmd":"snapshot","call":"c1","path":7}`, wantID: "p", wantErr: `"path" must be a string`},
		{name: "snapshot path with NUL", line: `{"id":"p","cmd":"snapshot","call":"c1","path":"a\u0000b"}`, wantID: "p", wantErr: `"path" holds a NUL byte`},
		{name: "stats needs call", line: `{"id":"10","cmd":"stats"}`, wantID: "10", wantErr: `missing field "call" for stats`},
		{name: "register without account", line: `{"id":"11","cmd":"register"}`, wantID: "11", wantErr: "no account"},
		{name: "unregister without account", line: `{"id":"11","cmd":"unregister"}`, wantID: "11", wantErr: "no account"},
		{name: "register with account", line: `{"id":"11","cmd":"register"}`, hasAccount: true, wantID: "11", wantCalls: []string{"Register"}},
		{name: "unregister with account", line: `{"id":"12","cmd":"unregister"}`, hasAccount: true, wantID: "12", wantCalls: []string{"Unregister"}},
		{name: "extra fields ignored", line: `{"id":"13","cmd":"mute","call":"c1","note":"x"}`, wantID: "13", wantCalls: []string{"Mute c1"}},
		{name: "surrounding spaces and CR", line: " {\"id\":\"14\",\"cmd\":\"calls\"} \r", wantID: "14"},

		// Call control.
		{name: "dtmf", line: `{"id":"d","cmd":"dtmf","call":"c1","tones":"12#*a"}`, wantID: "d", wantCalls: []string{"DTMF c1 12#*A"},
			check: func(t *testing.T, r map[string]any) {
				if digPath(r, "session.sipCallId") != "c1" {
					t.Errorf("dtmf result should hold the call's session, got %v", r)
				}
			}},
		{name: "dtmf unknown call", line: `{"id":"d","cmd":"dtmf","call":"zz","tones":"1"}`, wantID: "d", wantErr: "no such call", wantCalls: []string{"DTMF zz 1"}},
		{name: "dtmf bad tone", line: `{"id":"d","cmd":"dtmf","call":"c1","tones":"12x"}`, wantID: "d", wantErr: `"tones" holds 'x', not a DTMF tone`},
		{name: "dtmf empty tones", line: `{"id":"d","cmd":"dtmf","call":"c1","tones":""}`, wantID: "d", wantErr: `"tones" is empty`},
		{name: "dtmf tones not a string", line: `{"id":"d","cmd":"dtmf","call":"c1","tones":12}`, wantID: "d", wantErr: `"tones" must be a string`},
		{name: "dtmf missing tones", line: `{"id":"d","cmd":"dtmf","call":"c1"}`, wantID: "d", wantErr: `missing field "tones" for dtmf`},
		{name: "transfer", line: `{"id":"t","cmd":"transfer","call":"c1","to":"sip:carol@127.0.0.1:5070"}`, wantID: "t", wantCalls: []string{"Transfer c1 sip:carol@127.0.0.1:5070"},
			check: func(t *testing.T, r map[string]any) {
				if len(r) != 0 {
					t.Errorf("transfer result should be empty once the call is handed over, got %v", r)
				}
			}},
		{name: "transfer engine error", line: `{"id":"t","cmd":"transfer","call":"c1","to":"carol"}`, wantID: "t", wantErr: "bad SIP URI", wantCalls: []string{"Transfer c1 carol"}},
		{name: "transfer missing to", line: `{"id":"t","cmd":"transfer","call":"c1"}`, wantID: "t", wantErr: `missing field "to" for transfer`},
		{name: "transfer missing call", line: `{"id":"t","cmd":"transfer","to":"sip:c@h"}`, wantID: "t", wantErr: `missing field "call" for transfer`},
		{name: "transfer-accept", line: `{"id":"ta","cmd":"transfer-accept","call":"c1"}`, wantID: "ta", wantCalls: []string{"AcceptTransfer c1"}},
		{name: "transfer-decline", line: `{"id":"td","cmd":"transfer-decline","call":"c1"}`, wantID: "td", wantCalls: []string{"DeclineTransfer c1"}},
		{name: "transfer-accept missing call", line: `{"id":"ta","cmd":"transfer-accept"}`, wantID: "ta", wantErr: `missing field "call" for transfer-accept`},
		{name: "atxfer", line: `{"id":"x","cmd":"atxfer","call":"c1","to":"sip:carol@127.0.0.1"}`, wantID: "x", wantCalls: []string{"Atxfer c1 sip:carol@127.0.0.1"},
			check: func(t *testing.T, r map[string]any) {
				if digPath(r, "session.sipCallId") != "consult-1" || digPath(r, "session.isCaller") != true {
					t.Errorf("atxfer result should hold the consultation session, got %v", r)
				}
			}},
		{name: "atxfer unknown call", line: `{"id":"x","cmd":"atxfer","call":"zz","to":"sip:c@h"}`, wantID: "x", wantErr: "no such call", wantCalls: []string{"Atxfer zz sip:c@h"}},
		{name: "atxfer-complete", line: `{"id":"x","cmd":"atxfer-complete","call":"c1","consult":"k1"}`, wantID: "x", wantCalls: []string{"AtxferComplete c1 k1"},
			setup: func(f *fakePhone) { f.calls["k1"] = &callengine.CallSession{SipCallID: "k1"} },
			check: func(t *testing.T, r map[string]any) {
				if len(r) != 0 {
					t.Errorf("atxfer-complete result should be empty once the call is handed over, got %v", r)
				}
			}},
		{name: "atxfer-complete unknown consult", line: `{"id":"x","cmd":"atxfer-complete","call":"c1","consult":"zz"}`, wantID: "x", wantErr: "no such call", wantCalls: []string{"AtxferComplete c1 zz"}},
		{name: "atxfer-complete missing consult", line: `{"id":"x","cmd":"atxfer-complete","call":"c1"}`, wantID: "x", wantErr: `missing field "consult" for atxfer-complete`},
		{name: "atxfer-cancel", line: `{"id":"x","cmd":"atxfer-cancel","call":"c1","consult":"k1"}`, wantID: "x", wantCalls: []string{"AtxferCancel c1 k1"},
			setup: func(f *fakePhone) {
				f.calls["k1"] = &callengine.CallSession{SipCallID: "k1"}
				f.calls["c1"].Paused = true
			},
			check: func(t *testing.T, r map[string]any) {
				if digPath(r, "session.sipCallId") != "c1" || digPath(r, "session.paused") != false {
					t.Errorf("atxfer-cancel result should hold the resumed call, got %v", r)
				}
			}},
		{name: "atxfer-cancel consult empty", line: `{"id":"x","cmd":"atxfer-cancel","call":"c1","consult":""}`, wantID: "x", wantErr: `"consult" is empty`},
		{name: "message out of dialog", line: `{"id":"g","cmd":"message","to":"sip:bob@127.0.0.1","body":"hi"}`, wantID: "g",
			wantCalls: []string{`Message call= to=sip:bob@127.0.0.1 text/plain "hi"`},
			check: func(t *testing.T, r map[string]any) {
				if len(r) != 0 {
					t.Errorf("message result should be empty, got %v", r)
				}
			}},
		{name: "message in dialog with type", line: `{"id":"g","cmd":"message","call":"c1","contentType":"application/json","body":"{\"a\":1}"}`, wantID: "g",
			wantCalls: []string{`Message call=c1 to= application/json "{\"a\":1}"`}},
		{name: "message empty body", line: `{"id":"g","cmd":"message","call":"c1","body":""}`, wantID: "g",
			wantCalls: []string{`Message call=c1 to= text/plain ""`}},
		{name: "message neither to nor call", line: `{"id":"g","cmd":"message","body":"hi"}`, wantID: "g", wantErr: `missing field "to" or "call" for message`},
		{name: "message both to and call", line: `{"id":"g","cmd":"message","to":"sip:b@h","call":"c1","body":"hi"}`, wantID: "g", wantErr: `not both`},
		{name: "message missing body", line: `{"id":"g","cmd":"message","to":"sip:b@h"}`, wantID: "g", wantErr: `missing field "body" for message`},
		{name: "message body not a string", line: `{"id":"g","cmd":"message","to":"sip:b@h","body":{"a":1}}`, wantID: "g", wantErr: `"body" must be a string`},
		{name: "message body null", line: `{"id":"g","cmd":"message","to":"sip:b@h","body":null}`, wantID: "g", wantErr: `"body" must be a string`},
		{name: "message contentType with CRLF", line: `{"id":"g","cmd":"message","to":"sip:b@h","body":"x","contentType":"text/plain\r\nX-Evil: 1"}`, wantID: "g", wantErr: `"contentType" must be a MIME type`},
		{name: "message contentType not a type", line: `{"id":"g","cmd":"message","to":"sip:b@h","body":"x","contentType":"plain"}`, wantID: "g", wantErr: `"contentType" must be a MIME type`},
		{name: "chat", line: `{"id":"h","cmd":"chat","call":"c1","text":"hello Bob"}`, wantID: "h", wantCalls: []string{`Chat c1 "hello Bob"`}},
		{name: "chat unknown call", line: `{"id":"h","cmd":"chat","call":"zz","text":"x"}`, wantID: "h", wantErr: "no such call", wantCalls: []string{`Chat zz "x"`}},
		{name: "chat empty text", line: `{"id":"h","cmd":"chat","call":"c1","text":" "}`, wantID: "h", wantErr: `"text" is empty`},
		{name: "chat missing text", line: `{"id":"h","cmd":"chat","call":"c1"}`, wantID: "h", wantErr: `missing field "text" for chat`},
		{name: "signal object", line: `{"id":"i","cmd":"signal","call":"c1","content":{"type":"onTrackUpdated","update":"downgrade"}}`, wantID: "i",
			wantCalls: []string{`Signal c1 {"type":"onTrackUpdated","update":"downgrade"}`}},
		{name: "signal scalar", line: `{"id":"i","cmd":"signal","call":"c1","content":42}`, wantID: "i", wantCalls: []string{`Signal c1 42`}},
		{name: "signal null", line: `{"id":"i","cmd":"signal","call":"c1","content":null}`, wantID: "i", wantCalls: []string{`Signal c1 null`}},
		{name: "signal missing content", line: `{"id":"i","cmd":"signal","call":"c1"}`, wantID: "i", wantErr: `missing field "content" for signal`},
		{name: "early", line: `{"id":"e","cmd":"early","call":"c1"}`, wantID: "e", wantCalls: []string{"Early c1"}},
		{name: "early unknown call", line: `{"id":"e","cmd":"early","call":"zz"}`, wantID: "e", wantErr: "no such call", wantCalls: []string{"Early zz"}},
		{name: "ignore", line: `{"id":"j","cmd":"ignore","call":"c1"}`, wantID: "j", wantCalls: []string{"Ignore c1"},
			check: func(t *testing.T, r map[string]any) {
				if digPath(r, "session.ignored") != true {
					t.Errorf("ignore result should hold the session with ignored=true, got %v", r)
				}
			}},
		{name: "ignore missing call", line: `{"id":"j","cmd":"ignore"}`, wantID: "j", wantErr: `missing field "call" for ignore`},
		{name: "monitor start", line: `{"id":"k","cmd":"monitor","call":"c1","intervalMs":2000}`, wantID: "k", wantCalls: []string{"Monitor c1 2s"},
			check: func(t *testing.T, r map[string]any) {
				if r["monitoring"] != true || r["intervalMs"] != float64(2000) {
					t.Errorf("monitor result = %v, want monitoring and intervalMs 2000", r)
				}
			}},
		{name: "monitor zero stops", line: `{"id":"k","cmd":"monitor","call":"c1","intervalMs":0}`, wantID: "k", wantCalls: []string{"Unmonitor c1"},
			check: func(t *testing.T, r map[string]any) {
				if r["monitoring"] != false {
					t.Errorf("monitor 0 result = %v, want monitoring false", r)
				}
			}},
		{name: "monitor absent stops", line: `{"id":"k","cmd":"monitor","call":"c1"}`, wantID: "k", wantCalls: []string{"Unmonitor c1"}},
		{name: "monitor below engine minimum", line: `{"id":"k","cmd":"monitor","call":"c1","intervalMs":50}`, wantID: "k", wantErr: "below 100 ms", wantCalls: []string{"Monitor c1 50ms"}},
		{name: "monitor negative", line: `{"id":"k","cmd":"monitor","call":"c1","intervalMs":-1}`, wantID: "k", wantErr: `"intervalMs" must be an integer`},
		{name: "monitor fractional", line: `{"id":"k","cmd":"monitor","call":"c1","intervalMs":1.5}`, wantID: "k", wantErr: `"intervalMs" must be an integer`},
		{name: "monitor string", line: `{"id":"k","cmd":"monitor","call":"c1","intervalMs":"2000"}`, wantID: "k", wantErr: `"intervalMs" must be an integer`},
		{name: "monitor huge", line: `{"id":"k","cmd":"monitor","call":"c1","intervalMs":99999999999999}`, wantID: "k", wantErr: `"intervalMs" must be an integer`},
		{name: "monitor unknown call", line: `{"id":"k","cmd":"monitor","call":"zz","intervalMs":500}`, wantID: "k", wantErr: "no such call", wantCalls: []string{"Monitor zz 500ms"}},

		// Malformed lines: an error reply, with the id when it could be read.
		{name: "not JSON", line: `hello`, wantErr: "bad JSON"},
		{name: "truncated JSON", line: `{"id":"1","cmd":"call"`, wantErr: "bad JSON"},
		{name: "trailing garbage", line: `{"id":"1","cmd":"calls"} x`, wantErr: "bad JSON"},
		{name: "array", line: `["calls"]`, wantErr: "bad JSON"},
		{name: "null", line: `null`, wantErr: "bad JSON"},
		{name: "empty line", line: ``, wantErr: "empty line"},
		{name: "blank line", line: "  \t", wantErr: "empty line"},
		{name: "missing cmd", line: `{"id":"20"}`, wantID: "20", wantErr: `missing field "cmd"`},
		{name: "cmd not a string", line: `{"id":"21","cmd":5}`, wantID: "21", wantErr: `"cmd" must be a string`},
		{name: "unknown cmd", line: `{"id":"22","cmd":"dance"}`, wantID: "22", wantErr: `unknown command "dance"`},
		{name: "cmd is case-sensitive", line: `{"id":"23","cmd":"CALLS"}`, wantID: "23", wantErr: "unknown command"},
		{name: "key is case-sensitive", line: `{"id":"24","CMD":"calls"}`, wantID: "24", wantErr: `missing field "cmd"`},
		{name: "missing to", line: `{"id":"25","cmd":"call"}`, wantID: "25", wantErr: `missing field "to" for call`},
		{name: "empty to", line: `{"id":"26","cmd":"call","to":"  "}`, wantID: "26", wantErr: `"to" is empty`},
		{name: "call field not a string", line: `{"id":"27","cmd":"hangup","call":12}`, wantID: "27", wantErr: `"call" must be a string`},
		{name: "id object", line: `{"id":{"a":1},"cmd":"calls"}`, wantErr: `"id" must be a string or a number`},
		{name: "id bool", line: `{"id":true,"cmd":"calls"}`, wantErr: `"id" must be a string or a number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			phone := newFakePhone("c1")
			if tt.setup != nil {
				tt.setup(phone)
			}
			var out syncBuffer
			d := newDispatcher(context.Background(), phone, tt.hasAccount, newLineWriter(&out))
			if q := d.handleLine([]byte(tt.line)); q != nil {
				t.Fatalf("handleLine returned quit for %q", tt.line)
			}
			d.wait()
			lines := out.lines(t)
			if len(lines) != 1 {
				t.Fatalf("want exactly one reply, got %d: %v", len(lines), lines)
			}
			r := lines[0]
			if !reflect.DeepEqual(r["id"], tt.wantID) {
				t.Errorf("reply id = %#v, want %#v (reply %v)", r["id"], tt.wantID, r)
			}
			if tt.wantErr == "" {
				if r["ok"] != true {
					t.Fatalf("want ok, got %v", r)
				}
				res, ok := r["result"].(map[string]any)
				if !ok {
					t.Fatalf("ok reply without result object: %v", r)
				}
				if tt.check != nil {
					tt.check(t, res)
				}
			} else {
				if r["ok"] != false {
					t.Fatalf("want ok:false, got %v", r)
				}
				if e, _ := r["error"].(string); !strings.Contains(e, tt.wantErr) {
					t.Errorf("error %q does not contain %q", e, tt.wantErr)
				}
				if _, has := r["result"]; has {
					t.Errorf("error reply carries a result: %v", r)
				}
			}
			if got := phone.recorded(); !reflect.DeepEqual(got, tt.wantCalls) {
				t.Errorf("phone calls = %q, want %q", got, tt.wantCalls)
			}
		})
	}
}

func TestDispatchQuitIsDeferred(t *testing.T) {
	var out syncBuffer
	d := newDispatcher(context.Background(), newFakePhone(), false, newLineWriter(&out))
	q := d.handleLine([]byte(`{"id":"q","cmd":"quit"}`))
	if q == nil || q.ID != "q" {
		t.Fatalf("quit not returned to the caller: %+v", q)
	}
	if n := len(out.lines(t)); n != 0 {
		t.Fatalf("quit must be answered by the server after shutdown, got %d lines early", n)
	}
	d.replyQuit(q)
	if l := out.lines(t); len(l) != 1 || l[0]["id"] != "q" || l[0]["ok"] != true {
		t.Fatalf("quit reply = %v", l)
	}
}

// A slow network command must not hold up the next line, and its reply
// keeps its own id when it finally comes.
func TestDispatchNetworkCommandsDoNotBlock(t *testing.T) {
	phone := newFakePhone("c1")
	phone.block = make(chan struct{})
	var out syncBuffer
	d := newDispatcher(context.Background(), phone, false, newLineWriter(&out))
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.handleLine([]byte(`{"id":"slow","cmd":"hold","call":"c1"}`))
		d.handleLine([]byte(`{"id":"fast","cmd":"calls"}`))
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("handleLine blocked behind a pending hold")
	}
	lines := out.lines(t)
	if len(lines) != 1 || lines[0]["id"] != "fast" {
		t.Fatalf("want only the fast reply while hold is pending, got %v", lines)
	}
	close(phone.block)
	d.wait()
	lines = out.lines(t)
	if len(lines) != 2 || lines[1]["id"] != "slow" || lines[1]["ok"] != true {
		t.Fatalf("want the hold reply second with its id, got %v", lines)
	}
}

// The parent context ending (shutdown) makes a pending command reply with
// an error rather than never.
func TestDispatchShutdownCancelsPending(t *testing.T) {
	phone := newFakePhone("c1")
	phone.block = make(chan struct{})
	var out syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	d := newDispatcher(ctx, phone, false, newLineWriter(&out))
	d.handleLine([]byte(`{"id":"h","cmd":"hold","call":"c1"}`))
	cancel()
	d.wait()
	lines := out.lines(t)
	if len(lines) != 1 || lines[0]["id"] != "h" || lines[0]["ok"] != false {
		t.Fatalf("want an error reply for the cancelled hold, got %v", lines)
	}
}

// FuzzCommandLine: any line gives exactly one reply line (JSON, with "ok"),
// never a panic.
func FuzzCommandLine(f *testing.F) {
	for _, s := range []string{
		`{"id":"7","cmd":"call","to":"sip:bob@127.0.0.1:5090"}`,
		`{"id":"1","cmd":"accept","call":"c1"}`,
		`{"id":2,"cmd":"reject","call":"c1","code":603}`,
		`{"id":"3","cmd":"hangup","call":"nope"}`,
		`{"id":"4","cmd":"stats","call":"c1"}`,
		`{"cmd":"calls"}`,
		`{"id":"5","cmd":"quit"}`,
		`{"id":"6","cmd":"register"}`,
		`{"id":"m","cmd":"monitors"}`,
		`{"id":"s","cmd":"share","call":"c1","monitor":1}`,
		`{"id":"s","cmd":"share","call":"c1","monitor":"x"}`,
		`{"id":"u","cmd":"unshare","call":"c1"}`,
		`{"id":"p","cmd":"snapshot","call":"c1","path":"x.png"}`,
		`{"id":"d","cmd":"dtmf","call":"c1","tones":"12#"}`,
		`{"id":"t","cmd":"transfer","call":"c1","to":"sip:c@h"}`,
		`{"id":"x","cmd":"atxfer","call":"c1","to":"sip:c@h"}`,
		`{"id":"x","cmd":"atxfer-complete","call":"c1","consult":"k"}`,
		`{"id":"x","cmd":"atxfer-cancel","call":"c1","consult":"k"}`,
		`{"id":"g","cmd":"message","to":"sip:b@h","body":"hi","contentType":"text/plain"}`,
		`{"id":"h","cmd":"chat","call":"c1","text":"hi"}`,
		`{"id":"i","cmd":"signal","call":"c1","content":{"a":[1,2]}}`,
		`{"id":"e","cmd":"early","call":"c1"}`,
		`{"id":"j","cmd":"ignore","call":"c1"}`,
		`{"id":"k","cmd":"monitor","call":"c1","intervalMs":2000}`,
		`{"id":1e999,"cmd":"calls"}`,
		`{"id":"\ud800","cmd":"x"}`,
		`{"cmd":"call","to":123}`,
		`[]`, `null`, `"calls"`, ``, `{`, "\x00\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var out syncBuffer
		phone := newFakePhone("c1")
		d := newDispatcher(context.Background(), phone, len(line)%2 == 0, newLineWriter(&out))
		if q := d.handleLine(line); q != nil {
			d.replyQuit(q)
		}
		d.wait()
		out.mu.Lock()
		text := out.buf.String()
		out.mu.Unlock()
		if strings.Count(text, "\n") != 1 || !strings.HasSuffix(text, "\n") {
			t.Fatalf("want exactly one reply line for %q, got %q", line, text)
		}
		// UseNumber: an id like 1e999 is echoed as sent, valid JSON that
		// does not fit a float64.
		var r map[string]any
		dec := json.NewDecoder(strings.NewReader(text))
		dec.UseNumber()
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("reply is not JSON: %q: %v", text, err)
		}
		if _, ok := r["ok"].(bool); !ok {
			t.Fatalf("reply without ok: %q", text)
		}
	})
}

// digPath reads a value out of a decoded JSON object by dotted path.
func digPath(obj map[string]any, path string) any {
	var v any = obj
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
