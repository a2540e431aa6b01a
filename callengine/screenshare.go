package callengine

import (
	"context"
	"errors"
	"fmt"
	"image"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/parlo-voip/parlo/callengine/media"
	"github.com/parlo-voip/parlo/callengine/share"
	"github.com/parlo-voip/parlo/capture"
)

// ErrVideoRefused is returned when the peer answered our video line with
// port 0 (RFC 3264 §6): the audio call goes on untouched.
var ErrVideoRefused = errors.New("callengine: peer refused video")

// shareStartTimeout bounds the wait for the first encoded frame.
const shareStartTimeout = 5 * time.Second

// Monitors lists the monitors that can be shared, on Options.Display.
func (p *Phone) Monitors() ([]capture.Monitor, error) {
	return capture.MonitorsOn(p.opts.Display)
}

// Thumbnail is a small picture of one monitor for the share picker.
func (p *Phone) Thumbnail(monitorIndex, maxW, maxH int) (image.Image, error) {
	m, err := p.monitor(monitorIndex)
	if err != nil {
		return nil, err
	}
	return capture.Thumbnail(m, maxW, maxH)
}

func (p *Phone) monitor(index int) (capture.Monitor, error) {
	mons, err := p.Monitors()
	if err != nil {
		return capture.Monitor{}, err
	}
	for _, m := range mons {
		if m.Index == index {
			return m, nil
		}
	}
	return capture.Monitor{}, fmt.Errorf("%w: no monitor %d (have %d)", capture.ErrMonitorGone, index, len(mons))
}

// Windows lists the top-level windows that can be shared, on
// Options.Display.
func (p *Phone) Windows() ([]capture.Window, error) {
	return capture.WindowsOn(p.opts.Display)
}

// WindowThumbnail is a small picture of one window for the share picker.
func (p *Phone) WindowThumbnail(windowID uint32, maxW, maxH int) (image.Image, error) {
	w, err := capture.FindWindow(p.opts.Display, windowID)
	if err != nil {
		return nil, err
	}
	return capture.WindowThumbnail(w, maxW, maxH)
}

// StartWindowSharing shares one window (an id from Windows) in an
// established call, as StartScreenSharing shares a monitor. The share
// follows the window's moves and resizes; closing the window ends it as an
// unplugged monitor does (onScreenShareEnding, then onScreenShareEnded).
func (p *Phone) StartWindowSharing(ctx context.Context, callID string, windowID uint32) error {
	c, err := p.call(callID)
	if err != nil {
		return err
	}
	w, err := capture.FindWindow(p.opts.Display, windowID)
	if err != nil {
		return err
	}
	c.opMu.Lock()
	defer c.opMu.Unlock()
	return c.startShare(ctx, w.Target())
}

// CapturedFrames counts every screen frame captured by this phone since it
// started. It exists so the privacy invariant — no capture while not
// sharing — can be checked from outside.
func (p *Phone) CapturedFrames() uint64 { return p.captured.Load() }

// VideoReceiver is a call's decoded remote video (share.Receiver).
type VideoReceiver = share.Receiver

// RemoteVideo returns the call's decoded remote video (latest frame).
func (p *Phone) RemoteVideo(callID string) (*VideoReceiver, bool) {
	c, err := p.call(callID)
	if err != nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.videoIn, c.videoIn != nil
}

// StartScreenSharing shares one monitor in an established call. On an
// audio-only call it adds a video line by re-INVITE with
// "Subject: screenshare" (as the Wazo SDK does); when the call already sends
// video, the screen replaces it without SIP. It returns when the peer
// accepted and the first frame went out; only then does the sharer get
// onScreenShareStarted.
func (p *Phone) StartScreenSharing(ctx context.Context, callID string, monitorIndex int) error {
	c, err := p.call(callID)
	if err != nil {
		return err
	}
	mon, err := p.monitor(monitorIndex)
	if err != nil {
		return err
	}
	c.opMu.Lock()
	defer c.opMu.Unlock()
	return c.startShare(ctx, mon)
}

// StopScreenSharing stops the call's share: capture stops first, then a
// re-INVITE sets the video line inactive, then onScreenShareEnded.
func (p *Phone) StopScreenSharing(ctx context.Context, callID string) error {
	c, err := p.call(callID)
	if err != nil {
		return err
	}
	c.opMu.Lock()
	defer c.opMu.Unlock()
	c.mu.Lock()
	c.resumeShare = nil
	c.mu.Unlock()
	return c.stopShare(ctx, true)
}

