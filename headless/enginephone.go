package headless

import (
	"fmt"
	"image/png"
	"os"

	"github.com/parlo-voip/parlo/callengine"
)

// enginePhone is the real phone behind the dispatcher: *callengine.Phone
// plus the one command that is not a Phone method of its own, snapshot.
type enginePhone struct {
	*callengine.Phone
}

// SnapshotPNG writes the call's newest decoded remote frame to path
// (VideoReceiver.SnapshotPNG) and reads back the PNG header for its size,
// so the reply tells the driver what it got without decoding the file.
func (p enginePhone) SnapshotPNG(id, path string) (width, height int, err error) {
	rv, ok := p.RemoteVideo(id)
	if !ok {
		// RemoteVideo does not say why: an unknown call gets the engine's
		// own error, a call without media yet a clear one.
		if _, err := p.Stats(id); err != nil {
			return 0, 0, err
		}
		return 0, 0, fmt.Errorf("%w: call %q has no media session yet", callengine.ErrInvalidState, id)
	}
	if err := rv.SnapshotPNG(path); err != nil {
		return 0, 0, err
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		return 0, 0, fmt.Errorf("reading back %s: %w", path, err)
	}
	return cfg.Width, cfg.Height, nil
}
