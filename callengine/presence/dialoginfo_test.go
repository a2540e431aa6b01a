package presence

import (
	"errors"
	"strings"
	"testing"
)

// kamailioEarly is what Kamailio's pua_dialoginfo publishes for a callee
// whose phone rings (include_callid, include_tags, include_localremote).
const kamailioEarly = `<?xml version="1.0"?>
<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="full" entity="sip:1002@parlo.test">
  <dialog id="abc" call-id="abc" local-tag="t2" remote-tag="t1" direction="recipient">
    <state>early</state>
    <local><identity>sip:1002@parlo.test</identity><target uri="sip:1002@parlo.test"/></local>
    <remote><identity>sip:1001@parlo.test</identity><target uri="sip:1001@127.0.0.1:5070"/></remote>
  </dialog>
</dialog-info>`

func TestParseDialogInfo(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		want   LineState
		err    error
		pickup bool
	}{
		{"ringing recipient", kamailioEarly, LineRinging, nil, true},
		{"confirmed", strings.ReplaceAll(kamailioEarly, "early", "confirmed"), LineBusy, nil, false},
		{"terminated", strings.ReplaceAll(kamailioEarly, "early", "terminated"), LineIdle, nil, false},
		{"calling out", strings.ReplaceAll(kamailioEarly, `"recipient"`, `"initiator"`), LineBusy, nil, false},
		{"no dialogs", `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="full" entity="sip:1002@parlo.test"/>`, LineIdle, nil, false},
		{"busy beats ringing", `<dialog-info version="3" state="full" entity="sip:x@y"><dialog id="1" direction="recipient"><state>early</state></dialog><dialog id="2"><state>confirmed</state></dialog></dialog-info>`, LineBusy, nil, true},
		{"empty", "", LineIdle, ErrMalformed, false},
		{"not xml", "hello", LineIdle, ErrMalformed, false},
		{"bad version", `<dialog-info version="x" entity="a"/>`, LineIdle, ErrMalformed, false},
		{"other document", `<presence entity="a"/>`, LineIdle, ErrMalformed, false},
		{"entity expansion", `<!DOCTYPE d [<!ENTITY a "aaaa">]><dialog-info version="1" entity="&a;"/>`, LineIdle, ErrMalformed, false},
		{"too large", "<dialog-info>" + strings.Repeat(" ", MaxBody) + "</dialog-info>", LineIdle, ErrTooLarge, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			di, err := ParseDialogInfo([]byte(tt.body))
			if !errors.Is(err, tt.err) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if got := di.State(); got != tt.want {
				t.Errorf("state %s, want %s", got, tt.want)
			}
			if _, ok := di.Ringing(); ok != tt.pickup {
				t.Errorf("Ringing() ok=%v, want %v", ok, tt.pickup)
			}
		})
	}
	di, err := ParseDialogInfo([]byte(kamailioEarly))
	if err != nil {
		t.Fatal(err)
	}
	d, _ := di.Ringing()
	if di.Entity != "sip:1002@parlo.test" || di.Version != 1 || !di.Full || d.CallID != "abc" || d.LocalTag != "t2" || d.RemoteTag != "t1" ||
		d.RemoteIdentity != "sip:1001@parlo.test" || d.RemoteTarget != "sip:1001@127.0.0.1:5070" {
		t.Errorf("parsed %+v", di)
	}
}

// FuzzParseDialogInfo: no input panics, and whatever parses yields a
// lamp state of the enumeration with bounded fields.
func FuzzParseDialogInfo(f *testing.F) {
	f.Add([]byte(kamailioEarly))
	f.Add([]byte(`<dialog-info version="1" state="partial" entity="sip:a@b"><dialog id="1"><state>confirmed</state></dialog></dialog-info>`))
	f.Add([]byte(`<dialog-info/>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		di, err := ParseDialogInfo(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unwrapped error %v", err)
			}
			return
		}
		switch di.State() {
		case LineIdle, LineRinging, LineBusy:
		default:
			t.Fatalf("state %q", di.State())
		}
		if len(di.Dialogs) > maxItems || len(di.Entity) > maxText {
			t.Fatalf("unbounded: %d dialogs, entity %d bytes", len(di.Dialogs), len(di.Entity))
		}
	})
}
