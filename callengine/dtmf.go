package callengine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/parlo-voip/parlo/callengine/media"
)

// dtmfToneDuration is how long each keypad tone lasts on the wire.
const dtmfToneDuration = 120 * time.Millisecond

// SendDTMF sends keypad tones in a call: RFC 4733 telephone-events in the
// media when negotiated (and Options.DTMFMode is not "info"), otherwise one
// SIP INFO application/dtmf-relay per tone, as the Wazo SDK falls back to.
func (p *Phone) SendDTMF(ctx context.Context, callID, tones string) error {
	for _, r := range tones {
		if _, ok := media.DTMFEvent(r); !ok {
			return fmt.Errorf("%w: %q is not a DTMF tone (0-9 * # A-D)", ErrInvalidState, r)
		}
	}
	c, err := p.call(callID)
	if err != nil {
		return err
	}
	if !c.snapshot().IsEstablished() {
		return fmt.Errorf("%w: DTMF needs an established call", ErrInvalidState)
	}
	if p.opts.DTMFMode != "info" {
		if ds, ok := c.mediaSession().(media.DTMFSender); ok {
			err := ds.SendDTMF(ctx, tones, dtmfToneDuration)
			if !errors.Is(err, media.ErrNoTelephoneEvent) {
				return err
			}
		}
	}
	for _, r := range strings.ToUpper(tones) {
		if err := c.sendInfoDTMF(ctx, string(r)); err != nil {
			return err
		}
	}
	return nil
}

// sendInfoDTMF sends one tone as SIP INFO with the de-facto
// application/dtmf-relay body (Signal, Duration in ms).
func (c *call) sendInfoDTMF(ctx context.Context, tone string) error {
	d := c.dialog()
	if d == nil {
		return fmt.Errorf("%w: no dialog", ErrInvalidState)
	}
	req := sip.NewRequest(sip.INFO, c.remoteTarget())
	req.AppendHeader(sip.NewHeader("Content-Type", "application/dtmf-relay"))
	req.SetBody([]byte(fmt.Sprintf("Signal=%s\r\nDuration=%d\r\n", tone, dtmfToneDuration.Milliseconds())))
	res, err := d.Do(ctx, req)
	if err != nil {
		return fmt.Errorf("%w: INFO: %w", ErrRequestFailed, err)
	}
	if !res.IsSuccess() {
		return fmt.Errorf("%w: INFO answered %d %s", ErrRequestFailed, res.StatusCode, res.Reason)
	}
	return nil
}

func (c *call) onDTMF(tone, method string) {
	c.emit(EventDTMF, DTMFPayload{Tone: tone, Method: method})
}

// onInfo answers INFO: dtmf-relay bodies become onDTMF events; other
// packages are acknowledged (RFC 6086 would say 469 for an unknown Info
// Package, but legacy INFO has none and phones expect 200).
func (p *Phone) onInfo(req *sip.Request, tx sip.ServerTransaction) {
	c, err := p.call(req.CallID().Value())
	if err != nil {
		respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = strings.ToLower(strings.TrimSpace(h.Value()))
	}
	// The event is queued before the 200 goes out: the sender waits for the
	// 200 before its next tone, and requests are handled on separate
	// goroutines, so answering first could report tones out of order.
	if ct == "application/dtmf-relay" || ct == "application/dtmf" {
		if tone := parseDTMFRelay(string(req.Body()), ct); tone != "" {
			c.onDTMF(tone, "info")
		}
	}
	respond(tx, req, sip.StatusOK, "OK")
}

// parseDTMFRelay reads "Signal=5\r\nDuration=160" (dtmf-relay) or a bare
// digit (application/dtmf); "" when it holds no valid tone.
func parseDTMFRelay(body, ct string) string {
	if ct == "application/dtmf" {
		body = "Signal=" + strings.TrimSpace(body)
	}
	for _, line := range strings.Split(body, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "signal") {
			continue
		}
		v = strings.TrimSpace(v)
		if n, err := strconv.Atoi(v); err == nil && n >= 10 && n <= 15 {
			return media.DTMFTone(uint8(n)) // some phones send 10/11 for * and #
		}
		if len(v) == 1 {
			if ev, ok := media.DTMFEvent(rune(v[0])); ok {
				return media.DTMFTone(ev)
			}
		}
	}
	return ""
}
