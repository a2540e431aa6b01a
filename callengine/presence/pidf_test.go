package presence

import (
	"errors"
	"testing"
)

func TestPIDFRoundTrip(t *testing.T) {
	for _, st := range []Status{StatusAvailable, StatusOnThePhone, StatusBusy, StatusAway, StatusDND, StatusOffline} {
		t.Run(string(st), func(t *testing.T) {
			body := BuildPIDF(`sip:1001@parlo.test"><x`, st, "note <&>")
			pr, err := ParsePIDF(body)
			if err != nil {
				t.Fatalf("%v\n%s", err, body)
			}
			if pr.Status != st || pr.Entity != `sip:1001@parlo.test"><x` || pr.Note != "note <&>" {
				t.Errorf("got %+v\n%s", pr, body)
			}
		})
	}
}

func TestParsePIDF(t *testing.T) {
	tests := []struct {
		name string
		body string
		want Status
		err  error
	}{
		// As Linphone and Kamailio's pua write it: other prefixes.
		{"rpid prefixed on-the-phone", `<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:r="urn:ietf:params:xml:ns:pidf:rpid" xmlns:p="urn:ietf:params:xml:ns:pidf:data-model" entity="sip:a@b"><tuple id="t"><status><basic>open</basic></status></tuple><p:person id="x"><r:activities><r:on-the-phone/></r:activities></p:person></presence>`, StatusOnThePhone, nil},
		{"closed", `<presence entity="sip:a@b"><tuple id="t"><status><basic>closed</basic></status></tuple></presence>`, StatusOffline, nil},
		{"no tuple", `<presence entity="sip:a@b"/>`, StatusOffline, nil},
		{"open", `<presence entity="sip:a@b"><tuple id="t"><status><basic> OPEN </basic></status></tuple></presence>`, StatusAvailable, nil},
		{"not pidf", `<dialog-info/>`, "", ErrMalformed},
		{"garbage", `<presence><tuple>`, "", ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pr, err := ParsePIDF([]byte(tt.body))
			if !errors.Is(err, tt.err) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			if err == nil && pr.Status != tt.want {
				t.Errorf("status %s, want %s", pr.Status, tt.want)
			}
		})
	}
}

func FuzzParsePIDF(f *testing.F) {
	f.Add(BuildPIDF("sip:a@b", StatusOnThePhone, "in a call"))
	f.Add(BuildPIDF("sip:a@b", StatusDND, ""))
	f.Add([]byte(`<presence entity="sip:a@b"><tuple id="t"><status><basic>open</basic></status></tuple></presence>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		pr, err := ParsePIDF(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unwrapped error %v", err)
			}
			return
		}
		if pr.Status == "" || len(pr.Note) > maxText || len(pr.Entity) > maxText {
			t.Fatalf("bad result %+v", pr)
		}
	})
}
