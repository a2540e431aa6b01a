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
	if p.usePortal() {
		return portalMonitors(), nil
	}
	return capture.MonitorsOn(p.opts.Display)
}

// Thumbnail is a small picture of one monitor for the share picker. It
// also opens the encoder a share of the monitor would use, in the
// background (share.CodecCache.WarmShare), so that the share the picker
// leads to starts at once; unused, it is closed after 30 s.
func (p *Phone) Thumbnail(monitorIndex, maxW, maxH int) (image.Image, error) {
	if p.usePortal() {
		return nil, ErrNoThumbnail
	}
	m, err := p.monitor(monitorIndex)
	if err != nil {
		return nil, err
	}
	// The picker is open: a share of this monitor is likely soon.
	p.codecs.WarmShare(m, p.ShareLimits().FPS)
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
	return p.startSharing(ctx, c, w.Target())
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
	if p.usePortal() {
		mon, err := p.portalMonitor(ctx, monitorIndex)
		if err != nil {
			return err
		}
		if err := p.startSharing(ctx, c, mon); err != nil {
			_ = mon.ClosePortal()
			return err
		}
		return nil
	}
	mon, err := p.monitor(monitorIndex)
	if err != nil {
		return err
	}
	return p.startSharing(ctx, c, mon)
}

// startSharing shares mon on c and, when c is in the local conference, on
// every other leg too, from one capture (share.Sender): the parties of a
// conference all see what the host shows. A leg that cannot take the
// share (it refuses video) gets onCallError and the others keep it; only
// c's failure is returned.
func (p *Phone) startSharing(ctx context.Context, c *call, mon capture.Monitor) error {
	c.opMu.Lock()
	err := c.startShare(ctx, mon)
	sender := c.shareSender()
	c.opMu.Unlock()
	if err != nil || sender == nil {
		return err
	}
	p.extendShare(ctx, sender, p.conf.others(c))
	return nil
}

// extendShare starts sender on each leg not sharing yet.
func (p *Phone) extendShare(ctx context.Context, sender *share.Sender, legs []*call) {
	for _, leg := range legs {
		leg.opMu.Lock()
		if leg.shareSender() == nil {
			if err := leg.startShareOn(ctx, sender); err != nil {
				leg.log.Warn("conference leg did not take the share", "error", err)
				leg.emit(EventCallError, CallStatusPayload{Error: "sharing the screen with this conference party: " + err.Error()})
			}
		}
		leg.opMu.Unlock()
	}
}

// StopScreenSharing stops the call's share: capture stops first, then a
// re-INVITE sets the video line inactive, then onScreenShareEnded. A
// conference's share stops on every leg.
func (p *Phone) StopScreenSharing(ctx context.Context, callID string) error {
	c, err := p.call(callID)
	if err != nil {
		return err
	}
	sender := c.shareSender()
	c.opMu.Lock()
	c.mu.Lock()
	c.resumeShare = nil
	c.mu.Unlock()
	err = c.stopShare(ctx, true)
	c.opMu.Unlock()
	if sender != nil {
		p.stopShareOn(ctx, sender)
	}
	return err
}

// stopShareOn stops sender's share on every call that still takes it.
func (p *Phone) stopShareOn(ctx context.Context, sender *share.Sender) {
	for _, c := range p.callList() {
		if c.shareSender() != sender {
			continue
		}
		c.opMu.Lock()
		if c.shareSender() == sender {
			_ = c.stopShare(ctx, true)
		}
		c.opMu.Unlock()
	}
	sender.Stop()
}

// callList is a snapshot of the phone's calls, oldest first.
func (p *Phone) callList() []*call {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*call, 0, len(p.order))
	for _, id := range p.order {
		if c := p.calls[id]; c != nil {
			out = append(out, c)
		}
	}
	return out
}

// shareSender is the capture c's running share comes from, or nil.
func (c *call) shareSender() *share.Sender {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sharing == nil {
		return nil
	}
	return c.sharing.Sender()
}

// startShare runs with opMu held: c shares mon, joining the capture of a
// conference leg that shares the same monitor already (resume after a hold
// in a conference), else from a capture of its own.
func (c *call) startShare(ctx context.Context, mon capture.Monitor) error {
	for _, leg := range c.p.conf.others(c) {
		if s := leg.shareSender(); s != nil && s.Monitor() == mon {
			return c.startShareOn(ctx, s)
		}
	}
	return c.startShareOn(ctx, c.p.newShareSender(mon))
}

