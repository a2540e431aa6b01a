package assets

import (
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
)

// Sounds are Parlo's own tones (assets/internal/gensounds makes them):
// 48 kHz mono 16-bit WAV.
//
//go:embed sounds/*.wav
var soundFS embed.FS

// Sound names.
const (
	SoundRingtone = "ringtone"
	SoundRingback = "ringback"
	SoundHangup   = "hangup"
)

// ErrBadSound means an embedded sound is missing or not 48 kHz mono PCM16.
var ErrBadSound = errors.New("assets: bad sound")

// SoundPCM returns the samples of a named sound.
func SoundPCM(name string) ([]int16, error) {
	b, err := soundFS.ReadFile("sounds/" + name + ".wav")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadSound, err)
	}
	return decodeWAV(b)
}

// decodeWAV reads the canonical RIFF layout gensounds writes: fmt chunk of
// PCM, mono, 48 kHz, 16-bit, then data.
func decodeWAV(b []byte) ([]int16, error) {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, fmt.Errorf("%w: not RIFF/WAVE", ErrBadSound)
	}
	fmtOK := false
	for p := 12; p+8 <= len(b); {
		id, size := string(b[p:p+4]), int(binary.LittleEndian.Uint32(b[p+4:p+8]))
		body := b[p+8:]
		if size > len(body) {
			return nil, fmt.Errorf("%w: chunk %q overruns the file", ErrBadSound, id)
		}
		body = body[:size]
		switch id {
		case "fmt ":
			if size < 16 || binary.LittleEndian.Uint16(body[0:2]) != 1 || binary.LittleEndian.Uint16(body[2:4]) != 1 ||
				binary.LittleEndian.Uint32(body[4:8]) != 48000 || binary.LittleEndian.Uint16(body[14:16]) != 16 {
				return nil, fmt.Errorf("%w: want PCM mono 48 kHz 16-bit", ErrBadSound)
			}
			fmtOK = true
		case "data":
			if !fmtOK {
				return nil, fmt.Errorf("%w: data before fmt", ErrBadSound)
			}
			pcm := make([]int16, size/2)
			for i := range pcm {
				pcm[i] = int16(binary.LittleEndian.Uint16(body[2*i:]))
			}
			return pcm, nil
		}
		p += 8 + size + size&1
	}
	return nil, fmt.Errorf("%w: no data chunk", ErrBadSound)
}
