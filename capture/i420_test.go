package capture

import (
	"bytes"
	"image"
	"math"
	"math/rand/v2"
	"testing"
)

// refI420 is the textbook float BT.601 limited-range conversion with 2x2
// chroma averaging (edge pixels replicated for odd sizes).
func refI420(src []byte, stride, w, h int) (y, u, v []float64) {
	px := func(x, yy int) (r, g, b float64) {
		x, yy = min(x, w-1), min(yy, h-1)
		i := yy*stride + x*4
		return float64(src[i+2]), float64(src[i+1]), float64(src[i])
	}
	y = make([]float64, w*h)
	for j := 0; j < h; j++ {
		for i := 0; i < w; i++ {
			r, g, b := px(i, j)
			y[j*w+i] = 16 + (65.481*r+128.553*g+24.966*b)/255
		}
	}
	cw, ch := (w+1)/2, (h+1)/2
	u, v = make([]float64, cw*ch), make([]float64, cw*ch)
	for j := 0; j < ch; j++ {
		for i := 0; i < cw; i++ {
			var r, g, b float64
			for _, d := range [][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
				rr, gg, bb := px(2*i+d[0], 2*j+d[1])
				r, g, b = r+rr/4, g+gg/4, b+bb/4
			}
			u[j*cw+i] = 128 + (-37.797*r-74.203*g+112*b)/255
			v[j*cw+i] = 128 + (112*r-93.786*g-18.214*b)/255
		}
	}
	return y, u, v
}

func maxAbsDiff(got []byte, want []float64) float64 {
	m := 0.0
	for i, w := range want {
		m = math.Max(m, math.Abs(float64(got[i])-w))
	}
	return m
}

func randomBGRA(w, h, stride int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, stride*h)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return b
}

// i420Converters are the implementations under test: the built-in one
// (libyuv by default) and the Go fallback, which must both stay within 2 of
// the float reference.
var i420Converters = []struct {
	name    string
	convert func(dst *I420, src []byte, stride, w, h int)
}{
	{I420Converter, BGRAToI420},
	{"go", BGRAToI420Go},
}

func TestBGRAToI420MatchesReference(t *testing.T) {
	for _, conv := range i420Converters {
		t.Run(conv.name, func(t *testing.T) { testBGRAToI420MatchesReference(t, conv.convert) })
	}
}

func testBGRAToI420MatchesReference(t *testing.T, convert func(dst *I420, src []byte, stride, w, h int)) {
	t.Helper()
	for _, tc := range []struct {
		name    string
		w, h    int
		padding int // extra bytes per row
	}{
		{"1x1", 1, 1, 0},
		{"2x2", 2, 2, 0},
		{"3x5 odd", 3, 5, 0},
		{"17x9 odd padded", 17, 9, 12},
		{"640x480", 640, 480, 0},
		{"1279x721 odd parallel", 1279, 721, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stride := tc.w*4 + tc.padding
			src := randomBGRA(tc.w, tc.h, stride, uint64(tc.w*tc.h))
			dst := &I420{}
			convert(dst, src, stride, tc.w, tc.h)
			if dst.Width != tc.w || dst.Height != tc.h || dst.StrideUV != (tc.w+1)/2 {
				t.Fatalf("geometry %dx%d uv stride %d", dst.Width, dst.Height, dst.StrideUV)
			}
			ry, ru, rv := refI420(src, stride, tc.w, tc.h)
			for _, p := range []struct {
				name string
				got  []byte
				want []float64
			}{{"Y", dst.Y, ry}, {"U", dst.U, ru}, {"V", dst.V, rv}} {
				d := maxAbsDiff(p.got, p.want)
				if d > 2 {
					t.Errorf("%s max abs error %.2f > 2", p.name, d)
				}
				t.Logf("%s max abs error %.2f", p.name, d)
			}
		})
	}
}

func TestBGRAToI420KnownColours(t *testing.T) {
	for _, tc := range []struct {
		name    string
		b, g, r byte
		y, u, v byte
	}{
		{"black", 0, 0, 0, 16, 128, 128},
		{"white", 255, 255, 255, 235, 128, 128},
		{"red", 0, 0, 255, 82, 90, 240},
		{"green", 0, 255, 0, 144, 54, 34},
		{"blue", 255, 0, 0, 41, 240, 110},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := make([]byte, 4*4*4)
			for i := 0; i < len(src); i += 4 {
				src[i], src[i+1], src[i+2] = tc.b, tc.g, tc.r
			}
			f := NewI420(4, 4)
			BGRAToI420(f, src, 16, 4, 4)
			near := func(a, b byte) bool { return a-b <= 1 || b-a <= 1 }
			if !near(f.Y[5], tc.y) || !near(f.U[1], tc.u) || !near(f.V[1], tc.v) {
				t.Errorf("got YUV %d/%d/%d, want %d/%d/%d", f.Y[5], f.U[1], f.V[1], tc.y, tc.u, tc.v)
			}
			// And back: ToRGBA restores the colour within rounding (libyuv's
			// 6-bit coefficients leave saturated blue up to 4 levels short).
			r, g, b, _ := f.ToRGBA().At(1, 1).RGBA()
			if d := max(absDiff(r>>8, tc.r), absDiff(g>>8, tc.g), absDiff(b>>8, tc.b)); d > 4 {
				t.Errorf("ToRGBA = %d/%d/%d, want %d/%d/%d", r>>8, g>>8, b>>8, tc.r, tc.g, tc.b)
			}
		})
	}
}

