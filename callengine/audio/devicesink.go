package audio

import (
	"encoding/binary"
	"sync"

	"github.com/gen2brain/malgo"
)

// DeviceSink is a Sink playing to the default speaker.
type DeviceSink struct {
	ring      *pcmRing
	scratch   []int16 // used only on the device's callback thread
	dev       *device
	closeOnce sync.Once
	mu        sync.Mutex
	closed    bool
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
	return &DeviceSink{ring: newPCMRing(SampleRate * deviceRingMs / 1000)}
}

// onData runs on miniaudio's thread and fills output with mono S16LE
// samples, silence where the ring ran dry.
func (s *DeviceSink) onData(output, _ []byte, frames uint32) {
	n := min(int(frames), len(output)/2)
	if cap(s.scratch) < n {
		s.scratch = make([]int16, n)
	}
	s.scratch = s.scratch[:n]
	got := s.ring.read(s.scratch)
	clear(s.scratch[got:])
	for i, v := range s.scratch {
		binary.LittleEndian.PutUint16(output[2*i:], uint16(v))
	}
}

// WriteFrame queues frame for playback.
func (s *DeviceSink) WriteFrame(frame []int16) error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return ErrClosed
	}
	s.ring.write(frame)
	return nil
}

// Close stops and releases the device. It is idempotent.
func (s *DeviceSink) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		if s.dev != nil {
			s.dev.close()
		}
	})
	return nil
}
