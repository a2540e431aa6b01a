package ui

import (
	"image"
	"testing"
)

// engineWithOwnFrameType returns a type of its own instead of FrameSource:
// the GUI does not go looking for it (the phone's adapter converts).
type engineWithOwnFrameType struct{}

func (engineWithOwnFrameType) RemoteVideo(string) (image.Image, bool) { return nil, false }

func TestRemoteVideoFunc(t *testing.T) {
	if remoteVideoFunc(PhoneEngine(nil)) == nil {
		t.Error("PhoneEngine's RemoteVideo not found")
	}
	if remoteVideoFunc(engineWithOwnFrameType{}) != nil {
		t.Error("used a RemoteVideo whose result is not a FrameSource")
	}
	if remoteVideoFunc(struct{}{}) != nil {
		t.Error("found a RemoteVideo on an engine without one")
	}
	f := remoteVideoFunc(newFakeEngine())
	if f == nil {
		t.Fatal("fake engine's RemoteVideo not found")
	}
	if _, ok := f("nope"); ok {
		t.Error("frame source for an unknown call")
	}
}

// The real phone, through PhoneEngine, has every optional call-control
// part, so the GUI enables them all with it.
func TestPhoneEngineHasCallControl(t *testing.T) {
	ctl := callControlOf(PhoneEngine(nil))
	if ctl.dtmf == nil || ctl.xfer == nil || ctl.chat == nil || ctl.monitor == nil || ctl.conf == nil || ctl.rec == nil {
		t.Fatalf("PhoneEngine lacks call control: %+v", ctl)
	}
	if _, ok := PhoneEngine(nil).(Sharer); !ok {
		t.Error("PhoneEngine is not a Sharer")
	}
}