func absDiff(a uint32, b byte) uint32 {
	if a > uint32(b) {
		return a - uint32(b)
	}
	return uint32(b) - a
}

func TestI420ToImage(t *testing.T) {
	f := NewI420(5, 3)
	img := f.ToImage()
	if img.Bounds().Dx() != 5 || img.Bounds().Dy() != 3 || len(img.Cb) < img.COffset(4, 2)+1 {
		t.Fatalf("bad image %v", img.Bounds())
	}
	f.Y[0] = 99
	if img.Y[0] != 99 {
		t.Error("ToImage copied instead of wrapping")
	}
	c := f.Clone()
	c.Y[0] = 1
	if f.Y[0] != 99 {
		t.Error("Clone shares memory")
	}
}

// TestBGRAToI420RowsMatchesWhole checks the Source's partial conversion:
// converting only the changed rows over the previous picture gives exactly
// what converting the whole new picture gives, including spans that start or
// end on an odd row and spans touching the last (odd) row.
func TestBGRAToI420RowsMatchesWhole(t *testing.T) {
	const w, h = 37, 29
	stride := w*4 + 8
	for _, tc := range []struct {
		name        string
		first, last int // changed rows, inclusive
	}{
		{"one row", 10, 10},
		{"odd first", 3, 6},
		{"odd last", 4, 7},
		{"top", 0, 1},
		{"bottom odd height", 27, 28},
		{"all", 0, h - 1},
	} {
		for _, conv := range []struct {
			name string
			rows func(dst *I420, src []byte, stride, y0, y1 int)
		}{{I420Converter, bgraToI420Rows}, {"go", bgraToI420RowsGo}} {
			t.Run(tc.name+"/"+conv.name, func(t *testing.T) {
				before := randomBGRA(w, h, stride, 1)
				after := append([]byte(nil), before...)
				changed := randomBGRA(w, h, stride, 2)
				copy(after[tc.first*stride:(tc.last+1)*stride], changed[tc.first*stride:(tc.last+1)*stride])
				partial := NewI420(w, h)
				conv.rows(partial, before, stride, 0, h)
				conv.rows(partial, after, stride, tc.first, tc.last+1)
				whole := NewI420(w, h)
				conv.rows(whole, after, stride, 0, h)
				for _, p := range []struct {
					name      string
					got, want []byte
				}{{"Y", partial.Y, whole.Y}, {"U", partial.U, whole.U}, {"V", partial.V, whole.V}} {
					if !bytes.Equal(p.got, p.want) {
						t.Errorf("%s plane differs after converting rows %d..%d only", p.name, tc.first, tc.last)
					}
				}
			})
		}
	}
}

func benchmarkBGRAToI420(b *testing.B, rows func(dst *I420, src []byte, stride, y0, y1 int)) {
	b.Helper()
	w, h := 1920, 1080
	src := randomBGRA(w, h, w*4, 7)
	dst := NewI420(w, h)
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		rows(dst, src, w*4, 0, h)
	}
}

// BenchmarkBGRAToI420_1080p is the built-in converter (libyuv by default).
func BenchmarkBGRAToI420_1080p(b *testing.B) { benchmarkBGRAToI420(b, bgraToI420Rows) }

// BenchmarkBGRAToI420_1080pGo is the Go fallback on all cores.
func BenchmarkBGRAToI420_1080pGo(b *testing.B) { benchmarkBGRAToI420(b, bgraToI420RowsGo) }

// BenchmarkBGRAToI420_1080pGoSerial is the Go fallback on one core.
func BenchmarkBGRAToI420_1080pGoSerial(b *testing.B) {
	benchmarkBGRAToI420(b, func(dst *I420, src []byte, stride, y0, y1 int) { convertPairs(dst, src, stride, y0, y1) })
}

