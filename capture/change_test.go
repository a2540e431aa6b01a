package capture

import (
	"testing"
)

func TestDiffRows(t *testing.T) {
	const w, h = 37, 23
	stride := w * 4
	base := randomBGRA(w, h, stride, 3)
	for _, tc := range []struct {
		name    string
		edits   [][2]int // pixel (x, y) whose green byte is flipped
		changed bool
		span    DirtyRows
	}{
		{"no change", nil, false, DirtyRows{}},
		{"one pixel top-left", [][2]int{{0, 0}}, true, DirtyRows{0, 0}},
		{"one pixel bottom-right", [][2]int{{w - 1, h - 1}}, true, DirtyRows{h - 1, h - 1}},
		{"one pixel middle", [][2]int{{18, 11}}, true, DirtyRows{11, 11}},
		{"two rows apart", [][2]int{{5, 3}, {30, 17}}, true, DirtyRows{3, 17}},
		{"padding byte only", nil, false, DirtyRows{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cur := append([]byte(nil), base...)
			for _, e := range tc.edits {
				cur[e[1]*stride+e[0]*4+1] ^= 0x01
			}
			changed, span := DiffRows(base, cur, stride, w*4, h)
			if changed != tc.changed || span != tc.span {
				t.Errorf("DiffRows = %v %+v, want %v %+v", changed, span, tc.changed, tc.span)
			}
		})
	}
}

func TestChangeDetector(t *testing.T) {
	const w, h = 16, 10
	// A stride wider than the row exercises the strided path; padding bytes
	// must not count as changes.
	for _, stride := range []int{w * 4, w*4 + 8} {
		pix := randomBGRA(w, h, stride, 9)
		f := BGRAFrame{Pix: pix, Stride: stride, Width: w, Height: h}
		var d ChangeDetector
		if ok, span := d.Detect(f); !ok || span != (DirtyRows{0, h - 1}) {
			t.Fatalf("stride %d: first frame = %v %+v, want full", stride, ok, span)
		}
		if ok, _ := d.Detect(f); ok {
			t.Fatalf("stride %d: same frame reported changed", stride)
		}
		if stride > w*4 {
			pix[w*4+2] ^= 0xff // padding of row 0
			if ok, _ := d.Detect(f); ok {
				t.Fatalf("stride %d: padding change reported", stride)
			}
		}
		pix[4*stride+7*4] ^= 0xff
		if ok, span := d.Detect(f); !ok || span != (DirtyRows{4, 4}) {
			t.Fatalf("stride %d: one pixel = %v %+v", stride, ok, span)
		}
		// The detector copied the change: the same frame is now unchanged.
		if ok, _ := d.Detect(f); ok {
			t.Fatalf("stride %d: change not remembered", stride)
		}
		d.Reset()
		if ok, _ := d.Detect(f); !ok {
			t.Fatalf("stride %d: Reset ignored", stride)
		}
		if ok, _ := d.Detect(BGRAFrame{Pix: pix[:8*4*5], Stride: 8 * 4, Width: 8, Height: 5}); !ok {
			t.Fatalf("stride %d: size change not reported", stride)
		}
	}
}

func benchmarkDiff(b *testing.B, changeRow int) {
	b.Helper()
	w, h := 1920, 1080
	prev := randomBGRA(w, h, w*4, 1)
	cur := append([]byte(nil), prev...)
	if changeRow >= 0 {
		cur[changeRow*w*4+w*2] ^= 1
	}
	b.SetBytes(int64(len(cur)))
	for b.Loop() {
		DiffRows(prev, cur, w*4, w*4, h)
	}
}

func BenchmarkDiffRows_1080pStatic(b *testing.B)    { benchmarkDiff(b, -1) }
func BenchmarkDiffRows_1080pMidChange(b *testing.B) { benchmarkDiff(b, 540) }
func BenchmarkDiffRows_1080pTopChange(b *testing.B) { benchmarkDiff(b, 0) }
