package ui

import (
	"context"
	"testing"

	"github.com/parlo-voip/parlo/callengine"
)

// SetAccount makes the fake engine an AccountSwitcher: it records the
// account and, like the real one, reports un-registration then
// registration.
func (f *fakeEngine) SetAccount(_ context.Context, a *callengine.Account) error {
	if a == nil {
		f.record("SetAccount direct")
		f.emit(callengine.EventUnregistered, "", nil)
		return nil
	}
	f.record("SetAccount %s %s pw=%v", a.URI, a.Registrar, a.Password != "")
	f.emit(callengine.EventUnregistered, "", nil)
	f.emit(callengine.EventRegistered, "", callengine.RegisteredPayload{Expires: 300})
	return nil
}

func TestSettingsAccountChangeReRegistersLive(t *testing.T) {
	eng := newFakeEngine()
	h := newHarness(t, eng, harnessOpts{})
	base := Settings{Transport: "udp", ShareFPS: 15, EchoCancel: true, NoiseSuppress: true, AutoGain: true}

	// Not an account change: the engine is not asked to re-register.
	h.w.saveSettings(base)
	h.settle()
	for _, l := range eng.logged() {
		if len(l) >= 10 && l[:10] == "SetAccount" {
			t.Fatalf("settings without an account change called %q", l)
		}
	}

	for _, tc := range []struct {
		name string
		uri  string
		want string
	}{
		{"add", "sip:alice@parlo.test", "SetAccount sip:alice@parlo.test sip:127.0.0.1:5060 pw=true"},
		{"switch", "sip:carol@parlo.test", "SetAccount sip:carol@parlo.test sip:127.0.0.1:5060 pw=true"},
		{"remove", "", "SetAccount direct"},
	} {
		s := base
		s.AccountURI, s.Password, s.Registrar = tc.uri, "pw", "sip:127.0.0.1:5060"
		h.w.saveSettings(s)
		h.waitFor(tc.name+": "+tc.want, func() bool { return eng.has(tc.want) })
		if tc.uri != "" {
			h.waitFor(tc.name+": registered status", func() bool {
				return h.w.regStatus == "Registered as "+tc.uri
			})
		}
	}
}