// The built-in I420→RGBA conversion (libyuv by default) and the Go one give
// the same picture within rounding (libyuv's 6-bit fixed point: up to 4
// levels on saturated colours), odd sizes included (the last chroma column
// and row cover one pixel).
func TestI420ToRGBAMatchesGo(t *testing.T) {
	for _, sz := range []struct{ w, h int }{{1920, 1080}, {33, 17}, {2, 2}} {
		f := NewI420(sz.w, sz.h)
		BGRAToI420(f, randomBGRA(sz.w, sz.h, sz.w*4, 3), sz.w*4, sz.w, sz.h)
		got := image.NewRGBA(image.Rect(0, 0, sz.w, sz.h))
		want := image.NewRGBA(got.Rect)
		i420ToRGBA(got, f)
		i420ToRGBAGo(want, f)
		var worst int
		for i := range got.Pix {
			worst = max(worst, int(absDiff(uint32(got.Pix[i]), want.Pix[i])))
		}
		if worst > 4 {
			t.Errorf("%dx%d: %s and Go differ by up to %d levels", sz.w, sz.h, I420Converter, worst)
		}
	}
}

func benchmarkI420ToRGBA(b *testing.B, conv func(*image.RGBA, *I420)) {
	b.Helper()
	w, h := 1920, 1080
	f := NewI420(w, h)
	BGRAToI420(f, randomBGRA(w, h, w*4, 7), w*4, w, h)
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	b.SetBytes(int64(len(img.Pix)))
	for b.Loop() {
		conv(img, f)
	}
}

// BenchmarkI420ToRGBA_1080p is the receiving window's conversion of each
// shown frame (libyuv by default).
func BenchmarkI420ToRGBA_1080p(b *testing.B) { benchmarkI420ToRGBA(b, i420ToRGBA) }

// BenchmarkI420ToRGBA_1080pGo is the Go fallback.
func BenchmarkI420ToRGBA_1080pGo(b *testing.B) { benchmarkI420ToRGBA(b, i420ToRGBAGo) }

func TestFitSize(t *testing.T) {
	for _, tc := range []struct{ w, h, maxW, maxH, wantW, wantH int }{
		{1920, 1080, 1190, 670, 1190, 668},   // the bench's fit view, 0.62×
		{1920, 1080, 1920, 1080, 1920, 1080}, // fits: unchanged
		{1280, 720, 1920, 1080, 1280, 720},   // smaller than the view: never scaled up
		{1920, 1080, 800, 800, 800, 450},     // width-bound
		{1080, 1920, 800, 800, 450, 800},     // height-bound
		{1920, 1080, 0, 0, 1920, 1080},       // no bound: full size
		{1921, 1081, 961, 2000, 960, 540},    // odd sizes round to even
		{64, 64, 1, 1, 2, 2},                 // never below 2x2
	} {
		if w, h := fitSize(tc.w, tc.h, tc.maxW, tc.maxH); w != tc.wantW || h != tc.wantH {
			t.Errorf("fitSize(%dx%d into %dx%d) = %dx%d, want %dx%d", tc.w, tc.h, tc.maxW, tc.maxH, w, h, tc.wantW, tc.wantH)
		}
	}
}

// ToRGBAFit shrinks with the aspect kept and keeps the picture: a flat
// colour stays that colour, and at full size it is ToRGBA.
func TestToRGBAFit(t *testing.T) {
	w, h := 1920, 1080
	src := make([]byte, w*h*4)
	for i := 0; i < len(src); i += 4 {
		src[i], src[i+1], src[i+2] = 40, 160, 220 // B, G, R
	}
	f := NewI420(w, h)
	BGRAToI420(f, src, w*4, w, h)
	img := f.ToRGBAFit(1190, 670, nil)
	wantW, wantH := 1190, 668
	if I420Converter != "libyuv" {
		wantW, wantH = w, h // no scaler built in: full size
	}
	if b := img.Bounds(); b.Dx() != wantW || b.Dy() != wantH {
		t.Fatalf("fit picture %dx%d, want %dx%d", b.Dx(), b.Dy(), wantW, wantH)
	}
	r, g, b, _ := img.At(wantW/2, wantH/2).RGBA()
	if d := max(absDiff(r>>8, 220), absDiff(g>>8, 160), absDiff(b>>8, 40)); d > 4 {
		t.Errorf("fit picture colour %d/%d/%d, want 220/160/40", r>>8, g>>8, b>>8)
	}
	if full := f.ToRGBAFit(0, 0, nil); full.Bounds().Dx() != w {
		t.Errorf("no bound gave width %d, want %d", full.Bounds().Dx(), w)
	}
}

// BenchmarkI420ToRGBAFit_1080p is the receiving window's work per frame in
// its fit view at the bench's window (1080p shown at 0.62×).
func BenchmarkI420ToRGBAFit_1080p(b *testing.B) {
	w, h := 1920, 1080
	f := NewI420(w, h)
	BGRAToI420(f, randomBGRA(w, h, w*4, 7), w*4, w, h)
	scratch := &I420{}
	for b.Loop() {
		_ = f.ToRGBAFit(1190, 670, scratch)
	}
}