// startShare runs with opMu held.
func (c *call) startShare(ctx context.Context, mon capture.Monitor) error {
	s := c.snapshot()
	if !s.IsEstablished() {
		return fmt.Errorf("%w: sharing needs an established call", ErrInvalidState)
	}
	if s.Paused {
		return fmt.Errorf("%w: the call is on hold", ErrInvalidState)
	}
	m := c.mediaSession()
	var sender *share.Sender
	sender = share.NewSender(share.SenderOptions{
		Monitor: mon, FPS: c.p.opts.ShareFPS, Captured: &c.p.captured, Logger: c.log.With("monitor", mon.Name),
		OnCapturing: func(on bool) {
			if on {
				c.p.shares.add(sender, shareEntry{callID: c.id, monitor: mon.Name})
			} else {
				c.p.shares.remove(sender)
			}
		},
		OnGone: func(err error) { c.goCall(func() { c.onShareSourceEnded(sender, err) }) },
	})
	needsOffer, err := m.SetVideoSender(sender)
	if err != nil {
		return fmt.Errorf("callengine: share: %w", err)
	}
	if needsOffer {
		// RFC 3261 §20.36 Subject; the Wazo SDK marks share re-INVITEs so.
		err := c.reinvite(ctx, localDirection(false), []sip.Header{sip.NewHeader("Subject", "screenshare")})
		if err != nil {
			_ = m.RemoveVideoSender()
			return fmt.Errorf("callengine: share: %w", err)
		}
	}
	if !m.VideoSending() {
		_ = m.RemoveVideoSender()
		c.emit(EventCallError, CallStatusPayload{Error: "the peer refused the video line (port 0); screen sharing is not possible in this call"})
		return ErrVideoRefused
	}
	wctx, cancel := context.WithTimeout(ctx, shareStartTimeout)
	defer cancel()
	if err := sender.WaitFirstFrame(wctx); err != nil {
		_ = m.RemoveVideoSender()
		return fmt.Errorf("callengine: share: no frame captured from %s: %w", mon.Name, err)
	}
	c.mu.Lock()
	c.sharing = sender
	c.mu.Unlock()
	c.update(func(s *CallSession) { s.Screensharing = true }, []string{EventScreenShareStarted},
		ScreenSharePayload{Monitor: mon.Name, Width: mon.Width, Height: mon.Height})
	c.signalTrackUpdate("upgrade")
	return nil
}

// stopShare runs with opMu held. With renegotiate, a re-INVITE marks the
// video line inactive so the peer's picture stops too; hold skips it, since
// its own re-INVITE carries the change.
func (c *call) stopShare(ctx context.Context, renegotiate bool) error {
	c.mu.Lock()
	sender := c.sharing
	c.sharing = nil
	c.mu.Unlock()
	if sender == nil {
		return nil
	}
	m := c.mediaSession()
	// Capture stops here, before any SIP: the privacy invariant.
	_ = m.RemoveVideoSender()
	var err error
	if renegotiate && c.snapshot().IsEstablished() {
		err = c.reinvite(ctx, localDirection(c.snapshot().Paused), nil)
	}
	c.update(func(s *CallSession) { s.Screensharing = false }, []string{EventScreenShareEnded}, nil)
	if renegotiate {
		c.signalTrackUpdate("downgrade")
	}
	return err
}

// signalTrackUpdate tells the peer, as the Wazo SDK does, that our video was
// upgraded to a screen or downgraded, with an in-dialog MESSAGE. It runs in
// the background: a peer that refuses MESSAGE must not fail the share.
func (c *call) signalTrackUpdate(update string) {
	content := map[string]any{"type": "onTrackUpdated", "update": update, "screenshare": true, "callId": c.id}
	c.goCall(func() {
		ctx, cancel := context.WithTimeout(c.p.ctx, 5*time.Second)
		defer cancel()
		if err := c.p.SendSignal(ctx, c.id, content); err != nil {
			c.log.Debug("onTrackUpdated signal not delivered", "error", err)
		}
	})
}

// onShareSourceEnded handles a monitor that went away mid-share:
// onScreenShareEnding, then the share is stopped as by the user.
func (c *call) onShareSourceEnded(sender *share.Sender, err error) {
	c.opMu.Lock()
	defer c.opMu.Unlock()
	c.mu.Lock()
	current := c.sharing == sender && sender != nil
	c.mu.Unlock()
	if !current {
		return
	}
	c.log.Warn("shared monitor ended", "error", err)
	c.emit(EventScreenShareEnding, ScreenShareEndingPayload{Reason: err.Error()})
	ctx, cancel := context.WithTimeout(c.p.ctx, 10*time.Second)
	defer cancel()
	_ = c.stopShare(ctx, true)
}

// videoStats adds the engine's video counters to the media's.
func (c *call) videoStats(st *media.Stats) {
	c.mu.Lock()
	sender, recv := c.sharing, c.videoIn
	c.mu.Unlock()
	if sender != nil {
		sender.Stats(&st.Video.Sent)
	}
	if recv != nil {
		recv.Stats(&st.Video.Received)
	}
}
