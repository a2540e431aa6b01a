package audio

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// wavReader streams integer or float PCM out of a RIFF/WAVE file and mixes it
// down to mono int16.
//
// It parses the RIFF chunks itself rather than through go-audio/wav's decoder
// because it must read recordings that other programs are still writing or
// never finalised (baresip's aufile writes the data chunk size only on close;
// a killed process leaves 0 there): a data size of 0, 0xFFFFFFFF or one past
// the end of the file means "read to EOF". It also accepts
// WAVE_FORMAT_EXTENSIBLE, which sox and ffmpeg write for some layouts.
type wavReader struct {
	r        *bufio.Reader
	rate     int
	channels int
	bits     int
	float    bool
	remain   int64 // bytes left in the data chunk; -1 = until EOF
	raw      []byte
}

const (
	wavFormatPCM        = 1
	wavFormatFloat      = 3
	wavFormatExtensible = 0xFFFE
)

func newWAVReader(f *os.File) (*wavReader, error) {
	var fileSize int64 = -1
	if st, err := f.Stat(); err == nil {
		fileSize = st.Size()
	}
	w := &wavReader{r: bufio.NewReaderSize(f, 64<<10)}
	var hdr [12]byte
	if _, err := io.ReadFull(w.r, hdr[:]); err != nil {
		return nil, fmt.Errorf("%w: short header: %w", ErrUnsupportedWAV, err)
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return nil, fmt.Errorf("%w: not a RIFF/WAVE file", ErrUnsupportedWAV)
	}
	pos := int64(12)
	haveFmt := false
	for {
		var ch [8]byte
		if _, err := io.ReadFull(w.r, ch[:]); err != nil {
			return nil, fmt.Errorf("%w: no data chunk: %w", ErrUnsupportedWAV, err)
		}
		pos += 8
		id := string(ch[0:4])
		size := int64(binary.LittleEndian.Uint32(ch[4:8]))
		switch id {
		case "fmt ":
			if size < 16 || size > 1024 {
				return nil, fmt.Errorf("%w: fmt chunk of %d bytes", ErrUnsupportedWAV, size)
			}
			body := make([]byte, size+size&1)
			if _, err := io.ReadFull(w.r, body); err != nil {
				return nil, fmt.Errorf("%w: fmt chunk: %w", ErrUnsupportedWAV, err)
			}
			pos += int64(len(body))
			format := binary.LittleEndian.Uint16(body[0:2])
			w.channels = int(binary.LittleEndian.Uint16(body[2:4]))
			w.rate = int(binary.LittleEndian.Uint32(body[4:8]))
			w.bits = int(binary.LittleEndian.Uint16(body[14:16]))
			if format == wavFormatExtensible && size >= 26 {
				// The sub-format GUID starts with the real format tag.
				format = binary.LittleEndian.Uint16(body[24:26])
			}
			switch {
			case format == wavFormatPCM && (w.bits == 8 || w.bits == 16 || w.bits == 24 || w.bits == 32):
			case format == wavFormatFloat && w.bits == 32:
				w.float = true
			default:
				return nil, fmt.Errorf("%w: format %#x with %d bits", ErrUnsupportedWAV, format, w.bits)
			}
			if w.channels < 1 || w.channels > 32 || w.rate < 1000 || w.rate > 768000 {
				return nil, fmt.Errorf("%w: %d channels at %d Hz", ErrUnsupportedWAV, w.channels, w.rate)
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, fmt.Errorf("%w: data before fmt", ErrUnsupportedWAV)
			}
			w.remain = size
			if size == 0 || size == 0xFFFFFFFF || (fileSize >= 0 && pos+size > fileSize) {
				w.remain = -1
			}
			return w, nil
		default:
			skip := size + size&1 // chunks are word aligned
			if _, err := io.CopyN(io.Discard, w.r, skip); err != nil {
				return nil, fmt.Errorf("%w: chunk %q: %w", ErrUnsupportedWAV, id, err)
			}
			pos += skip
		}
	}
}

// read decodes up to len(dst) mono samples into dst. It returns io.EOF when
// the data is exhausted and nothing was read.
func (w *wavReader) read(dst []int16) (int, error) {
	bytesPerSample := w.bits / 8
	frameBytes := bytesPerSample * w.channels
	want := len(dst) * frameBytes
	if w.remain >= 0 && int64(want) > w.remain {
		want = int(w.remain) / frameBytes * frameBytes
	}
	if want == 0 {
		return 0, io.EOF
	}
	if cap(w.raw) < want {
		w.raw = make([]byte, want)
	}
	raw := w.raw[:want]
	got, err := io.ReadFull(w.r, raw)
	got = got / frameBytes * frameBytes
	if got == 0 {
		if err == nil || err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		return 0, err
	}
	if w.remain >= 0 {
		w.remain -= int64(got)
	}
	n := got / frameBytes
	for i := range n {
		var sum float64
		frame := raw[i*frameBytes : (i+1)*frameBytes]
		for c := range w.channels {
			sum += w.sample(frame[c*bytesPerSample : (c+1)*bytesPerSample])
		}
		dst[i] = clamp16(sum / float64(w.channels) * 32768)
	}
	return n, nil
}

// sample decodes one little-endian sample to -1..1.
func (w *wavReader) sample(b []byte) float64 {
	switch {
	case w.float:
		v := float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))
		if math.IsNaN(v) {
			return 0
		}
		return v
	case w.bits == 8: // 8-bit WAV is unsigned
		return (float64(b[0]) - 128) / 128
	case w.bits == 16:
		return float64(int16(binary.LittleEndian.Uint16(b))) / 32768
	case w.bits == 24:
		v := int32(uint32(b[0])<<8|uint32(b[1])<<16|uint32(b[2])<<24) >> 8
		return float64(v) / (1 << 23)
	default:
		return float64(int32(binary.LittleEndian.Uint32(b))) / (1 << 31)
	}
}

// ReadWAV reads a whole WAV file (integer PCM of 8 to 32 bits or 32-bit
// float, any rate, any channel count) and returns it mixed down to mono
// int16 at the file's own rate. It is meant for checking recordings that
// other programs made, such as baresip's aufile.
func ReadWAV(path string) (pcm []int16, rate int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	w, err := newWAVReader(f)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	buf := make([]int16, 8192)
	for {
		n, err := w.read(buf)
		pcm = append(pcm, buf[:n]...)
		if errors.Is(err, io.EOF) {
			return pcm, w.rate, nil
		}
		if err != nil {
			return pcm, w.rate, fmt.Errorf("%s: %w", path, err)
		}
	}
}
