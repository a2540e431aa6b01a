package audio

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/gen2brain/malgo"
)

// DeviceInfo names one microphone or speaker the system offers.
type DeviceInfo struct {
	// ID is the backend's identifier in miniaudio's hex form; it is what
	// Settings stores. "" means the system default.
	ID string
	// Name is the human name ("Built-in Audio Analog Stereo").
	Name string
	// Default is true for the system's current default device.
	Default bool
}

// BackendName is the backend's own name for the device: the PulseAudio
// sink or source name, the ALSA hw string. miniaudio keeps it as a
// NUL-terminated string in the ID for those backends.
func (d DeviceInfo) BackendName() string {
	b, err := hex.DecodeString(d.ID)
	if err != nil {
		return ""
	}
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// DeviceKind is a microphone (Capture) or a speaker (Playback).
type DeviceKind int

const (
	// Microphone is a capture device.
	Microphone DeviceKind = iota
	// Speaker is a playback device.
	Speaker
)

// String names the kind.
func (k DeviceKind) String() string {
	if k == Microphone {
		return "microphone"
	}
	return "speaker"
}

func (k DeviceKind) malgo() malgo.DeviceType {
	if k == Microphone {
		return malgo.Capture
	}
	return malgo.Playback
}

// ListDevices asks the sound system for its devices of kind. On a machine
// without a sound system it returns an error wrapping ErrNoDevice.
func ListDevices(kind DeviceKind) ([]DeviceInfo, error) {
	return openWithTimeout(deviceOpenTimeout, "device list", func() ([]DeviceInfo, error) {
		ctx, err := malgo.InitContext(deviceBackends(), malgo.ContextConfig{}, nil)
		if err != nil {
			return nil, fmt.Errorf("%w: no audio backend: %w", ErrNoDevice, err)
		}
		defer freeContext(ctx)
		infos, err := ctx.Devices(kind.malgo())
		if err != nil {
			return nil, fmt.Errorf("%w: listing %ss: %w", ErrNoDevice, kind, err)
		}
		out := make([]DeviceInfo, 0, len(infos))
		for _, in := range infos {
			out = append(out, DeviceInfo{ID: in.ID.String(), Name: in.Name(), Default: in.IsDefault != 0})
		}
		return out, nil
	}, func([]DeviceInfo) {})
}

// FindDevice returns the device of kind whose backend name (the PulseAudio
// sink or source name, the ALSA hw string) is backendName, or an error
// wrapping ErrNoDevice.
func FindDevice(kind DeviceKind, backendName string) (DeviceInfo, error) {
	list, err := ListDevices(kind)
	if err != nil {
		return DeviceInfo{}, err
	}
	for _, d := range list {
		if d.BackendName() == backendName {
			return d, nil
		}
	}
	return DeviceInfo{}, fmt.Errorf("%w: no %s %q", ErrNoDevice, kind, backendName)
}

// parseDeviceID turns a DeviceInfo.ID back into miniaudio's form.
func parseDeviceID(id string) (malgo.DeviceID, error) {
	var d malgo.DeviceID
	b, err := hex.DecodeString(id)
	if err != nil || len(b) > len(d) {
		return d, fmt.Errorf("%w: bad device id %q", ErrNoDevice, id)
	}
	copy(d[:], b)
	return d, nil
}
