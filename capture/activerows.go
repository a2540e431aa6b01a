package capture

import "time"

// refineInterval is how often EncodeFrame lets libvpx look again at rows
// that changed recently but not since: areas coded coarsely during a burst of
// changes (or by a size-capped keyframe) are refined while something small (a
// caret, a clock) keeps changing elsewhere. It matches the Source's default
// refresh, which asks for the same on a screen that does not change.
const refineInterval = time.Second

// settlePasses is how many refinement passes a macroblock row gets after its
// last change before it counts as settled and is no longer analysed. With
// screen-content mode and a static threshold of 1 libvpx re-codes whatever
// still differs from the source; on the test pictures the second pass already
// codes next to nothing, the third is margin.
const settlePasses = 3

// activeRows decides frame by frame which macroblock rows of a Source's
// frames libvpx has to analyse (VP8E_SET_ACTIVEMAP). It relies on the
// Source's promise that rows outside Frame.Dirty equal those of the previous
// frame, and only while the encoder's reference picture really is that
// previous frame: consecutive Seq, each encoded without error or drop.
type activeRows struct {
	passes   []uint8 // per macroblock row: refinement passes since its last change
	mask     []bool  // the plan of the current frame
	chained  bool    // the last frame was planned here and encoded
	lastSeq  uint64  // its Seq
	lastPass time.Time
}

func newActiveRows(mbRows int) *activeRows {
	return &activeRows{passes: make([]uint8, mbRows), mask: make([]bool, mbRows)}
}

// plan returns the rows to analyse for f (mask[r] for macroblock row r, valid
// until the next call), whether that is every row, and whether the frame is a
// refinement pass. It does not change the state: encoded does, once the
// outcome is known.
func (a *activeRows) plan(f Frame, forceKeyframe bool, now time.Time) (mask []bool, whole, pass bool) {
	if !a.chained || f.Seq != a.lastSeq+1 || forceKeyframe {
		for r := range a.mask {
			a.mask[r] = true
		}
		return a.mask, true, true
	}
	clear(a.mask)
	if !f.Refresh {
		// A refresh re-sends an unchanged picture: its Dirty (all rows)
		// says nothing about what changed.
		first, last := a.dirtyRows(f.Dirty)
		for r := first; r <= last; r++ {
			a.mask[r] = true
		}
	}
	pass = f.Refresh || now.Sub(a.lastPass) >= refineInterval
	if pass {
		for r, n := range a.passes {
			if n < settlePasses {
				a.mask[r] = true
			}
		}
	}
	whole = true
	for _, on := range a.mask {
		whole = whole && on
	}
	return a.mask, whole, pass
}

// dirtyRows maps a span of pixel rows to the macroblock rows it touches.
func (a *activeRows) dirtyRows(d DirtyRows) (first, last int) {
	n := len(a.passes)
	first = min(max(0, d.First/16), n-1)
	last = min(max(first, d.Last/16), n-1)
	return first, last
}

// encoded records what became of the frame just planned: ok is false when
// libvpx failed or dropped it, so that the next frame is analysed whole.
func (a *activeRows) encoded(f Frame, ok, keyframe, whole, pass bool, now time.Time) {
	if !ok {
		a.chained = false
		return
	}
	wasChained := a.chained && f.Seq == a.lastSeq+1
	a.chained, a.lastSeq = true, f.Seq
	if pass {
		a.lastPass = now
	}
	if keyframe || (whole && !wasChained) {
		// A keyframe is size-capped and a frame after a broken chain may
		// have changed anywhere: everything needs refining.
		clear(a.passes)
		return
	}
	var first, last = 0, -1
	if !f.Refresh {
		first, last = a.dirtyRows(f.Dirty)
	}
	for r := range a.passes {
		switch {
		case r >= first && r <= last:
			a.passes[r] = 0
		case pass && a.mask[r] && a.passes[r] < settlePasses:
			a.passes[r]++
		}
	}
}

// reset forgets the chain (the encoder was used without a Frame).
func (a *activeRows) reset() { a.chained = false }
