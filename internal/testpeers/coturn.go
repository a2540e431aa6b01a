package testpeers

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Coturn is a running coturn 4.6 TURN server on 127.0.0.1 with one
// long-term-credential user (RFC 8489 §9.2).
type Coturn struct {
	port     int
	minPort  int
	maxPort  int
	user     string
	password string
	realm    string
	proc     *process
}

// StartCoturn starts turnserver listening on UDP and TCP 127.0.0.1:port,
// relaying on 127.0.0.1 (loopback peers allowed, since every test peer is
// local), with user parlo and a random password. It is stopped by
// tb.Cleanup.
func StartCoturn(tb testing.TB) *Coturn {
	tb.Helper()
	Require(tb, "turnserver")
	port := FreeSIPPort(tb, false)
	dir := tb.TempDir()
	c := &Coturn{port: port, user: "parlo", password: "turn-" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36), realm: "parlo.test"}
	// Relay ports above Linux's ephemeral range (32768–60999), so no
	// kernel-chosen host candidate or SIP port can fall inside the range a
	// firewall test lets through as "the relay".
	minPort, maxPort := 61000+port%4000, 61000+port%4000+400
	c.minPort, c.maxPort = minPort, maxPort
	conf := fmt.Sprintf(`listening-ip=127.0.0.1
relay-ip=127.0.0.1
listening-port=%d
min-port=%d
max-port=%d
realm=%s
lt-cred-mech
user=%s:%s
fingerprint
allow-loopback-peers
no-tls
no-dtls
no-cli
no-multicast-peers
pidfile=%s
log-file=stdout
simple-log
`, port, minPort, maxPort, c.realm, c.user, c.password, filepath.Join(dir, "turnserver.pid"))
	confPath := filepath.Join(dir, "turnserver.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		tb.Fatal(err)
	}
	proc, err := startProcess("turnserver", []string{"-c", confPath}, dir, os.Environ())
	if err != nil {
		tb.Fatalf("testpeers: %v", err)
	}
	c.proc = proc
	tb.Cleanup(func() { proc.stop(2 * time.Second) })
	// Ready when the TCP listener accepts.
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", c.Addr(), 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return c
		}
		if proc.exited() || time.Now().After(deadline) {
			tb.Fatalf("testpeers: coturn did not start: %v\n%s", err, proc.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Addr is "127.0.0.1:port".
func (c *Coturn) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)) }

// URL is the TURN URI for transport "udp" or "tcp" (RFC 7065).
func (c *Coturn) URL(transport string) string {
	return "turn:" + c.Addr() + "?transport=" + transport
}

// User is the long-term credentials' user name.
func (c *Coturn) User() string { return c.user }

// Password is the long-term credentials' password.
func (c *Coturn) Password() string { return c.password }

// RelayPorts is the range coturn allocates relayed addresses from.
func (c *Coturn) RelayPorts() (lo, hi int) { return c.minPort, c.maxPort }

// Port is the TURN listening port (UDP and TCP).
func (c *Coturn) Port() int { return c.port }

// Log is coturn's output, for failure messages.
func (c *Coturn) Log() string { return c.proc.log.String() }
