package testpeers

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

func TestReadNetstring(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{in: `2:{},`, want: []string{`{}`}},
		{in: `2:{},3:abc,`, want: []string{`{}`, `abc`}},
		{in: `0:,`, want: []string{``}},
		{in: `3:abcd`, wantErr: true},         // no trailing comma
		{in: `x:abc,`, wantErr: true},         // bad length
		{in: `-1:,`, wantErr: true},           // negative length
		{in: `99999999999:a,`, wantErr: true}, // over the limit
		{in: `5:ab`, wantErr: true},           // truncated
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			r := bufio.NewReader(strings.NewReader(tc.in))
			var got []string
			var err error
			for {
				var p []byte
				p, err = readNetstring(r)
				if err != nil {
					break
				}
				got = append(got, string(p))
			}
			if tc.wantErr {
				// The loop only stops on an error; a malformed first frame
				// must not come out as data.
				if len(got) != 0 {
					t.Fatalf("got %q, want an error", got)
				}
				return
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("got %q, want %q (err %v)", got, tc.want, err)
			}
		})
	}
}

func TestNetstringRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	msgs := []string{`{"command":"dial","params":"sip:b@127.0.0.1:5060","token":"t1"}`, ``, `,:,`}
	for _, m := range msgs {
		if err := writeNetstring(&buf, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	r := bufio.NewReader(&buf)
	for _, m := range msgs {
		p, err := readNetstring(r)
		if err != nil || string(p) != m {
			t.Fatalf("read %q, %v; want %q", p, err, m)
		}
	}
}

// FuzzReadNetstring feeds arbitrary bytes, as a broken or hostile ctrl_tcp
// peer could send: the reader must return frames or errors, never panic or
// allocate beyond its limit.
func FuzzReadNetstring(f *testing.F) {
	for _, s := range []string{`2:{},`, `0:,`, `10:abc`, `:`, `1048577:`, `3:a,b,`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReader(bytes.NewReader(data))
		for range 64 {
			p, err := readNetstring(r)
			if err != nil {
				return
			}
			if len(p) > maxNetstring {
				t.Fatalf("frame of %d bytes over the limit", len(p))
			}
		}
	})
}
