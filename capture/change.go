package capture

import "bytes"

// DirtyRows is the span of rows [First, Last] that differ between two frames.
type DirtyRows struct {
	First, Last int
}

// DiffRows compares two frames of the same geometry row by row and reports
// whether anything changed and the first and last changed rows. It scans from
// the top to the first difference and from the bottom to the last one, so an
// unchanged frame costs one pass and a small change about one pass too.
// bytes.Equal compiles to the runtime's vectorised memequal, which beats a
// hand-written 64-bit word loop in Go.
func DiffRows(prev, cur []byte, stride, rowBytes, h int) (bool, DirtyRows) {
	first := -1
	for y := 0; y < h; y++ {
		o := y * stride
		if !bytes.Equal(prev[o:o+rowBytes], cur[o:o+rowBytes]) {
			first = y
			break
		}
	}
	if first < 0 {
		return false, DirtyRows{}
	}
	last := first
	for y := h - 1; y > first; y-- {
		o := y * stride
		if !bytes.Equal(prev[o:o+rowBytes], cur[o:o+rowBytes]) {
			last = y
			break
		}
	}
	return true, DirtyRows{First: first, Last: last}
}

// ChangeDetector remembers the previous frame of a capture and tells which
// rows of the next one changed. It keeps its own copy because grabbers reuse
// their buffer; only dirty rows are copied, so a static screen costs a compare
// and no copy.
type ChangeDetector struct {
	prev          []byte
	width, height int
	valid         bool
}

// Detect compares f to the previous frame and then remembers f. The first
// frame, and any frame after a size change, counts as fully changed.
func (d *ChangeDetector) Detect(f BGRAFrame) (bool, DirtyRows) {
	rowBytes := f.Width * 4
	if !d.valid || d.width != f.Width || d.height != f.Height {
		d.width, d.height, d.valid = f.Width, f.Height, true
		d.prev = make([]byte, rowBytes*f.Height)
		d.copyRows(f, 0, f.Height-1)
		return true, DirtyRows{First: 0, Last: f.Height - 1}
	}
	var changed bool
	var span DirtyRows
	if f.Stride == rowBytes {
		changed, span = DiffRows(d.prev, f.Pix, rowBytes, rowBytes, f.Height)
	} else {
		changed, span = diffStrided(d.prev, f, rowBytes)
	}
	if changed {
		d.copyRows(f, span.First, span.Last)
	}
	return changed, span
}

// Reset forgets the previous frame so the next one counts as fully changed.
func (d *ChangeDetector) Reset() { d.valid = false }

func (d *ChangeDetector) copyRows(f BGRAFrame, first, last int) {
	rowBytes := f.Width * 4
	if f.Stride == rowBytes {
		copy(d.prev[first*rowBytes:(last+1)*rowBytes], f.Pix[first*rowBytes:(last+1)*rowBytes])
		return
	}
	for y := first; y <= last; y++ {
		copy(d.prev[y*rowBytes:(y+1)*rowBytes], f.Pix[y*f.Stride:y*f.Stride+rowBytes])
	}
}

// diffStrided handles frames whose stride differs from the tight copy.
func diffStrided(prev []byte, f BGRAFrame, rowBytes int) (bool, DirtyRows) {
	first, last := -1, -1
	for y := 0; y < f.Height; y++ {
		if !bytes.Equal(prev[y*rowBytes:(y+1)*rowBytes], f.Pix[y*f.Stride:y*f.Stride+rowBytes]) {
			if first < 0 {
				first = y
			}
			last = y
		}
	}
	if first < 0 {
		return false, DirtyRows{}
	}
	return true, DirtyRows{First: first, Last: last}
}
