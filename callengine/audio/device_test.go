package audio

import (
	"encoding/binary"
	"errors"
	"os"
	"slices"
	"testing"
	"time"
)

// machineHasSound reports whether this machine could have a default audio
// device: an ALSA card or a PulseAudio/PipeWire server.
func machineHasSound() bool {
	if _, err := os.Stat("/dev/snd"); err == nil {
		return true
	}
	if os.Getenv("PULSE_SERVER") != "" {
		return true
	}
	if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" {
		if _, err := os.Stat(dir + "/pulse/native"); err == nil {
			return true
		}
	}
	return false
}

// TestDefaultDevices: without a sound card (this machine, CI) opening must
// fail quickly with ErrNoDevice; with one it must open, not block in
// ReadFrame/WriteFrame, and close idempotently.
func TestDefaultDevices(t *testing.T) {
	hasSound := machineHasSound()
	frame := make([]int16, FrameSamples)
	for _, tc := range []struct {
		name string
		open func() (interface{ Close() error }, error)
		use  func(any) error
	}{
		{"input", func() (interface{ Close() error }, error) { return OpenDefaultInput() },
			func(d any) error { return d.(Source).ReadFrame(frame) }},
		{"output", func() (interface{ Close() error }, error) { return OpenDefaultOutput() },
			func(d any) error { return d.(Sink).WriteFrame(frame) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			dev, err := tc.open()
			took := time.Since(start)
			if took > deviceOpenTimeout+time.Second {
				t.Errorf("open took %v", took)
			}
			if !hasSound {
				if !errors.Is(err, ErrNoDevice) || dev != nil {
					t.Fatalf("no sound card here: got %v, %v; want nil, ErrNoDevice", dev, err)
				}
				t.Logf("failed cleanly in %v: %v", took, err)
				return
			}
			if err != nil {
				// A card may exist but be busy or unusable: still it must be
				// the sentinel.
				if !errors.Is(err, ErrNoDevice) {
					t.Fatalf("open: %v does not wrap ErrNoDevice", err)
				}
				t.Logf("sound hardware present but unusable: %v", err)
				return
			}
			for range 10 {
				s := time.Now()
				if err := tc.use(dev); err != nil {
					t.Fatal(err)
				}
				if d := time.Since(s); d > 50*time.Millisecond {
					t.Errorf("frame I/O blocked %v", d)
				}
			}
			if err := dev.Close(); err != nil {
				t.Fatal(err)
			}
			if err := dev.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			if err := tc.use(dev); !errors.Is(err, ErrClosed) {
				t.Errorf("use after Close = %v", err)
			}
		})
	}
}

// TestDeviceSourceBuffering drives the capture callback by hand: frames come
// out in order, underrun gives silence without losing what is buffered, and
// backlog beyond 40 ms is dropped.
func TestDeviceSourceBuffering(t *testing.T) {
	s := newDeviceSource()
	deliver := func(from, n int) { // device callback with samples from..from+n-1
		b := make([]byte, 2*n)
		for i := range n {
			binary.LittleEndian.PutUint16(b[2*i:], uint16(int16(from+i)))
		}
		s.onData(nil, b, uint32(n))
	}
	frame := make([]int16, FrameSamples)

	deliver(1, 480) // half a frame: underrun
	s.ReadFrame(frame)
	if RMS(frame) != 0 {
		t.Fatal("underrun did not give silence")
	}
	deliver(481, 480) // now a full frame
	s.ReadFrame(frame)
	if frame[0] != 1 || frame[FrameSamples-1] != 960 {
		t.Fatalf("frame = %d..%d, want 1..960", frame[0], frame[FrameSamples-1])
	}

	// 5 frames pile up (100 ms); a read keeps only the newest 3 (1 + 40 ms).
	for k := range 5 {
		deliver(1000+k*FrameSamples, FrameSamples)
	}
	s.ReadFrame(frame)
	if want := int16(1000 + 2*FrameSamples); frame[0] != want {
		t.Errorf("after backlog frame starts at %d, want %d", frame[0], want)
	}
	if got := s.ring.len(); got != 2*FrameSamples {
		t.Errorf("%d samples left buffered, want %d", got, 2*FrameSamples)
	}
	s.Close()
	s.Close()
	if err := s.ReadFrame(frame); !errors.Is(err, ErrClosed) {
		t.Errorf("ReadFrame after Close = %v", err)
	}
}

// TestDeviceSinkBuffering drives the playback callback by hand.
func TestDeviceSinkBuffering(t *testing.T) {
	s := newDeviceSink()
	tone := readFrames(t, NewTone(440, 0.5), 2)
	s.WriteFrame(tone[:FrameSamples])
	s.WriteFrame(tone[FrameSamples:])
	out := make([]byte, 2*3*FrameSamples) // device asks for 60 ms, we have 40
	s.onData(out, nil, 3*FrameSamples)
	for i := range 3 * FrameSamples {
		got := int16(binary.LittleEndian.Uint16(out[2*i:]))
		want := int16(0)
		if i < len(tone) {
			want = tone[i]
		}
		if got != want {
			t.Fatalf("output sample %d = %d, want %d", i, got, want)
		}
	}
	// Writes beyond the ring's 200 ms drop the oldest, never block.
	for range 20 {
		s.WriteFrame(tone[:FrameSamples])
	}
	if got := s.ring.len(); got != SampleRate*deviceRingMs/1000 {
		t.Errorf("ring holds %d samples", got)
	}
	s.Close()
	if err := s.WriteFrame(tone[:FrameSamples]); !errors.Is(err, ErrClosed) {
		t.Errorf("WriteFrame after Close = %v", err)
	}
}

func TestPCMRingWrap(t *testing.T) {
	r := newPCMRing(5)
	r.write([]int16{1, 2, 3})
	got := make([]int16, 2)
	r.read(got)
	r.write([]int16{4, 5, 6, 7}) // wraps; holds 3,4,5,6,7
	r.write([]int16{8})          // full: drops 3
	all := make([]int16, 10)
	n := r.read(all)
	if want := []int16{4, 5, 6, 7, 8}; !slices.Equal(all[:n], want) {
		t.Errorf("read %v, want %v", all[:n], want)
	}
	r.write([]int16{1, 2, 3, 4, 5, 6, 7}) // longer than capacity keeps the tail
	n = r.read(all)
	if want := []int16{3, 4, 5, 6, 7}; !slices.Equal(all[:n], want) {
		t.Errorf("read %v, want %v", all[:n], want)
	}
}

// TestOpenTimeout: a backend that hangs makes open fail with ErrNoDevice
// after the timeout, and whatever it opens later is released.
func TestOpenTimeout(t *testing.T) {
	unblock := make(chan struct{})
	released := make(chan int, 1)
	start := time.Now()
	_, err := openWithTimeout(50*time.Millisecond, "speaker",
		func() (int, error) { <-unblock; return 42, nil },
		func(v int) { released <- v })
	if !errors.Is(err, ErrNoDevice) {
		t.Fatalf("err = %v, want ErrNoDevice", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("gave up after %v", d)
	}
	close(unblock)
	select {
	case v := <-released:
		if v != 42 {
			t.Errorf("released %d", v)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("late-opened device never released")
	}

	// A quick open passes its result and error through.
	v, err := openWithTimeout(time.Second, "mic", func() (int, error) { return 7, nil }, func(int) { t.Error("released a delivered device") })
	if v != 7 || err != nil {
		t.Errorf("quick open = %d, %v", v, err)
	}
}
