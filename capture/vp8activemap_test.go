//go:build cgo

package capture

import (
	"image"
	"image/color"
	"image/draw"
	"testing"
	"time"
)

// boxPicture is testPicture with filled boxes drawn on it, as BGRA.
func boxPicture(w, h int, boxes map[image.Rectangle]color.Color) *I420 {
	img := &image.RGBA{Pix: testPicture(w, h, 0), Stride: w * 4, Rect: image.Rect(0, 0, w, h)}
	for r, c := range boxes {
		// testPicture is BGRA; a grey box is the same either way round.
		draw.Draw(img, r, &image.Uniform{c}, image.Point{}, draw.Src)
	}
	f := NewI420(w, h)
	BGRAToI420(f, img.Pix, w*4, w, h)
	return f
}

// meanAbsY is the mean absolute difference of the Y planes inside r.
func meanAbsY(a, b *I420, r image.Rectangle) float64 {
	var sum, n float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			d := float64(a.Y[y*a.StrideY+x]) - float64(b.Y[y*b.StrideY+x])
			if d < 0 {
				d = -d
			}
			sum += d
			n++
		}
	}
	return sum / n
}

// TestVP8EncodeFrameActiveMap checks when EncodeFrame restricts libvpx to
// some macroblock rows. The tested picture has two changes but declares only
// the first (rows 96..109): where the map is applied the undeclared one (rows
// 192..205) must not reach the decoder, which proves libvpx skipped those
// macroblocks; wherever the encoder cannot trust the chain, or refines rows
// not yet settled, it must analyse them and the change must arrive.
func TestVP8EncodeFrameActiveMap(t *testing.T) {
	const w, h = 320, 240
	declared := image.Rect(40, 96, 120, 110)
	undeclared := image.Rect(160, 192, 240, 206)
	before := boxPicture(w, h, nil)
	after := boxPicture(w, h, map[image.Rectangle]color.Color{declared: color.Black, undeclared: color.White})
	dirty := DirtyRows{96, 109}
	passDue := func(e *VP8Encoder) { e.rows.lastPass = time.Now().Add(-2 * refineInterval) }
	for _, tc := range []struct {
		name       string
		refreshes  int    // refreshes of the first picture before the tested frame (each a refinement pass)
		seqDelta   uint64 // tested Seq minus the previous one
		force      bool
		beforeTest func(e *VP8Encoder)
		partial    bool
	}{
		{"next frame of the source", 2, 1, false, nil, true},
		{"gap in Seq", 2, 2, false, nil, false},
		{"forced keyframe", 2, 1, true, nil, false},
		{"requested keyframe", 2, 1, false, func(e *VP8Encoder) { e.RequestKeyframe() }, false},
		{"plain Encode in between", 2, 1, false, func(e *VP8Encoder) {
			if _, _, err := e.Encode(before, false); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"refinement pass, rows not settled", 2, 1, false, passDue, false},
		{"refinement pass, rows settled", settlePasses, 1, false, passDue, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enc, err := NewVP8Encoder(VP8Options{EncoderOptions: EncoderOptions{Width: w, Height: h, BitrateKbps: 2000, ScreenContent: true}, CPUUsed: 12})
			if err != nil {
				t.Fatal(err)
			}
			defer enc.Close()
			dec, err := NewVP8Decoder(1)
			if err != nil {
				t.Fatal(err)
			}
			defer dec.Close()
			out := &I420{}
			send := func(f Frame, force bool) {
				t.Helper()
				data, _, err := enc.EncodeFrame(f, force)
				if err != nil || len(data) == 0 {
					t.Fatalf("encode seq %d: %d bytes, %v", f.Seq, len(data), err)
				}
				if _, err := dec.DecodeInto(out, data); err != nil {
					t.Fatalf("decode seq %d: %v", f.Seq, err)
				}
			}
			send(Frame{Image: before, Seq: 0, Dirty: DirtyRows{0, h - 1}}, false)
			seq := uint64(0)
			for range tc.refreshes {
				seq++
				send(Frame{Image: before, Seq: seq, Refresh: true, Dirty: DirtyRows{0, h - 1}}, false)
			}
			if tc.beforeTest != nil {
				tc.beforeTest(enc)
			}
			partialBefore := enc.PartialFrames()
			send(Frame{Image: after, Seq: seq + tc.seqDelta, Dirty: dirty}, tc.force)

			if got := enc.PartialFrames() - partialBefore; got != map[bool]uint64{true: 1, false: 0}[tc.partial] {
				t.Errorf("partial frames = %d, want partial=%v", got, tc.partial)
			}
			if d := meanAbsY(out, after, declared); d > 12 {
				t.Errorf("declared change not decoded: mean |Y error| %.1f", d)
			}
			toAfter, toBefore := meanAbsY(out, after, undeclared), meanAbsY(out, before, undeclared)
			if tc.partial && toBefore > toAfter {
				t.Errorf("undeclared change encoded although its rows were inactive (|Δafter| %.1f, |Δbefore| %.1f)", toAfter, toBefore)
			}
			if !tc.partial && toAfter > 12 {
				t.Errorf("undeclared change missing after a full analysis: mean |Y error| %.1f", toAfter)
			}
		})
	}
}

