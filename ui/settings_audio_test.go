package ui

import (
	"image"
	"image/png"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/parlo-voip/parlo/callengine/audio"
)

// fakeDevices is a machine with two microphones and two speakers.
type fakeDevices struct {
	mu         sync.Mutex
	onNotice   func(audio.DeviceNotice)
	mic, spk   string
	processing audio.Processing
	sets       int
}

func (d *fakeDevices) List(kind audio.DeviceKind) ([]audio.DeviceInfo, error) {
	if kind == audio.Microphone {
		return []audio.DeviceInfo{{ID: "6d6963", Name: "Built-in Microphone", Default: true}, {ID: "68656164", Name: "USB Headset Microphone"}}, nil
	}
	return []audio.DeviceInfo{{ID: "73706b", Name: "Built-in Speakers", Default: true}, {ID: "6873", Name: "USB Headset"}}, nil
}

func (d *fakeDevices) SetDevices(mic, spk string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.mic, d.spk = mic, spk
	d.sets++
	return nil
}

func (d *fakeDevices) SetProcessing(p audio.Processing) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.processing = p
	return nil
}

func (d *fakeDevices) SetOnNotice(f func(audio.DeviceNotice)) {
	d.mu.Lock()
	d.onNotice = f
	d.mu.Unlock()
}

func (d *fakeDevices) MicLevel() float64                { return 0.1 }
func (d *fakeDevices) OpenInput() (audio.Source, error) { return audio.NewTone(440, 0.1), nil }
func (d *fakeDevices) OpenOutput() (audio.Sink, error)  { return audio.Null(), nil }

func TestSettingsAudioDevicesApplyLive(t *testing.T) {
	dev := &fakeDevices{}
	h := newHarness(t, newFakeEngine(), harnessOpts{desktop: desktopOptions{devices: dev}})
	h.w.openSettings()
	f := h.w.settingsForm
	if got := f.audioIn.Options; len(got) != 3 || got[0] != defaultDevice || got[2] != "USB Headset Microphone" {
		t.Fatalf("microphone choices %v", got)
	}
	if !f.echo.Checked || !f.noise.Checked || !f.gain.Checked {
		t.Fatal("processing is not on by default")
	}
	f.audioIn.SetSelected("USB Headset Microphone")
	f.audioOut.SetSelected("USB Headset")
	f.audioRing.SetSelected("Built-in Speakers")
	f.noise.SetChecked(false)
	h.w.saveSettings(f.settings())
	dev.mu.Lock()
	mic, spk, p := dev.mic, dev.spk, dev.processing
	dev.mu.Unlock()
	if mic != "68656164" || spk != "6873" {
		t.Errorf("engine devices mic %q speaker %q", mic, spk)
	}
	if p != (audio.Processing{EchoCancel: true, AutoGain: true}) {
		t.Errorf("engine processing %+v", p)
	}
	s, _ := LoadSettings(h.app.Preferences(), nil)
	if s.AudioIn != "68656164" || s.AudioRing != "73706b" || s.NoiseSuppress {
		t.Errorf("saved %+v", s)
	}
	// Reopened, the dialog shows the saved choice.
	h.w.openSettings()
	if got := h.w.settingsForm.audioIn.Selected; got != "USB Headset Microphone" {
		t.Errorf("reopened with microphone %q", got)
	}
}

// TestSettingsFitsTheWindow: at scale 1 and 2 the dialog, Save and Cancel
// included, lies inside the default window and the buttons do not cover
// the tabs. The Audio and Calls tabs' captures go to docs/screenshots with
// make screenshots.
func TestSettingsFitsTheWindow(t *testing.T) {
	dir := os.Getenv("PARLO_SCREENSHOTS_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	for _, scale := range []float32{1, 2} {
		t.Run(map[float32]string{1: "scale1", 2: "scale2"}[scale], func(t *testing.T) {
			h := newHarness(t, newFakeEngine(), harnessOpts{desktop: desktopOptions{devices: &fakeDevices{}}})
			h.w.win.Canvas().(test.WindowlessCanvas).SetScale(scale)
			h.w.win.Resize(fyne.NewSize(980, 640))
			h.w.openSettings()
			h.settle()
			var tabs *container.AppTabs
			var buttons []*widget.Button
			for _, o := range test.LaidOutObjects(h.w.win.Canvas().Overlays().Top()) {
				switch o := o.(type) {
				case *container.AppTabs:
					tabs = o
				case *widget.Button:
					if o.Text == "Save" || o.Text == "Cancel" {
						buttons = append(buttons, o)
					}
				}
			}
			if tabs == nil || len(buttons) != 2 {
				t.Fatalf("dialog has tabs %v, %d of Save/Cancel", tabs != nil, len(buttons))
			}
			drv := fyne.CurrentApp().Driver()
			win := h.w.win.Canvas().Size()
			// The Audio tab, and Calls with its recordings folder row.
			for _, tab := range []struct {
				index int
				name  string
			}{{1, "audio"}, {3, "calls"}} {
				tabs.SelectIndex(tab.index)
				h.settle()
				tp := drv.AbsolutePositionForObject(tabs)
				for _, b := range buttons {
					bp := drv.AbsolutePositionForObject(b)
					if bp.Y+b.Size().Height > win.Height || bp.X+b.Size().Width > win.Width || bp.X < 0 {
						t.Errorf("%s tab: %s at %v size %v is outside the %v window", tab.name, b.Text, bp, b.Size(), win)
					}
					if bp.Y < tp.Y+tabs.Size().Height {
						t.Errorf("%s tab: %s at y=%v covers the tabs (bottom at %v)", tab.name, b.Text, bp.Y, tp.Y+tabs.Size().Height)
					}
				}
				img := h.w.win.Canvas().Capture()
				checkNotBlank(t, img)
				writeScreenshot(t, filepath.Join(dir, "settings-"+tab.name+"-"+map[float32]string{1: "scale1", 2: "scale2"}[scale]+".png"), img)
			}
		})
	}
}

func TestUnpluggedDeviceIsShown(t *testing.T) {
	dev := &fakeDevices{}
	h := newHarness(t, newFakeEngine(), harnessOpts{desktop: desktopOptions{devices: dev}})
	dev.mu.Lock()
	on := dev.onNotice
	dev.mu.Unlock()
	if on == nil {
		t.Fatal("the window does not listen for device notices")
	}
	on(audio.DeviceNotice{Kind: audio.Speaker, Lost: "7061726c6f5f68656164736574", Err: audio.ErrNoDevice})
	h.waitFor("notice", func() bool {
		return h.w.action.label.Text == "The speaker parlo_headset is gone; using the system default speaker."
	})
}

// writeScreenshot saves img as a PNG at path.
func writeScreenshot(t *testing.T, path string, img image.Image) {
	t.Helper()
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if err := png.Encode(out, img); err != nil {
		t.Fatal(err)
	}
}
