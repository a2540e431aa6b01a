//go:build deps

// Package deps pins the modules Parlo builds on so that parallel work on
// separate packages shares one coherent go.mod (pion modules must stay on one
// set: findings.md). It is never compiled into the app.
package deps

import (
	_ "fyne.io/fyne/v2/app"
	_ "github.com/emiago/sipgo"
	_ "github.com/gen2brain/malgo"
	_ "github.com/go-audio/wav"
	_ "github.com/jezek/xgb/randr"
	_ "github.com/jezek/xgb/shm"
	_ "github.com/jezek/xgb/xproto"
	_ "github.com/kbinani/screenshot"
	_ "github.com/pion/interceptor"
	_ "github.com/pion/mediadevices/pkg/codec/vpx"
	_ "github.com/pion/rtp"
	_ "github.com/pion/sdp/v3"
	_ "github.com/pion/webrtc/v4"
	_ "github.com/zaf/g711"
	_ "gopkg.in/hraban/opus.v2"
)
