package audio

import (
	"encoding/binary"

	"github.com/gen2brain/malgo"
)

// maxInputBacklog is how much captured audio beyond the frame being read
// ReadFrame keeps (40 ms): enough to absorb the device's period jitter.
const maxInputBacklog = 2 * FrameSamples

// DeviceSource is a Source reading the default microphone.
type DeviceSource struct {
	deviceStream
}

// OpenDefaultInput opens the system's default microphone as mono 48 kHz.
// The device's callback thread fills a ring buffer; ReadFrame takes a frame
// from it, or returns silence when a full frame has not arrived yet, so it
// never waits on the hardware. On a machine without a usable capture device
// it returns an error wrapping ErrNoDevice.
func OpenDefaultInput() (Source, error) {
	s := newDeviceSource()
	dev, err := openDevice(malgo.Capture, s.onData)
	if err != nil {
		return nil, err
	}
	s.dev = dev
	return s, nil
}

func newDeviceSource() *DeviceSource {
	return &DeviceSource{deviceStream: newDeviceStream()}
}

// onData runs on miniaudio's thread with captured mono S16LE samples.
func (s *DeviceSource) onData(_, input []byte, frames uint32) {
	buf := s.scratchOf(min(int(frames), len(input)/2))
	for i := range buf {
		buf[i] = int16(binary.LittleEndian.Uint16(input[2*i:]))
	}
	s.ring.write(buf)
}

// ReadFrame fills frame with captured audio, or silence on underrun.
func (s *DeviceSource) ReadFrame(frame []int16) error {
	if s.isClosed() {
		return ErrClosed
	}
	// Capture that piled up (the caller started late or stalled) is old
	// news on a call: keep at most maxInputBacklog so mouth-to-ear delay
	// stays bounded.
	s.ring.trim(len(frame) + maxInputBacklog)
	if !s.ring.readFull(frame) {
		clear(frame)
	}
	return nil
}
