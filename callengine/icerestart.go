package callengine

import (
	"context"
	"time"

	"github.com/parlo-voip/parlo/callengine/media"
)

// maxICERestarts is how many ICE-restart re-INVITEs are tried, as the SDK.
const maxICERestarts = 5

// iceWaitPerTry bounds the wait for ICE to reconnect after one restart.
const iceWaitPerTry = 6 * time.Second

// onICEState follows the media's ICE state after the first connection.
func (c *call) onICEState(state string) {
	switch state {
	case "disconnected", "failed":
		if c.snapshot().IsEstablished() && c.iceRestarting.CompareAndSwap(false, true) {
			c.emit(EventIceDisconnected, IceStatePayload{State: state})
			c.goCall(c.restartICE)
		}
	case "connected", "completed":
		select {
		case c.iceBack <- struct{}{}:
		default:
		}
	}
}

// restartICE sends ICE-restart re-INVITEs (new credentials, fresh
// candidates, RFC 8839 §4.4.1.1.1) until ICE is connected again, at most
// maxICERestarts times; then it ends the call with a reason. It is owned by
// the call and stops when the call ends.
func (c *call) restartICE() {
	defer c.iceRestarting.Store(false)
	m := c.mediaSession()
	r, ok := m.(media.ICERestarter)
	if !ok {
		c.emit(EventCallError, CallStatusPayload{Error: "media lost and this media path cannot restart ICE"})
		return
	}
	// A network change may have queued a "connected" of its own; start clean.
	// Drain a stale "connected" from before the loss.
	select {
	case <-c.iceBack:
	default:
	}
	for attempt := 1; attempt <= maxICERestarts; attempt++ {
		c.emit(EventIceReconnecting, IceRestartPayload{Attempt: attempt})
		ctx, cancel := context.WithTimeout(c.p.ctx, iceWaitPerTry)
		c.opMu.Lock()
		r.RestartICE()
		err := c.reinvite(ctx, localDirection(c.snapshot().Paused), nil)
		c.opMu.Unlock()
		if err != nil {
			c.log.Warn("ICE restart re-INVITE failed", "attempt", attempt, "error", err)
		} else {
			select {
			case <-c.iceBack:
				cancel()
				c.emit(EventIceReconnected, IceRestartPayload{Attempt: attempt})
				return
			case <-ctx.Done():
			case <-c.done:
				cancel()
				return
			}
		}
		cancel()
		select {
		case <-c.done:
			return
		default:
		}
	}
	c.log.Warn("ICE could not be restored, ending the call")
	c.emit(EventCallError, CallStatusPayload{Error: "media connection lost: ICE restart failed after 5 tries"})
	c.endWithReason(EndICEFailed, "media connection lost: ICE restart failed after 5 tries")
}
