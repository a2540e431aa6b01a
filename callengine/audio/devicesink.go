package audio

import (
	"encoding/binary"

	"github.com/gen2brain/malgo"
)

// DeviceSink is a Sink playing to the default speaker.
type DeviceSink struct {
	deviceStream
}

// OpenDefaultOutput opens the system's default speaker as mono 48 kHz.
// WriteFrame queues into a ring buffer that the device's callback thread
// drains (playing silence when it runs dry), so it never waits on the
// hardware. On a machine without a usable playback device it returns an
// error wrapping ErrNoDevice.
func OpenDefaultOutput() (Sink, error) {
	return OpenOutputDevice("")
}

// OpenOutputDevice is OpenDefaultOutput on the speaker with id
// (DeviceInfo.ID; "" for the default), e.g. a separate ringing device.
func OpenOutputDevice(id string) (Sink, error) {
	s := newDeviceSink()
	dev, err := openDeviceID(malgo.Playback, id, 0, s.onData, nil)
	if err != nil {
		return nil, err
	}
	s.dev = dev
	return s, nil
}

func newDeviceSink() *DeviceSink {
	return &DeviceSink{deviceStream: newDeviceStream()}
}

// onData runs on miniaudio's thread and fills output with mono S16LE
// samples, silence where the ring ran dry.
func (s *DeviceSink) onData(output, _ []byte, frames uint32) {
	buf := s.scratchOf(min(int(frames), len(output)/2))
	got := s.ring.read(buf)
	clear(buf[got:])
	for i, v := range buf {
		binary.LittleEndian.PutUint16(output[2*i:], uint16(v))
	}
}

// WriteFrame queues frame for playback.
func (s *DeviceSink) WriteFrame(frame []int16) error {
	if s.isClosed() {
		return ErrClosed
	}
	s.ring.write(frame)
	return nil
}
