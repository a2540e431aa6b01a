package classic

import (
	"context"
	"time"
)

func (s *Session) dtlsID() (*dtlsIdentity, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.identity == nil {
		id, err := newDTLSIdentity()
		if err != nil {
			return nil, err
		}
		s.identity = id
	}
	return s.identity, nil
}

// keySDES keys l's transport from our crypto line and the peer's.
func (s *Session) keySDES(l *line, local, remote cryptoAttr) error {
	if l.remoteKey != nil && string(l.remoteKey) == string(remote.key) && l.tr.enc != nil {
		return nil
	}
	p := local.profile()
	err := l.tr.setKeys(p, local.key[:sdesKeyLen], local.key[sdesKeyLen:], remote.key[:sdesKeyLen], remote.key[sdesKeyLen:])
	if err != nil {
		return err
	}
	l.remoteKey = remote.key
	return nil
}

func (s *Session) iceConfig() iceConfig {
	return iceConfig{stunServers: s.opts.STUNServers, loopback: s.opts.IncludeLoopback, loopbackOnly: s.opts.LoopbackOnly}
}

// startICE starts connectivity checks on l. The offerer controls (RFC 8445
// §6.1.1); we only do ICE when the peer offered it, so we are controlled.
func (s *Session) startICE(l *line, r *remoteLine) {
	if l.ice == nil || l.ice.cancel != nil {
		return
	}
	_ = l.ice.connect(false, r.ufrag, r.pwd, r.cands)
}

// startDTLS runs the handshake in the background: after ICE when the line
// has ICE. Success keys SRTP and reports the call connected.
func (s *Session) startDTLS(l *line, client bool) {
	id, err := s.dtlsID()
	if err != nil {
		s.fail(err)
		return
	}
	l.dtlsActive = true
	fp := l.remoteFP
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(s.ctx, 20*time.Second)
		defer cancel()
		if l.ice != nil {
			if err := l.ice.wait(ctx); err != nil {
				s.lineFailed(l, err)
				return
			}
		}
		conn, err := dtlsHandshake(ctx, l.tr, id, client, fp)
		if err != nil {
			s.lineFailed(l, err)
			return
		}
		s.mu.Lock()
		if s.closed || l.disabled {
			s.mu.Unlock()
			_ = conn.Close()
			return
		}
		l.dtlsConn = conn
		s.mu.Unlock()
		s.log.Info("DTLS-SRTP up", "kind", l.kind, "client", client)
		if l.kind == "audio" {
			s.connected()
		}
	}()
}
