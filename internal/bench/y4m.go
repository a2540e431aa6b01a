package bench

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/parlo-voip/parlo/capture"
)

// ErrNotY4M is returned when a stream is not 4:2:0 YUV4MPEG2.
var ErrNotY4M = errors.New("bench: not a 4:2:0 YUV4MPEG2 stream")

// Y4MReader reads the frames of a YUV4MPEG2 file (the format `ffmpeg -f
// yuv4mpegpipe` writes): a header line "YUV4MPEG2 W… H… F…:… C420…", then
// per frame a "FRAME" line and the Y, U and V planes.
type Y4MReader struct {
	r              *bufio.Reader
	Width, Height  int
	RateNum, RateD int // frames per second = RateNum / RateD
}

// NewY4MReader parses the header.
func NewY4MReader(r io.Reader) (*Y4MReader, error) {
	y := &Y4MReader{r: bufio.NewReaderSize(r, 1<<20), RateNum: 30, RateD: 1}
	line, err := y.r.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotY4M, err)
	}
	f := strings.Fields(line)
	if len(f) == 0 || f[0] != "YUV4MPEG2" {
		return nil, ErrNotY4M
	}
	for _, p := range f[1:] {
		switch p[0] {
		case 'W':
			y.Width, _ = strconv.Atoi(p[1:])
		case 'H':
			y.Height, _ = strconv.Atoi(p[1:])
		case 'F':
			if n, d, ok := strings.Cut(p[1:], ":"); ok {
				y.RateNum, _ = strconv.Atoi(n)
				y.RateD, _ = strconv.Atoi(d)
			}
		case 'C':
			if !strings.HasPrefix(p, "C420") {
				return nil, fmt.Errorf("%w: colour space %s", ErrNotY4M, p)
			}
		}
	}
	if y.Width <= 0 || y.Height <= 0 || y.RateNum <= 0 || y.RateD <= 0 {
		return nil, fmt.Errorf("%w: header %q", ErrNotY4M, strings.TrimSpace(line))
	}
	return y, nil
}

// Next reads the next frame into dst (allocated when nil) and returns it;
// io.EOF after the last frame.
func (y *Y4MReader) Next(dst *capture.I420) (*capture.I420, error) {
	line, err := y.r.ReadString('\n')
	if err != nil {
		if errors.Is(err, io.EOF) && line == "" {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("bench: y4m frame header: %w", err)
	}
	if !strings.HasPrefix(line, "FRAME") {
		return nil, fmt.Errorf("%w: frame header %q", ErrNotY4M, line)
	}
	if dst == nil || dst.Width != y.Width || dst.Height != y.Height {
		dst = capture.NewI420(y.Width, y.Height)
	}
	cw, ch := (y.Width+1)/2, (y.Height+1)/2
	planes := []struct {
		p         []byte
		stride, w int
		h         int
	}{{dst.Y, dst.StrideY, y.Width, y.Height}, {dst.U, dst.StrideUV, cw, ch}, {dst.V, dst.StrideUV, cw, ch}}
	for _, pl := range planes {
		for row := range pl.h {
			if _, err := io.ReadFull(y.r, pl.p[row*pl.stride:row*pl.stride+pl.w]); err != nil {
				return nil, fmt.Errorf("bench: y4m plane: %w", err)
			}
		}
	}
	return dst, nil
}

// IVFWriter writes VP8 frames into an IVF file (see IVFCounter) with a time
// base of one source frame, so that a decoder places a frame sent after
// skipped ones at its source position.
type IVFWriter struct {
	w      io.Writer
	frames uint32
}

// NewIVFWriter writes the file header. The frame count field is left 0
// (ffmpeg and libvpx's tools read to the end of the file).
func NewIVFWriter(w io.Writer, width, height, rateNum, rateDen int) (*IVFWriter, error) {
	var h [32]byte
	copy(h[:4], "DKIF")
	binary.LittleEndian.PutUint16(h[4:], 0)
	binary.LittleEndian.PutUint16(h[6:], 32)
	copy(h[8:12], "VP80")
	binary.LittleEndian.PutUint16(h[12:], uint16(width))
	binary.LittleEndian.PutUint16(h[14:], uint16(height))
	binary.LittleEndian.PutUint32(h[16:], uint32(rateNum))
	binary.LittleEndian.PutUint32(h[20:], uint32(rateDen))
	if _, err := w.Write(h[:]); err != nil {
		return nil, err
	}
	return &IVFWriter{w: w}, nil
}

// Write appends one frame shown at source frame index pts.
func (v *IVFWriter) Write(frame []byte, pts uint64) error {
	var fh [12]byte
	binary.LittleEndian.PutUint32(fh[:4], uint32(len(frame)))
	binary.LittleEndian.PutUint64(fh[4:], pts)
	if _, err := v.w.Write(fh[:]); err != nil {
		return err
	}
	_, err := v.w.Write(frame)
	v.frames++
	return err
}

// dirtyI420 returns whether cur differs from prev and the span of luma rows
// that do (a chroma row counts for the two luma rows it covers), as
// capture.Source's change detection reports it for captured pictures.
func dirtyI420(prev, cur *capture.I420) (bool, capture.DirtyRows) {
	h := cur.Height
	rowDiffers := func(y int) bool {
		if string(prev.Y[y*prev.StrideY:y*prev.StrideY+cur.Width]) != string(cur.Y[y*cur.StrideY:y*cur.StrideY+cur.Width]) {
			return true
		}
		cy, cw := y/2, (cur.Width+1)/2
		return string(prev.U[cy*prev.StrideUV:cy*prev.StrideUV+cw]) != string(cur.U[cy*cur.StrideUV:cy*cur.StrideUV+cw]) ||
			string(prev.V[cy*prev.StrideUV:cy*prev.StrideUV+cw]) != string(cur.V[cy*cur.StrideUV:cy*cur.StrideUV+cw])
	}
	first := -1
	for y := 0; y < h; y++ {
		if rowDiffers(y) {
			first = y
			break
		}
	}
	if first < 0 {
		return false, capture.DirtyRows{}
	}
	last := first
	for y := h - 1; y > first; y-- {
		if rowDiffers(y) {
			last = y
			break
		}
	}
	return true, capture.DirtyRows{First: first, Last: last}
}
