package classic

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/crypto/fingerprint"
	"github.com/pion/dtls/v3/pkg/crypto/selfsign"
	"github.com/pion/srtp/v3"
)

// ErrFingerprint means the peer's DTLS certificate does not match the
// fingerprint in its SDP (RFC 5763 §5).
var ErrFingerprint = errors.New("classic: DTLS certificate does not match the SDP fingerprint")

// dtlsIdentity is the session's certificate and its SDP fingerprint.
type dtlsIdentity struct {
	cert tls.Certificate
	fp   string // "sha-256 AB:CD:..."
}

func newDTLSIdentity() (*dtlsIdentity, error) {
	cert, err := selfsign.GenerateSelfSigned()
	if err != nil {
		return nil, fmt.Errorf("classic: DTLS certificate: %w", err)
	}
	x, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("classic: DTLS certificate: %w", err)
	}
	fp, err := fingerprint.Fingerprint(x, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("classic: DTLS fingerprint: %w", err)
	}
	return &dtlsIdentity{cert: cert, fp: "sha-256 " + strings.ToUpper(fp)}, nil
}

// dtlsPipe is the net.PacketConn pion/dtls runs on: records the transport
// demuxed off the media port come in through push, what DTLS writes goes out
// on the link's RTP component.
type dtlsPipe struct {
	l    link
	in   chan []byte
	done chan struct{}
	once sync.Once

	mu       sync.Mutex
	deadline time.Time
}

func newDTLSPipe(l link) *dtlsPipe {
	return &dtlsPipe{l: l, in: make(chan []byte, 64), done: make(chan struct{})}
}

func (p *dtlsPipe) push(b []byte) {
	select {
	case p.in <- b:
	default: // DTLS retransmits; dropping under pressure is fine
	}
}

type timeoutError struct{}

func (timeoutError) Error() string   { return "classic: dtls pipe read timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// ReadFrom implements net.PacketConn.
func (p *dtlsPipe) ReadFrom(b []byte) (int, net.Addr, error) {
	p.mu.Lock()
	dl := p.deadline
	p.mu.Unlock()
	var timer <-chan time.Time
	if !dl.IsZero() {
		d := time.Until(dl)
		if d <= 0 {
			return 0, nil, timeoutError{}
		}
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	select {
	case pkt := <-p.in:
		return copy(b, pkt), p.addr(), nil
	case <-p.done:
		return 0, nil, net.ErrClosed
	case <-timer:
		return 0, nil, timeoutError{}
	}
}

func (p *dtlsPipe) addr() net.Addr {
	if a := p.l.remoteAddr(); a != nil {
		return a
	}
	return &net.UDPAddr{IP: net.IPv4zero}
}

// WriteTo implements net.PacketConn.
func (p *dtlsPipe) WriteTo(b []byte, _ net.Addr) (int, error) {
	select {
	case <-p.done:
		return 0, net.ErrClosed
	default:
	}
	if err := p.l.write(compRTP, b); err != nil {
		return 0, err
	}
	return len(b), nil
}

func (p *dtlsPipe) Close() error {
	p.once.Do(func() { close(p.done) })
	return nil
}

func (p *dtlsPipe) LocalAddr() net.Addr {
	ip, port, _ := p.l.local()
	return &net.UDPAddr{IP: ip, Port: port}
}

func (p *dtlsPipe) SetDeadline(t time.Time) error { return p.SetReadDeadline(t) }

func (p *dtlsPipe) SetReadDeadline(t time.Time) error {
	p.mu.Lock()
	p.deadline = t
	p.mu.Unlock()
	return nil
}

func (p *dtlsPipe) SetWriteDeadline(time.Time) error { return nil }

// dtlsHandshake runs the DTLS-SRTP handshake (RFC 5764) on t as client or
// server, checks the peer's certificate against remoteFP (RFC 5763 §5) and
// keys t's SRTP contexts from the exported keying material (RFC 5764 §4.2).
func dtlsHandshake(ctx context.Context, t *transport, id *dtlsIdentity, client bool, remoteFP string) (*dtls.Conn, error) {
	alg, want, ok := strings.Cut(strings.TrimSpace(remoteFP), " ")
	if !ok {
		return nil, fmt.Errorf("%w: malformed fingerprint %q", ErrFingerprint, remoteFP)
	}
	hash, err := fingerprint.HashFromString(strings.ToLower(alg))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFingerprint, err)
	}
	verify := func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) == 0 {
			return ErrFingerprint
		}
		x, err := x509.ParseCertificate(raw[0])
		if err != nil {
			return fmt.Errorf("%w: %w", ErrFingerprint, err)
		}
		got, err := fingerprint.Fingerprint(x, hash)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrFingerprint, err)
		}
		if !strings.EqualFold(got, strings.TrimSpace(want)) {
			return ErrFingerprint
		}
		return nil
	}
	common := []dtls.Option{
		dtls.WithCertificates(id.cert),
		dtls.WithSRTPProtectionProfiles(
			dtls.SRTP_AEAD_AES_128_GCM,
			dtls.SRTP_AES128_CM_HMAC_SHA1_80,
			dtls.SRTP_AES128_CM_HMAC_SHA1_32,
		),
		dtls.WithExtendedMasterSecret(dtls.RequestExtendedMasterSecret),
		// Self-signed certificates: the fingerprint in the signalled SDP
		// is what authenticates the peer (RFC 5763 §5).
		dtls.WithInsecureSkipVerify(true),
		dtls.WithVerifyPeerCertificate(verify),
	}
	var conn *dtls.Conn
	if client {
		opts := make([]dtls.ClientOption, 0, len(common))
		for _, o := range common {
			opts = append(opts, o)
		}
		conn, err = dtls.ClientWithOptions(t.dtls, t.dtls.addr(), opts...)
	} else {
		opts := make([]dtls.ServerOption, 0, len(common)+1)
		for _, o := range common {
			opts = append(opts, o)
		}
		opts = append(opts, dtls.WithClientAuth(dtls.RequireAnyClientCert))
		conn, err = dtls.ServerWithOptions(t.dtls, t.dtls.addr(), opts...)
	}
	if err != nil {
		return nil, fmt.Errorf("classic: DTLS: %w", err)
	}
	if err := conn.HandshakeContext(ctx); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("classic: DTLS handshake: %w", err)
	}
	prof, ok := conn.SelectedSRTPProtectionProfile()
	if !ok {
		_ = conn.Close()
		return nil, errors.New("classic: DTLS: no SRTP profile negotiated")
	}
	var sp srtp.ProtectionProfile
	switch prof {
	case dtls.SRTP_AEAD_AES_128_GCM:
		sp = srtp.ProtectionProfileAeadAes128Gcm
	case dtls.SRTP_AES128_CM_HMAC_SHA1_32:
		sp = srtp.ProtectionProfileAes128CmHmacSha1_32
	default:
		sp = srtp.ProtectionProfileAes128CmHmacSha1_80
	}
	state, ok := conn.ConnectionState()
	if !ok {
		_ = conn.Close()
		return nil, errors.New("classic: DTLS: no connection state")
	}
	cfg := srtp.Config{Profile: sp}
	if err := cfg.ExtractSessionKeysFromDTLS(&state, client); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("classic: DTLS-SRTP keys: %w", err)
	}
	k := cfg.Keys
	if err := t.setKeys(sp, k.LocalMasterKey, k.LocalMasterSalt, k.RemoteMasterKey, k.RemoteMasterSalt); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return conn, nil
}
