package callengine

import (
	"context"
	"fmt"
	"time"

	"github.com/emiago/sipgo/sip"
)

// EndReason says why the phone ended a call on its own.
type EndReason string

const (
	// EndMediaTimeout means no RTP arrived for Options.MediaTimeout while the
	// negotiated direction lets the peer send (not on hold), as Asterisk's
	// rtptimeout: a peer whose process died sends no BYE.
	EndMediaTimeout EndReason = "media-timeout"
	// EndICEFailed means ICE lost the media path and ICE restarts did not bring
	// it back (RFC 8445 §9; consent lost, RFC 7675 §5.1).
	EndICEFailed EndReason = "ice-failed"
	// EndSessionExpired means (RFC 4028 §10) no session refresh arrived before
	// the session interval ran out.
	EndSessionExpired EndReason = "session-expired"
	// EndRefreshFailed means our session refresh was answered 408 or 481 or
	// timed out (RFC 4028 §10, RFC 5057 §5.1: the dialog is gone).
	EndRefreshFailed EndReason = "session-refresh-failed"
)

// defaultMediaTimeout ends a call that receives nothing for this long. With
// the poll interval and the BYE it stays well under the 30 s in which a
// vanished peer must be noticed, and over the 5 s + 15 s pion needs to
// report ICE failed, so an ICE restart gets its chance first.
const defaultMediaTimeout = 20 * time.Second

// mediaTimeout is Options.MediaTimeout with its default; 0 means off.
func (p *Phone) mediaTimeout() time.Duration {
	switch {
	case p.opts.MediaTimeout < 0:
		return 0
	case p.opts.MediaTimeout == 0:
		return defaultMediaTimeout
	}
	return p.opts.MediaTimeout
}

// received counts every packet of the peer's that arrived, RTP audio and
// video and RTCP, from the Stats API (both media paths fill it). RTCP
// counts: a peer silent without comfort noise (VAD on G.711, DTX without
// its 400 ms frames) sends no RTP for as long as nobody speaks, yet its
// reports keep coming (RFC 3550 §6.2: every few seconds at most); a peer
// that vanished sends neither.
func (c *call) received() uint64 {
	m := c.mediaSession()
	if m == nil {
		return 0
	}
	st := m.Stats()
	return st.Audio.PacketsReceived + st.Video.Received.Packets + st.Transport.RTCPReceived
}

// watchMedia ends the call when no media arrives for the media timeout
// while we expect some: not on hold (ours, sendonly; or theirs, which
// makes our side recvonly-less) and with media open. It is owned by the
// call and stops when the call ends.
func (c *call) watchMedia() {
	timeout := c.p.mediaTimeout()
	if timeout <= 0 {
		return
	}
	t := time.NewTicker(min(timeout/4, time.Second))
	defer t.Stop()
	last, lastAt := c.received(), time.Now()
	for {
		select {
		case <-c.done:
			return
		case <-c.p.ctx.Done():
			return
		case now := <-t.C:
			s := c.snapshot()
			if s.IsTerminated() || s.SipStatus == SipStatusTerminating {
				return
			}
			m := c.mediaSession()
			n := c.received()
			expecting := m != nil && !s.Paused && m.Direction().Receives()
			if n != last || !expecting {
				last, lastAt = n, now
				continue
			}
			if idle := now.Sub(lastAt); idle >= timeout {
				c.endWithReason(EndMediaTimeout, fmt.Sprintf("no media received for %s", idle.Round(time.Second)))
				return
			}
		}
	}
}

// endWithReason ends an established call on the phone's own decision:
// onCallEnding, onCallFailed and onCallEnded with {reason, error}, then a
// BYE carrying the reason (RFC 3326 Reason, cause 408: the peer did not
// answer in time) sent in the background, so a dead peer that never
// answers the BYE does not delay the end the user sees.
func (c *call) endWithReason(reason EndReason, detail string) {
	s := c.snapshot()
	if s.IsTerminated() {
		return
	}
	c.log.Warn("ending the call", "reason", reason, "detail", detail)
	d := c.dialog()
	target := c.remoteTarget()
	c.update(func(s *CallSession) { s.SipStatus = SipStatusTerminating }, []string{EventCallEnding}, nil)
	c.terminate([]string{EventCallFailed}, CallStatusPayload{Reason: string(reason), Error: detail})
	if d == nil {
		return
	}
	c.p.callOwner.goRun(func() {
		ctx, cancel := context.WithTimeout(c.p.ctx, byeTimeout)
		defer cancel()
		bye := sip.NewRequest(sip.BYE, target)
		bye.AppendHeader(sip.NewHeader("Reason", fmt.Sprintf(`SIP;cause=408;text=%q`, string(reason))))
		if err := c.writeBye(ctx, d, bye); err != nil {
			c.log.Info("BYE after the call ended unanswered", "reason", reason, "error", err)
		}
	})
}

// byeTimeout bounds a BYE to a peer that may be gone.
const byeTimeout = 4 * time.Second

// writeBye sends bye in the dialog through sipgo's WriteBye (which ends the
// dialog's INVITE transaction and state), on the INVITE's transport.
func (c *call) writeBye(ctx context.Context, d dialog, bye *sip.Request) error {
	c.mu.Lock()
	uas := c.uas
	c.mu.Unlock()
	if uas != nil {
		bye.SetTransport(uas.InviteRequest.Transport())
	}
	if w, ok := d.(interface {
		WriteBye(context.Context, *sip.Request) error
	}); ok {
		return w.WriteBye(ctx, bye)
	}
	_, err := d.Do(ctx, bye)
	return err
}
