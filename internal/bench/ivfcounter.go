package bench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
)

// ErrNotIVF is returned when a stream does not start with the IVF signature.
var ErrNotIVF = errors.New("bench: not an IVF stream")

// IVFCounter counts the frames and payload bytes of an IVF stream (the
// container libvpx's tools and `ffmpeg -f ivf` write: a 32-byte file header,
// then per frame a 12-byte header, a little-endian 32-bit size and a 64-bit
// timestamp, and the frame). It lets the harness sample an ffmpeg encoder's
// output at the same instants as its CPU time.
type IVFCounter struct {
	frames atomic.Uint64
	bytes  atomic.Uint64
}

// Frames and Bytes return the counts so far.
func (c *IVFCounter) Frames() uint64 { return c.frames.Load() }

// Bytes is the sum of frame payload sizes so far (headers excluded).
func (c *IVFCounter) Bytes() uint64 { return c.bytes.Load() }

// Consume reads r to its end, counting frames. It returns nil at a clean EOF
// between frames.
func (c *IVFCounter) Consume(r io.Reader) error {
	var hdr [32]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return fmt.Errorf("bench: IVF header: %w", err)
	}
	if string(hdr[:4]) != "DKIF" {
		return ErrNotIVF
	}
	var fh [12]byte
	for {
		if _, err := io.ReadFull(r, fh[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("bench: IVF frame header: %w", err)
		}
		n := binary.LittleEndian.Uint32(fh[:4])
		if _, err := io.CopyN(io.Discard, r, int64(n)); err != nil {
			return fmt.Errorf("bench: IVF frame of %d bytes: %w", n, err)
		}
		c.bytes.Add(uint64(n))
		c.frames.Add(1)
	}
}