// newShareSender makes a capture of mon that the phone's share registry
// follows and whose end (monitor unplugged) stops it on every call.
func (p *Phone) newShareSender(mon capture.Monitor) *share.Sender {
	var sender *share.Sender
	limits := p.ShareLimits()
	sender = share.NewSender(share.SenderOptions{
		Monitor: mon, FPS: limits.FPS, MaxKbps: limits.MaxKbps, Captured: &p.captured, Logger: p.log.With("monitor", mon.Name), Codecs: p.codecs,
		OnCapturing: func(on bool) { p.shares.capturing(sender, on) },
		OnGone:      func(err error) { p.callOwner.goRun(func() { p.onShareSourceEnded(sender, err) }) },
	})
	return sender
}

// startShareOn runs with opMu held: c gets a leg of sender.
func (c *call) startShareOn(ctx context.Context, sender *share.Sender) error {
	s := c.snapshot()
	if !s.IsEstablished() {
		return fmt.Errorf("%w: sharing needs an established call", ErrInvalidState)
	}
	if s.Paused {
		return fmt.Errorf("%w: the call is on hold", ErrInvalidState)
	}
	mon := sender.Monitor()
	m := c.mediaSession()
	out := sender.NewOutput()
	// Listed before the leg can get a frame: the indicator may be early,
	// never late.
	c.p.shares.attach(sender, c.id)
	fail := func(err error) error {
		_ = m.RemoveVideoSender()
		out.Stop() // a primed leg whose sender was never set
		c.p.shares.detach(sender, c.id)
		return err
	}
	needsOffer, err := m.SetVideoSender(out)
	if err != nil {
		c.p.shares.detach(sender, c.id)
		return fmt.Errorf("callengine: share: %w", err)
	}
	if needsOffer {
		// Capture and encoder start while the re-INVITE is under way; the
		// leg sends nothing before the answer accepts the video line.
		out.Prime()
		// RFC 3261 §20.36 Subject; the Wazo SDK marks share re-INVITEs so.
		err := c.reinvite(ctx, localDirection(false), []sip.Header{sip.NewHeader("Subject", "screenshare")})
		if err != nil {
			return fail(fmt.Errorf("callengine: share: %w", err))
		}
	}
	if !m.VideoSending() {
		c.emit(EventCallError, CallStatusPayload{Error: "the peer refused the video line (port 0); screen sharing is not possible in this call"})
		return fail(ErrVideoRefused)
	}
	wctx, cancel := context.WithTimeout(ctx, shareStartTimeout)
	defer cancel()
	if err := out.WaitFirstFrame(wctx); err != nil {
		return fail(fmt.Errorf("callengine: share: no frame captured from %s: %w", mon.Name, err))
	}
	c.mu.Lock()
	c.sharing = out
	c.mu.Unlock()
	c.update(func(s *CallSession) { s.Screensharing = true }, []string{EventScreenShareStarted},
		ScreenSharePayload{Monitor: mon.Name, Width: mon.Width, Height: mon.Height})
	c.signalTrackUpdate("upgrade")
	return nil
}

// stopShare runs with opMu held: c's leg of the share stops (the capture
// too if it was the last leg). With renegotiate, a re-INVITE marks the
// video line inactive so the peer's picture stops too; hold skips it, since
// its own re-INVITE carries the change.
func (c *call) stopShare(ctx context.Context, renegotiate bool) error {
	c.mu.Lock()
	out := c.sharing
	c.sharing = nil
	c.mu.Unlock()
	if out == nil {
		return nil
	}
	m := c.mediaSession()
	// Capture stops here, before any SIP: the privacy invariant.
	_ = m.RemoveVideoSender()
	c.p.shares.detach(out.Sender(), c.id)
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

// onShareSourceEnded handles a monitor that went away mid-share: on every
// call sharing it, onScreenShareEnding, then the share is stopped as by the
// user.
func (p *Phone) onShareSourceEnded(sender *share.Sender, err error) {
	p.log.Warn("shared monitor ended", "monitor", sender.Monitor().Name, "error", err)
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	for _, c := range p.callList() {
		if c.shareSender() != sender {
			continue
		}
		c.opMu.Lock()
		if c.shareSender() == sender {
			c.emit(EventScreenShareEnding, ScreenShareEndingPayload{Reason: err.Error()})
			_ = c.stopShare(ctx, true)
		}
		c.opMu.Unlock()
	}
	sender.Stop()
}

// videoStats adds the engine's video counters to the media's.
func (c *call) videoStats(st *media.Stats) {
	c.mu.Lock()
	out, recv := c.sharing, c.videoIn
	c.mu.Unlock()
	if out != nil {
		out.Stats(&st.Video.Sent)
	}
	if recv != nil {
		recv.Stats(&st.Video.Received)
	}
}
