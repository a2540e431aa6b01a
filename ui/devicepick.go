package ui

import (
	"github.com/parlo-voip/parlo/callengine/audio"

	"fyne.io/fyne/v2/widget"
)

// AudioDevices is what Settings needs of the phone's sound devices
// (*audio.VoiceIO plus the system's device lists).
type AudioDevices interface {
	List(kind audio.DeviceKind) ([]audio.DeviceInfo, error)
	SetDevices(mic, speaker string) error
	SetProcessing(audio.Processing) error
	MicLevel() float64
	OpenInput() (audio.Source, error)
	OpenOutput() (audio.Sink, error)
}

// SystemDevices is AudioDevices on a VoiceIO and the system's lists.
type SystemDevices struct{ *audio.VoiceIO }

// List asks the sound system.
func (SystemDevices) List(kind audio.DeviceKind) ([]audio.DeviceInfo, error) {
	return audio.ListDevices(kind)
}

// deviceSelect is a drop-down of devices by name, "System default" first,
// that answers with the chosen device's ID.
type deviceSelect struct {
	*widget.Select
	ids map[string]string // name shown -> ID
}

func newDeviceSelect(list []audio.DeviceInfo, current string) *deviceSelect {
	d := &deviceSelect{ids: map[string]string{defaultDevice: ""}}
	names := []string{defaultDevice}
	selected := defaultDevice
	for _, dev := range list {
		name := dev.Name
		if _, dup := d.ids[name]; dup || name == "" {
			name = dev.Name + " (" + dev.BackendName() + ")"
		}
		d.ids[name] = dev.ID
		names = append(names, name)
		if dev.ID == current {
			selected = name
		}
	}
	if current != "" && selected == defaultDevice {
		// A saved device that is not plugged in now: keep it chosen, so
		// saving other settings does not forget it.
		name := "Unavailable device (" + (audio.DeviceInfo{ID: current}).BackendName() + ")"
		d.ids[name] = current
		names = append(names, name)
		selected = name
	}
	d.Select = widget.NewSelect(names, nil)
	d.SetSelected(selected)
	return d
}

// id is the chosen device's ID ("" = system default).
func (d *deviceSelect) id() string { return d.ids[d.Selected] }
