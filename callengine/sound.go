package callengine

// soundFor maps a call event to the sound event that follows it ("" for
// none). others is whether another established call exists (then an
// incoming call beeps instead of ringing).
func soundFor(name string, s *CallSession, others bool) string {
	switch name {
	case EventCallIncoming:
		if s.Ignored {
			return ""
		}
		if others {
			return EventPlayInboundCallSignalSound
		}
		return EventPlayRingingSound
	case EventProgress:
		return EventPlayProgressSound
	case EventCallAccepted, EventCallAnswered, EventCallRejected, EventCallCanceled, EventEarlyMedia:
		return EventTerminateSound
	case EventCallEnded:
		if s.Answered {
			return EventPlayHangupSound
		}
		return EventTerminateSound
	}
	return ""
}

// Ignore silences a ringing incoming call without answering or rejecting
// it (the SDK's ignore): session.ignored becomes true and terminateSound
// stops the ringtone; the caller keeps hearing ringback.
func (p *Phone) Ignore(id string) error {
	c, err := p.call(id)
	if err != nil {
		return err
	}
	s := c.snapshot()
	if s.IsCaller || s.Answered || s.IsTerminated() {
		return ErrInvalidState
	}
	c.update(func(s *CallSession) { s.Ignored = true }, []string{EventTerminateSound}, nil)
	return nil
}

// otherEstablished reports whether a call other than id is established.
func (p *Phone) otherEstablished(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for cid, c := range p.calls {
		if cid == id {
			continue
		}
		c.mu.Lock()
		up := c.s.SipStatus == SipStatusEstablished
		c.mu.Unlock()
		if up {
			return true
		}
	}
	return false
}
