package audio

import "sync"

// deviceRingMs is how much audio a device ring holds; more than this and the
// oldest is dropped, bounding the latency a slow consumer can add.
const deviceRingMs = 200

// deviceStream is what a DeviceSource and a DeviceSink share: the ring
// where miniaudio's callback thread and the call's goroutine meet (neither
// ever waits on the other), the device, and an idempotent Close.
type deviceStream struct {
	ring      *pcmRing
	scratch   []int16 // used only on the device's callback thread
	dev       *device
	closeOnce sync.Once
	mu        sync.Mutex
	closed    bool
}

func newDeviceStream() deviceStream {
	return deviceStream{ring: newPCMRing(SampleRate * deviceRingMs / 1000)}
}

// scratchOf is the callback thread's buffer of n samples.
func (d *deviceStream) scratchOf(n int) []int16 {
	if cap(d.scratch) < n {
		d.scratch = make([]int16, n)
	}
	d.scratch = d.scratch[:n]
	return d.scratch
}

func (d *deviceStream) isClosed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closed
}

// Close stops and releases the device. It is idempotent.
func (d *deviceStream) Close() error {
	d.closeOnce.Do(func() {
		d.mu.Lock()
		d.closed = true
		d.mu.Unlock()
		if d.dev != nil {
			d.dev.close()
		}
	})
	return nil
}
