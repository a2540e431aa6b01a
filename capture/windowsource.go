package capture

import (
	"bytes"
	"image"
	"time"
)

// tickWindow is the tick of a window share. The shared picture keeps the
// size the window had when the share started (the encoder and the
// receiver were set up for it). While the window has that size, its
// damage is followed as a monitor's is. Resized, the whole window is
// grabbed on each change and fitted into the picture: scaled down, never
// up (text stays sharp), centred, with black around it. A minimised window
// keeps its last picture; a closed one ends the share with ErrWindowGone.
func (s *Source) tickWindow(st *captureLoop, now time.Time) error {
	if now.Sub(st.lastCheck) >= s.opts.CheckInterval {
		st.lastCheck = now
		if err := s.win.Update(); err != nil {
			return err
		}
	}
	cw, ch, viewable := s.win.Size()
	if !viewable {
		if st.primed && s.refreshDue(st, now) {
			s.deliver(st, now, false, DirtyRows{})
		}
		return nil
	}
	ow, oh := s.mon.Width, s.mon.Height
	// The picture is the window's size rounded down to even: one column or
	// row more is cropped, not scaled.
	if s.dt != nil && cw-ow >= 0 && cw-ow <= 1 && ch-oh >= 0 && ch-oh <= 1 {
		if st.fitted {
			// Back to its own size after a resize: start over whole.
			st.fitted, st.primed = false, false
		}
		return s.tickDamage(st, now, image.Rect(0, 0, ow, oh))
	}
	grab := s.dt == nil || !st.primed || !st.fitted || cw != st.fitW || ch != st.fitH || s.refreshDue(st, now)
	if s.dt != nil {
		rects, err := s.dt.Damaged()
		if err != nil {
			return s.grabFailed(st, err)
		}
		grab = grab || len(rects) > 0
	}
	if !grab {
		return nil
	}
	gw, gh := cw, ch
	if cw-ow >= 0 && cw-ow <= 1 && ch-oh >= 0 && ch-oh <= 1 {
		gw, gh = ow, oh // polling at the started size: crop, as above
	}
	f, err := s.g.Grab(image.Rect(0, 0, gw, gh))
	if err != nil {
		return s.grabFailed(st, err)
	}
	st.failures = 0
	s.captured.Add(1)
	s.grabbedPixels.Add(uint64(f.Width * f.Height))
	if len(st.fit) != ow*oh*4 {
		st.fit = make([]byte, ow*oh*4)
	}
	fitBGRA(st.fit, ow, oh, f)
	if len(st.mirror) != ow*oh*4 {
		st.mirror = make([]byte, ow*oh*4)
		st.img.ensure(ow, oh)
	}
	first, last := -1, -1
	stride := ow * 4
	for y := 0; y < oh; y++ {
		src, dst := st.fit[y*stride:(y+1)*stride], st.mirror[y*stride:(y+1)*stride]
		if !st.primed || !bytes.Equal(src, dst) {
			copy(dst, src)
			if first < 0 {
				first = y
			}
			last = y
		}
	}
	st.primed, st.fitted, st.fitW, st.fitH = true, true, cw, ch
	changed := first >= 0
	if !changed {
		if !s.refreshDue(st, now) {
			s.skipped.Add(1)
			return nil
		}
		s.deliver(st, now, false, DirtyRows{})
		return nil
	}
	bgraToI420Rows(&st.img, st.mirror, stride, first, last+1)
	s.deliver(st, now, true, DirtyRows{First: first, Last: last})
	return nil
}

// fitBGRA draws f into dst (ow x oh, tight rows): scaled down by nearest
// neighbour to fit when larger, centred, black around it.
func fitBGRA(dst []byte, ow, oh int, f BGRAFrame) {
	scale := min(1, float64(ow)/float64(f.Width), float64(oh)/float64(f.Height))
	dw := max(1, min(ow, int(float64(f.Width)*scale+0.5)))
	dh := max(1, min(oh, int(float64(f.Height)*scale+0.5)))
	x0, y0 := (ow-dw)/2, (oh-dh)/2
	clear(dst)
	stride := ow * 4
	for y := 0; y < dh; y++ {
		sy := y * f.Height / dh
		srow := f.Pix[sy*f.Stride:]
		drow := dst[(y0+y)*stride+x0*4:]
		if dw == f.Width {
			copy(drow[:dw*4], srow[:dw*4])
			continue
		}
		for x := 0; x < dw; x++ {
			sx := x * f.Width / dw * 4
			copy(drow[x*4:x*4+4], srow[sx:sx+4])
		}
	}
}
