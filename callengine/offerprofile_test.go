package callengine

import (
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/callengine/media/classic"
)

func TestOutgoingProfiles(t *testing.T) {
	uri := func(s string) sip.Uri {
		var u sip.Uri
		if err := sip.ParseUri(s, &u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	for _, tc := range []struct {
		name     string
		opts     Options
		to       string
		remember string // profile remembered for the destination
		want     []string
	}{
		{"direct default", Options{}, "sip:bob@127.0.0.1:5090", "", []string{"webrtc", "classic-sdes", "classic-plain"}},
		{"direct tls", Options{}, "sip:bob@127.0.0.1:5091;transport=tls", "", []string{"classic-sdes", "classic-plain", "webrtc"}},
		{"direct sips", Options{}, "sips:bob@example.org", "", []string{"classic-sdes", "classic-plain", "webrtc"}},
		{"optional", Options{SRTP: media.SRTPOptional}, "sip:bob@127.0.0.1", "", []string{"webrtc", "classic-sdes-optional", "classic-sdes"}},
		{"off", Options{SRTP: media.SRTPOff}, "sip:bob@127.0.0.1", "", []string{"webrtc", "classic-plain"}},
		{"explicit classic", Options{Media: "classic", SRTP: media.SRTPOptional}, "sip:bob@127.0.0.1", "", []string{"classic-sdes-optional", "classic-sdes"}},
		{"required", Options{SRTP: media.SRTPRequired}, "sip:bob@127.0.0.1", "", []string{"webrtc", "classic-sdes"}},
		{"explicit webrtc", Options{Media: "webrtc"}, "sip:bob@127.0.0.1", "", []string{"webrtc"}},
		{"udp account", Options{Account: &Account{URI: "sip:a@pbx.example", Registrar: "sip:pbx.example"}}, "sip:b@pbx.example", "", []string{"webrtc", "classic-sdes", "classic-plain"}},
		{"tls account", Options{Account: &Account{URI: "sip:a@pbx.example", Registrar: "sip:pbx.example;transport=tls"}}, "sip:b@pbx.example", "", []string{"classic-sdes", "classic-plain", "webrtc"}},
		{"wss account", Options{Account: &Account{URI: "sip:a@pbx.example", Registrar: "sip:pbx.example", Transport: "wss"}}, "sip:b@pbx.example", "", []string{"webrtc", "classic-sdes", "classic-plain"}},
		{"remembered first", Options{SRTP: media.SRTPOptional}, "sip:bob@127.0.0.1", "classic-sdes", []string{"classic-sdes", "webrtc", "classic-sdes-optional"}},
		{"remembered but not allowed", Options{SRTP: media.SRTPOff}, "sip:bob@127.0.0.1", "classic-sdes", []string{"webrtc", "classic-plain"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.opts
			o.ClassicMediaFactory = classic.New
			p := &Phone{opts: o, profiles: newProfileMemory("")}
			p.acct.Store(o.Account) // as NewPhone does
			to := uri(tc.to)
			if tc.remember != "" {
				pr, ok := parseOfferProfile(tc.remember)
				if !ok {
					t.Fatal(tc.remember)
				}
				if err := p.profiles.remember(profileKey(to), pr); err != nil {
					t.Fatal(err)
				}
			}
			var got []string
			for _, pr := range p.outgoingProfiles(to) {
				got = append(got, pr.String())
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("profiles %v, want %v", got, tc.want)
			}
		})
	}
}

func TestProfileMemoryFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sub", "profiles.json")
	pm := newProfileMemory(file)
	sdes, _ := parseOfferProfile("classic-sdes")
	webrtc, _ := parseOfferProfile("webrtc")
	for i := 0; i < maxRememberedProfiles+10; i++ {
		if err := pm.remember("u"+strconv.Itoa(i)+"@h", webrtc); err != nil {
			t.Fatal(err)
		}
	}
	if err := pm.remember("bob@h", sdes); err != nil {
		t.Fatal(err)
	}
	again := newProfileMemory(file)
	if got, ok := again.get("bob@h"); !ok || got != sdes {
		t.Fatalf("reloaded bob@h = %v %v, want classic-sdes", got, ok)
	}
	if _, ok := again.get("u0@h"); ok {
		t.Fatal("the oldest entry survived the cap")
	}
	if n := len(again.m); n != maxRememberedProfiles {
		t.Fatalf("%d entries, want the cap %d", n, maxRememberedProfiles)
	}
}
