package callengine

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// The Wazo JSON envelope of a MESSAGE body.
const (
	messageTypeChat   = "message/TYPE_CHAT"
	messageTypeSignal = "message/TYPE_SIGNAL"
)

type messageEnvelope struct {
	Type    string          `json:"type"`
	Content json.RawMessage `json:"content"`
}

// SendMessage sends a SIP MESSAGE (RFC 3428): inside the call's dialog when
// callID names a call, otherwise out of dialog to target.
func (p *Phone) SendMessage(ctx context.Context, callID, target, contentType string, body []byte) error {
	req := &sip.Request{}
	if callID != "" {
		c, err := p.call(callID)
		if err != nil {
			return err
		}
		d := c.dialog()
		if d == nil || !c.snapshot().IsEstablished() {
			return fmt.Errorf("%w: in-dialog MESSAGE needs an established call", ErrInvalidState)
		}
		req = sip.NewRequest(sip.MESSAGE, c.remoteTarget())
		req.AppendHeader(newHeader("Content-Type", contentType))
		req.SetBody(body)
		res, err := d.Do(ctx, req)
		return messageResult(res, err)
	}
	to, err := p.targetURI(target)
	if err != nil {
		return err
	}
	req = sip.NewRequest(sip.MESSAGE, to)
	from := sip.FromHeader{Address: p.fromURI(), DisplayName: displayName(p.opts.DisplayName), Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(&from)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: to.Scheme, User: to.User, Host: to.Host, Port: to.Port}})
	req.AppendHeader(newHeader("Content-Type", contentType))
	req.SetBody(body)
	p.route(req, to)
	res, err := p.cli.Do(ctx, req)
	if a := p.account(); err == nil && (res.StatusCode == sip.StatusUnauthorized || res.StatusCode == sip.StatusProxyAuthRequired) && a != nil {
		if cerr := p.challengeAllowed(req, res); cerr != nil {
			return fmt.Errorf("%w: MESSAGE: %w", ErrRequestFailed, cerr)
		}
		res, err = p.cli.DoDigestAuth(ctx, req, res, digestFor(a))
	}
	return messageResult(res, err)
}

func messageResult(res *sip.Response, err error) error {
	if err != nil {
		return fmt.Errorf("%w: MESSAGE: %w", ErrRequestFailed, err)
	}
	if !res.IsSuccess() {
		return fmt.Errorf("%w: MESSAGE answered %d %s", ErrRequestFailed, res.StatusCode, res.Reason)
	}
	return nil
}

// SendChat sends a chat text in the call, in the Wazo envelope.
func (p *Phone) SendChat(ctx context.Context, callID, text string) error {
	return p.sendEnvelope(ctx, callID, messageTypeChat, text)
}

// SendSignal sends a JSON signal in the call (e.g. onTrackUpdated), in the
// Wazo envelope.
func (p *Phone) SendSignal(ctx context.Context, callID string, content any) error {
	return p.sendEnvelope(ctx, callID, messageTypeSignal, content)
}

func (p *Phone) sendEnvelope(ctx context.Context, callID, typ string, content any) error {
	raw, err := json.Marshal(content)
	if err != nil {
		return fmt.Errorf("callengine: signal content: %w", err)
	}
	body, _ := json.Marshal(messageEnvelope{Type: typ, Content: raw})
	return p.SendMessage(ctx, callID, "", "application/json", body)
}

// onMessage answers every MESSAGE 200 (as the SDK's peers expect) and
// reports it: onMessage always, and phone/ON_CHAT or phone/ON_SIGNAL for the
// Wazo JSON envelope.
func (p *Phone) onMessage(req *sip.Request, tx sip.ServerTransaction) {
	// Events first, 200 last: a sender waiting for the 200 before its next
	// MESSAGE then never sees its messages reported out of order.
	defer respond(tx, req, sip.StatusOK, "OK")
	var s *CallSession
	if cid := req.CallID(); cid != nil {
		if c, err := p.call(cid.Value()); err == nil {
			s = c.snapshot()
		}
	}
	from := ""
	if f := req.From(); f != nil {
		from = f.Address.String()
	}
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = strings.TrimSpace(h.Value())
	}
	body := req.Body()
	p.emit(Event{Name: EventMessage, Session: s, Payload: MessagePayload{From: from, ContentType: ct, Body: string(body)}})
	var env messageEnvelope
	if json.Unmarshal(body, &env) != nil || env.Content == nil {
		return
	}
	var content any
	if json.Unmarshal(env.Content, &content) != nil {
		return
	}
	switch env.Type {
	case messageTypeChat:
		p.emit(Event{Name: EventChat, Session: s, Payload: ChatPayload{From: from, Content: content}})
	case messageTypeSignal:
		p.emit(Event{Name: EventSignal, Session: s, Payload: ChatPayload{From: from, Content: content}})
		if s != nil {
			p.onSignal(s.SipCallID, content)
		}
	}
}

// onSignal follows the Wazo SDK's onTrackUpdated signals: a peer that stops
// sharing "downgrades" its video.
func (p *Phone) onSignal(callID string, content any) {
	m, ok := content.(map[string]any)
	if !ok || m["type"] != "onTrackUpdated" {
		return
	}
	c, err := p.call(callID)
	if err != nil {
		return
	}
	down := m["update"] == "downgrade"
	c.update(func(s *CallSession) { s.VideoRemotelyDowngraded = &down }, nil, nil)
}
