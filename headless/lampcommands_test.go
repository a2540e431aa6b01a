package headless

import (
	"context"
	"strings"
	"testing"

	"github.com/parlo-voip/parlo/callengine/presence"
)

func TestLampCommands(t *testing.T) {
	tests := []struct {
		name       string
		lines      []string
		noAccount  bool
		wantErr    string // of the last reply; "" = ok
		wantLamps  int
		wantStatus presence.Status
		check      func(t *testing.T, last map[string]any)
	}{
		{name: "watch takes dialog and presence", lines: []string{`{"id":1,"cmd":"watch","to":"1002"}`}, wantLamps: 2},
		{name: "mwi", lines: []string{`{"id":1,"cmd":"mwi"}`}, wantLamps: 1},
		{name: "subscribe one package", lines: []string{`{"id":1,"cmd":"subscribe","package":"dialog","to":"1003"}`}, wantLamps: 1},
		{name: "subscribe unknown package", lines: []string{`{"id":1,"cmd":"subscribe","package":"reg","to":"1003"}`}, wantErr: `"package" must be dialog, presence or message-summary`},
		{name: "unwatch", lines: []string{`{"id":1,"cmd":"watch","to":"1002"}`, `{"id":2,"cmd":"unwatch","to":"1002"}`}, wantLamps: 0},
		{name: "unwatch unknown", lines: []string{`{"id":2,"cmd":"unwatch","to":"1002"}`}, wantErr: "not in a state"},
		{name: "lamps lists", lines: []string{`{"id":1,"cmd":"watch","to":"1002"}`, `{"id":2,"cmd":"lamps"}`}, wantLamps: 2,
			check: func(t *testing.T, r map[string]any) {
				lamps, _ := r["lamps"].([]any)
				if len(lamps) != 2 {
					t.Fatalf("lamps reply %v", r)
				}
				if l, _ := lamps[0].(map[string]any); l["target"] != "1002" || l["package"] != "dialog" || l["state"] != "unknown" {
					t.Errorf("first lamp %v", l)
				}
			}},
		{name: "presence", lines: []string{`{"id":1,"cmd":"presence","status":"dnd","note":"in a meeting"}`}, wantStatus: presence.StatusDND},
		{name: "presence on-the-phone is the phone's to say", lines: []string{`{"id":1,"cmd":"presence","status":"on-the-phone"}`}, wantErr: `"status" must be available, away, busy or dnd`},
		{name: "presence without account", noAccount: true, lines: []string{`{"id":1,"cmd":"presence","status":"away"}`}, wantErr: "account"},
		{name: "pickup of nothing ringing", lines: []string{`{"id":1,"cmd":"pickup","to":"1002"}`}, wantErr: "not in a state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			phone := newFakePhone()
			var out syncBuffer
			d := newDispatcher(context.Background(), phone, !tt.noAccount, newLineWriter(&out))
			for _, l := range tt.lines {
				d.handleLine([]byte(l))
				d.wait()
			}
			lines := out.lines(t)
			if len(lines) != len(tt.lines) {
				t.Fatalf("%d replies to %d lines: %v", len(lines), len(tt.lines), lines)
			}
			last := lines[len(lines)-1]
			if tt.wantErr != "" {
				if e, _ := last["error"].(string); last["ok"] != false || !strings.Contains(e, tt.wantErr) {
					t.Fatalf("reply %v, want error containing %q", last, tt.wantErr)
				}
				return
			}
			if last["ok"] != true {
				t.Fatalf("reply %v", last)
			}
			if n := len(phone.Watches()); n != tt.wantLamps {
				t.Errorf("%d subscriptions, want %d", n, tt.wantLamps)
			}
			if phone.presence != tt.wantStatus {
				t.Errorf("published %q, want %q", phone.presence, tt.wantStatus)
			}
			if tt.check != nil {
				res, _ := last["result"].(map[string]any)
				tt.check(t, res)
			}
		})
	}
}
