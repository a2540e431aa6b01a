package headless

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// MaxLineBytes is the longest stdin line accepted. A command is a few hundred
// bytes; a longer line is answered with an error and skipped, never buffered
// without bound.
const MaxLineBytes = 64 << 10

// lineReader splits stdin into lines of at most MaxLineBytes.
type lineReader struct {
	r *bufio.Reader
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 4096)}
}

// next returns the next line without its newline. A line that is too long
// is consumed up to its newline and reported as ErrLineTooLong. At the end
// of input a last line without newline is returned first, then io.EOF.
func (l *lineReader) next() ([]byte, error) {
	var line []byte
	tooLong := false
	for {
		chunk, err := l.r.ReadSlice('\n')
		if !tooLong {
			if len(line)+len(chunk) > MaxLineBytes+1 { // +1: the newline
				tooLong, line = true, nil
			} else {
				line = append(line, chunk...)
			}
		}
		switch {
		case err == nil:
			if tooLong {
				return nil, fmt.Errorf("%w: over %d bytes", ErrLineTooLong, MaxLineBytes)
			}
			return line[:len(line)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && (len(line) > 0 || tooLong):
			if tooLong {
				return nil, fmt.Errorf("%w: over %d bytes", ErrLineTooLong, MaxLineBytes)
			}
			return line, nil
		default:
			return nil, err
		}
	}
}
