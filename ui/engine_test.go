package ui

import (
	"image"
	"testing"
)

// otherFrames stands for the engine's own FrameSource type.
type otherFrames interface {
	Latest() (image.Image, uint64)
}

type engineWithOwnFrameType struct{ src otherFrames }

func (e engineWithOwnFrameType) RemoteVideo(id string) (otherFrames, bool) {
	if id != "c1" {
		return nil, false
	}
	return e.src, true
}

type badRemoteVideo struct{}

func (badRemoteVideo) RemoteVideo(id string) (image.Image, bool) { return nil, false }

func TestRemoteVideoFuncAdaptsOtherFrameSourceTypes(t *testing.T) {
	src := &fakeFrames{}
	src.put(image.NewRGBA(image.Rect(0, 0, 4, 2)))
	f := remoteVideoFunc(engineWithOwnFrameType{src: src})
	if f == nil {
		t.Fatal("RemoteVideo with the engine's own FrameSource type not adapted")
	}
	fs, ok := f("c1")
	if !ok || fs == nil {
		t.Fatal("no frame source for c1")
	}
	if img, seq := fs.Latest(); seq != 1 || img.Bounds().Dx() != 4 {
		t.Errorf("Latest = %v, %d", img.Bounds(), seq)
	}
	if _, ok := f("nope"); ok {
		t.Error("frame source for an unknown call")
	}
	if remoteVideoFunc(badRemoteVideo{}) != nil {
		t.Error("adapted a RemoteVideo whose result has no Latest")
	}
	if remoteVideoFunc(struct{}{}) != nil {
		t.Error("adapted an engine without RemoteVideo")
	}
	if remoteVideoFunc(newFakeEngine()) == nil {
		t.Error("fake engine's RemoteVideo not found")
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
