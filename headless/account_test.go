package headless

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parlo-voip/parlo/callengine"
)

// SetAccount records the account the command built (never its password).
func (f *fakePhone) SetAccount(_ context.Context, a *callengine.Account) error {
	if a == nil {
		f.record("SetAccount direct")
		return nil
	}
	f.record("SetAccount %s %s %s pw=%v", a.URI, a.Registrar, a.Transport, a.Password == "pw-from-file")
	return nil
}

// TestAccountCommand drives the account command in sequence: register is
// refused in direct mode, allowed once an account is set, refused again
// after going back to direct mode; bad fields are refused with the field
// named and the phone untouched.
func TestAccountCommand(t *testing.T) {
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("pw-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	phone := newFakePhone("c1")
	var out syncBuffer
	d := newDispatcher(context.Background(), phone, false, newLineWriter(&out))
	steps := []struct {
		line    string
		wantErr string
	}{
		{`{"id":1,"cmd":"register"}`, "account"},
		{`{"id":2,"cmd":"account","account":"sip:carol@parlo.test","passwordFile":"` + pwFile + `"}`, "--registrar"},
		{`{"id":3,"cmd":"account","account":"sip:carol@parlo.test","registrar":"sip:127.0.0.1:5060","transport":"carrier-pigeon","passwordFile":"` + pwFile + `"}`, "--transport"},
		{`{"id":4,"cmd":"account","account":"sip:carol@parlo.test","registrar":"sip:127.0.0.1:5060\r\nX: y"}`, "line break"},
		{`{"id":5,"cmd":"account","account":"sip:carol@parlo.test","registrar":"sip:127.0.0.1:5060","transport":"tcp","passwordFile":"` + pwFile + `"}`, ""},
		{`{"id":6,"cmd":"register"}`, ""},
		{`{"id":7,"cmd":"account","account":""}`, ""},
		{`{"id":8,"cmd":"unregister"}`, "account"},
	}
	for i, st := range steps {
		d.handleLine([]byte(st.line))
		d.wait()
		lines := out.lines(t)
		if len(lines) != i+1 {
			t.Fatalf("step %d: %d replies", i+1, len(lines))
		}
		r := lines[i]
		if st.wantErr == "" {
			if r["ok"] != true {
				t.Fatalf("step %d %s: %v", i+1, st.line, r)
			}
			continue
		}
		if e, _ := r["error"].(string); r["ok"] != false || !strings.Contains(e, st.wantErr) {
			t.Fatalf("step %d %s: %v, want an error naming %q", i+1, st.line, r, st.wantErr)
		}
	}
	want := []string{"SetAccount sip:carol@parlo.test sip:127.0.0.1:5060 tcp pw=true", "Register", "SetAccount direct"}
	var got []string
	for _, l := range phone.recorded() {
		if strings.HasPrefix(l, "SetAccount") || l == "Register" || l == "Unregister" {
			got = append(got, l)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("phone saw %q, want %q", got, want)
	}
	out.mu.Lock()
	leaked := strings.Contains(out.buf.String(), "pw-from-file")
	out.mu.Unlock()
	if leaked {
		t.Fatal("the password reached the output")
	}
}