// TestVP8EncodeFrameStaticRefresh sends a still picture refreshed once a
// "second" as the Source does: the first refreshes refine it, after
// settlePasses they analyse nothing and cost a few bytes, and the decoded
// picture keeps its quality (no drift from re-filtering the same pixels).
func TestVP8EncodeFrameStaticRefresh(t *testing.T) {
	const w, h = 640, 360
	enc, err := NewVP8Encoder(VP8Options{EncoderOptions: EncoderOptions{Width: w, Height: h, BitrateKbps: 2500, ScreenContent: true}, CPUUsed: 12})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	dec, err := NewVP8Decoder(1)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	pic := boxPicture(w, h, nil)
	out := &I420{}
	var sizes []int
	var psnrs []float64
	for seq := uint64(0); seq < 20; seq++ {
		data, _, err := enc.EncodeFrame(Frame{Image: pic, Seq: seq, Refresh: seq > 0, Dirty: DirtyRows{0, h - 1}}, false)
		if err != nil || len(data) == 0 {
			t.Fatalf("seq %d: %d bytes, %v", seq, len(data), err)
		}
		if _, err := dec.DecodeInto(out, data); err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(data))
		psnrs = append(psnrs, psnrY(pic, out))
	}
	t.Logf("sizes %v", sizes)
	t.Logf("PSNR %.1f", psnrs)
	if got, want := enc.PartialFrames(), uint64(20-1-settlePasses); got != want {
		t.Errorf("PartialFrames = %d, want %d (all refreshes after the first %d)", got, want, settlePasses)
	}
	settled := psnrs[settlePasses]
	for i, n := range sizes[settlePasses+1:] {
		if n > 200 { // 920 skipped macroblocks cost about 100 bytes
			t.Errorf("refresh %d of a settled picture is %d bytes", settlePasses+1+i, n)
		}
	}
	if last := psnrs[len(psnrs)-1]; last < settled-0.5 || last < 30 {
		t.Errorf("PSNR drifted from %.1f to %.1f dB over settled refreshes", settled, last)
	}
}

// TestVP8EncodeFrameTypingQuality types 40 glyphs, each frame declaring its
// own rows as the Source would: all frames after the first go out with an
// active map and the decoder ends up with the picture the sender has.
func TestVP8EncodeFrameTypingQuality(t *testing.T) {
	const w, h = 640, 360
	enc, err := NewVP8Encoder(VP8Options{EncoderOptions: EncoderOptions{Width: w, Height: h, BitrateKbps: 2500, ScreenContent: true}, CPUUsed: 12})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	dec, err := NewVP8Decoder(1)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	boxes := map[image.Rectangle]color.Color{}
	out := &I420{}
	var cur *I420
	const glyphs = 40
	for i := 0; i <= glyphs; i++ {
		dirty := DirtyRows{0, h - 1}
		if i > 0 {
			// Glyph i at line (i/10), column (i%10): 8x14 like a caret cell.
			r := image.Rect(50+(i%10)*9, 40+(i/10)*18, 58+(i%10)*9, 54+(i/10)*18)
			boxes[r] = color.Black
			dirty = DirtyRows{r.Min.Y, r.Max.Y - 1}
		}
		cur = boxPicture(w, h, boxes)
		data, _, err := enc.EncodeFrame(Frame{Image: cur, Seq: uint64(i), Dirty: dirty}, false)
		if err != nil || len(data) == 0 {
			t.Fatalf("glyph %d: %d bytes, %v", i, len(data), err)
		}
		if _, err := dec.DecodeInto(out, data); err != nil {
			t.Fatalf("decode glyph %d: %v", i, err)
		}
	}
	if got := enc.PartialFrames(); got < glyphs-2 {
		// Up to one full analysis a second may fall in the run.
		t.Errorf("PartialFrames = %d of %d", got, glyphs)
	}
	if p := psnrY(cur, out); p < 30 {
		t.Errorf("PSNR after typing %.1f dB, want > 30", p)
	} else {
		t.Logf("PSNR after typing %.1f dB", p)
	}
}
