package bench

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/parlo-voip/parlo/capture"
)

func TestY4MRoundTripAndDirtyRows(t *testing.T) {
	const w, h = 6, 4
	var src bytes.Buffer
	src.WriteString("YUV4MPEG2 W6 H4 F30:1 Ip A1:1 C420jpeg XYSCSS=420JPEG\n")
	frame := func(fill byte, changeRow int) {
		src.WriteString("FRAME\n")
		y := bytes.Repeat([]byte{fill}, w*h)
		if changeRow >= 0 {
			y[changeRow*w+1] ^= 0xff
		}
		src.Write(y)
		src.Write(bytes.Repeat([]byte{128}, 2*(w/2)*(h/2)))
	}
	frame(10, -1)
	frame(10, -1)
	frame(10, 2)
	r, err := NewY4MReader(&src)
	if err != nil {
		t.Fatal(err)
	}
	if r.Width != w || r.Height != h || r.RateNum != 30 || r.RateD != 1 {
		t.Fatalf("header %+v", r)
	}
	var frames []*capture.I420
	for {
		f, err := r.Next(nil)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, f)
	}
	if len(frames) != 3 {
		t.Fatalf("%d frames", len(frames))
	}
	if changed, _ := dirtyI420(frames[0], frames[1]); changed {
		t.Error("identical frames reported changed")
	}
	if changed, span := dirtyI420(frames[1], frames[2]); !changed || span != (capture.DirtyRows{First: 2, Last: 2}) {
		t.Errorf("one changed row: %v %+v", changed, span)
	}
	if _, err := NewY4MReader(strings.NewReader("YUV4MPEG2 W6 H4 C444\n")); !errors.Is(err, ErrNotY4M) {
		t.Errorf("4:4:4 accepted: %v", err)
	}
}

func TestIVFWriterIsReadBack(t *testing.T) {
	var b bytes.Buffer
	v, err := NewIVFWriter(&b, 64, 48, 30, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range []int{100, 7} {
		if err := v.Write(make([]byte, n), uint64(i*5)); err != nil {
			t.Fatal(err)
		}
	}
	var c IVFCounter
	if err := c.Consume(&b); err != nil || c.Frames() != 2 || c.Bytes() != 107 {
		t.Fatalf("read back %d frames %d bytes: %v", c.Frames(), c.Bytes(), err)
	}
}

func TestSpread(t *testing.T) {
	tests := []struct {
		xs   []float64
		want string
	}{
		{nil, "—"},
		{[]float64{2}, "2.0"},
		{[]float64{3, 1, 2}, "2.0 [1.0–3.0]"},
	}
	for _, tc := range tests {
		if got := Spread(tc.xs, "%.1f"); got != tc.want {
			t.Errorf("Spread(%v) = %q, want %q", tc.xs, got, tc.want)
		}
	}
}
