package headless

import (
	"context"

	"github.com/parlo-voip/parlo/callengine"
	"github.com/parlo-voip/parlo/callengine/presence"
)

// The fake phone's lamps: Watch records what was asked.

func (f *fakePhone) Watch(_ context.Context, target string, pkg callengine.EventPackage) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.watches = append(f.watches, callengine.WatchState{Target: target, Package: pkg, Line: presence.LineUnknown})
	return nil
}

func (f *fakePhone) Unwatch(_ context.Context, target string, pkg callengine.EventPackage) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, w := range f.watches {
		if w.Target == target && w.Package == pkg {
			f.watches = append(f.watches[:i], f.watches[i+1:]...)
			return nil
		}
	}
	return callengine.ErrInvalidState
}

func (f *fakePhone) Watches() []callengine.WatchState {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]callengine.WatchState(nil), f.watches...)
}

func (f *fakePhone) PublishPresence(status presence.Status, note string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.presence = status
	return nil
}

func (f *fakePhone) Pickup(context.Context, string) (*callengine.CallSession, error) {
	return nil, callengine.ErrInvalidState
}
