package audio_test

import (
	"math"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/parlo-voip/parlo/callengine/audio"
	"github.com/parlo-voip/parlo/internal/testpeers"
)

func backendNames(t *testing.T, kind audio.DeviceKind) []string {
	t.Helper()
	list, err := audio.ListDevices(kind)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range list {
		names = append(names, d.BackendName())
	}
	sort.Strings(names)
	return names
}

func TestListDevicesMatchesPulse(t *testing.T) {
	pa := testpeers.StartPulse(t)
	t.Setenv("PULSE_SERVER", pa.Server())
	for _, tc := range []struct {
		kind audio.DeviceKind
		want []string
	}{
		{audio.Speaker, pa.Sinks(t)},
		{audio.Microphone, pa.Sources(t)},
	} {
		sort.Strings(tc.want)
		if got := backendNames(t, tc.kind); !slices.Equal(got, tc.want) {
			t.Errorf("%ss: Parlo lists %v, pactl %v", tc.kind, got, tc.want)
		}
	}
	list, _ := audio.ListDevices(audio.Speaker)
	for _, d := range list {
		if d.Default != (d.BackendName() == testpeers.SinkSpeaker) {
			t.Errorf("%s default=%v", d.BackendName(), d.Default)
		}
	}
}

// playing plays a tone into a VoiceIO output, one frame per 20 ms, until
// the test ends.
func playing(t *testing.T, out audio.Sink, hz float64) {
	t.Helper()
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tone := audio.NewTone(hz, 0.3)
		f := make([]int16, audio.FrameSamples)
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-done:
				return
			case <-tk.C:
			}
			tone.ReadFrame(f)
			out.WriteFrame(f)
		}
	}()
	t.Cleanup(func() { close(done); <-stopped })
}

// waitHears waits until rec's last 400 ms carry hz (or, with hz 0, near
// silence).
func waitHears(t *testing.T, rec *testpeers.PulseRecording, name string, hz float64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var f, rms float64
	for time.Now().Before(deadline) {
		pcm := rec.Last(400 * time.Millisecond)
		f, _ = audio.DominantFrequency(pcm, audio.SampleRate)
		rms = audio.RMS(pcm)
		if hz == 0 && len(pcm) > 0 && rms < 0.003 {
			return
		}
		if hz != 0 && math.Abs(f-hz) < 15 && rms > 0.1 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	if hz == 0 {
		t.Fatalf("%s still plays: %.0f Hz at rms %.3f", name, f, rms)
	}
	t.Fatalf("%s does not play %.0f Hz: heard %.0f Hz at rms %.3f", name, hz, f, rms)
}

func TestVoiceIOSwitchesSpeakerLive(t *testing.T) {
	pa := testpeers.StartPulse(t)
	t.Setenv("PULSE_SERVER", pa.Server())
	spk := pa.Record(t, testpeers.SinkSpeaker+".monitor")
	headset := pa.Record(t, testpeers.SinkSpeaker2+".monitor")
	v := audio.NewVoiceIO(audio.VoiceIOOptions{})
	defer v.Close()
	out, err := v.OpenOutput()
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	playing(t, out, 440)
	waitHears(t, spk, "the default speaker", 440, 10*time.Second)
	waitHears(t, headset, "the headset", 0, 5*time.Second)

	idDev, err := audio.FindDevice(audio.Speaker, testpeers.SinkSpeaker2)
	if err != nil {
		t.Fatal(err)
	}
	id := idDev.ID
	if err := v.SetDevices("", id); err != nil {
		t.Fatal(err)
	}
	waitHears(t, headset, "the headset", 440, 10*time.Second)
	waitHears(t, spk, "the old speaker", 0, 5*time.Second)
	if _, got := v.Devices(); got != id {
		t.Errorf("VoiceIO speaker %q, want %q", got, id)
	}
}

func TestVoiceIOUnpluggedSpeakerFallsBackToDefault(t *testing.T) {
	pa := testpeers.StartPulse(t)
	t.Setenv("PULSE_SERVER", pa.Server())
	spk := pa.Record(t, testpeers.SinkSpeaker+".monitor")
	headset := pa.Record(t, testpeers.SinkSpeaker2+".monitor")
	notices := make(chan audio.DeviceNotice, 4)
	idDev, err := audio.FindDevice(audio.Speaker, testpeers.SinkSpeaker2)
	if err != nil {
		t.Fatal(err)
	}
	id := idDev.ID
	v := audio.NewVoiceIO(audio.VoiceIOOptions{Speaker: id, OnNotice: func(n audio.DeviceNotice) { notices <- n }})
	defer v.Close()
	out, err := v.OpenOutput()
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	playing(t, out, 440)
	waitHears(t, headset, "the chosen headset", 440, 10*time.Second)

	pa.UnloadModule(t, pa.SinkModule(t, testpeers.SinkSpeaker2)) // unplugged
	select {
	case n := <-notices:
		if n.Kind != audio.Speaker || n.Lost != id {
			t.Errorf("notice %+v", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no notice that the headset went")
	}
	waitHears(t, spk, "the default speaker", 440, 10*time.Second)
	if err := out.WriteFrame(make([]int16, audio.FrameSamples)); err != nil {
		t.Errorf("the call's sink broke: %v", err)
	}
}
