package classic

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/pion/ice/v4"
	"github.com/pion/stun/v4"
)

// iceLink is one m-line's own ICE agent (RFC 8445), component 1 only: ICE
// lines need rtcp-mux, which every ICE-capable SIP peer offers (baresip with
// rtcp_mux, Linphone, Asterisk). One agent per line, since the peer has no
// BUNDLE: each line checks connectivity on its own port.
type iceLink struct {
	agent      *ice.Agent
	ufrag, pwd string
	cands      []ice.Candidate
	defaultIP  net.IP
	defaultPrt int

	mu   sync.Mutex
	conn *ice.Conn
	rem  net.Addr

	ready  chan struct{} // closed once connected (or failed: see err)
	stop   chan struct{} // closed by close
	err    error
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

type iceConfig struct {
	stunServers  []string
	loopback     bool // include loopback candidates
	loopbackOnly bool
}

// newICELink creates the agent and gathers its candidates (non-trickle: SIP
// carries one complete SDP, RFC 8839 §4.1 without trickle).
func newICELink(ctx context.Context, cfg iceConfig) (*iceLink, error) {
	var urls []*stun.URI
	for _, s := range cfg.stunServers {
		u, err := stun.ParseURI(s)
		if err != nil {
			return nil, fmt.Errorf("classic: STUN server %q: %w", s, err)
		}
		urls = append(urls, u)
	}
	types := []ice.CandidateType{ice.CandidateTypeHost}
	if len(urls) > 0 {
		types = append(types, ice.CandidateTypeServerReflexive)
	}
	opts := []ice.AgentOption{
		ice.WithUrls(urls),
		ice.WithNetworkTypes([]ice.NetworkType{ice.NetworkTypeUDP4}),
		ice.WithCandidateTypes(types),
		ice.WithMulticastDNSMode(ice.MulticastDNSModeDisabled),
	}
	if cfg.loopback || cfg.loopbackOnly {
		opts = append(opts, ice.WithIncludeLoopback())
	}
	if cfg.loopbackOnly {
		opts = append(opts, ice.WithIPFilter(func(ip net.IP) bool { return ip.IsLoopback() }))
	}
	agent, err := ice.NewAgentWithOptions(opts...)
	if err != nil {
		return nil, fmt.Errorf("classic: ICE agent: %w", err)
	}
	l := &iceLink{agent: agent, ready: make(chan struct{}), stop: make(chan struct{})}
	l.ufrag, l.pwd, err = agent.GetLocalUserCredentials()
	if err != nil {
		_ = agent.Close()
		return nil, fmt.Errorf("classic: ICE credentials: %w", err)
	}
	done := make(chan struct{})
	var mu sync.Mutex
	if err := agent.OnCandidate(func(c ice.Candidate) {
		if c == nil {
			close(done)
			return
		}
		mu.Lock()
		l.cands = append(l.cands, c)
		mu.Unlock()
	}); err != nil {
		_ = agent.Close()
		return nil, err
	}
	if err := agent.GatherCandidates(); err != nil {
		_ = agent.Close()
		return nil, fmt.Errorf("classic: ICE gathering: %w", err)
	}
	select {
	case <-done:
	case <-ctx.Done():
		_ = agent.Close()
		return nil, ctx.Err()
	}
	mu.Lock()
	defer mu.Unlock()
	if len(l.cands) == 0 {
		_ = agent.Close()
		return nil, errors.New("classic: ICE gathered no candidate")
	}
	// Default candidate (RFC 8839 §5.1): the first host one, else any.
	best := l.cands[0]
	for _, c := range l.cands {
		if c.Type() == ice.CandidateTypeHost {
			best = c
			break
		}
	}
	l.defaultIP = net.ParseIP(best.Address())
	l.defaultPrt = best.Port()
	return l, nil
}

// candidates are our a=candidate values.
func (l *iceLink) candidates() []string {
	out := make([]string, 0, len(l.cands))
	for _, c := range l.cands {
		// Without pion's "ufrag … generation 0" extensions: bytes count.
		v := c.Marshal()
		if i := strings.Index(v, " ufrag "); i > 0 {
			v = v[:i]
		}
		out = append(out, v)
	}
	return out
}

// connect adds the peer's candidates and starts the checks; controlling is
// the offerer's role when both are full agents (RFC 8445 §6.1.1). It
// returns at once; ready closes when a pair is selected.
func (l *iceLink) connect(controlling bool, ufrag, pwd string, remote []string) error {
	for _, v := range remote {
		c, err := ice.UnmarshalCandidate(v)
		if err != nil || c.Component() != 1 {
			continue // RTCP component or a type we do not parse
		}
		if err := l.agent.AddRemoteCandidate(c); err != nil {
			continue
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		var (
			conn *ice.Conn
			err  error
		)
		if controlling {
			conn, err = l.agent.Dial(ctx, ufrag, pwd)
		} else {
			conn, err = l.agent.Accept(ctx, ufrag, pwd)
		}
		l.mu.Lock()
		l.conn, l.err = conn, err
		if conn != nil {
			l.rem = conn.RemoteAddr()
		}
		l.mu.Unlock()
		close(l.ready)
	}()
	return nil
}

func (l *iceLink) start(h func(comp int, b []byte, from *net.UDPAddr)) {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		select {
		case <-l.ready:
		case <-l.stop:
			return
		}
		l.mu.Lock()
		conn := l.conn
		l.mu.Unlock()
		if conn == nil {
			return
		}
		buf := make([]byte, 1600)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			h(compRTP, append([]byte(nil), buf[:n]...), nil)
		}
	}()
}

// wait blocks until ICE connected or failed.
func (l *iceLink) wait(ctx context.Context) error {
	select {
	case <-l.ready:
	case <-l.stop:
		return net.ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return fmt.Errorf("classic: ICE: %w", l.err)
	}
	return nil
}

func (l *iceLink) write(_ int, b []byte) error {
	l.mu.Lock()
	conn := l.conn
	l.mu.Unlock()
	if conn == nil {
		return errNoRemote
	}
	_, err := conn.Write(b)
	return err
}

func (l *iceLink) setRemote(*net.UDPAddr, *net.UDPAddr, bool) {}

// admit accepts everything the ICE conn delivers: pion/ice passes on
// non-STUN data only from remote candidates it knows (signalled, or
// peer-reflexive from a binding request carrying our password, RFC 8445
// §7.3.1.3), and sends only on the selected pair, so a stranger can neither
// inject nor move our media here.
func (l *iceLink) admit(int, *net.UDPAddr, bool) bool { return true }

func (l *iceLink) foreignDropped() uint64 { return 0 }

func (l *iceLink) local() (net.IP, int, int) { return l.defaultIP, l.defaultPrt, l.defaultPrt }

func (l *iceLink) remoteAddr() net.Addr {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rem
}

func (l *iceLink) close() error {
	l.once.Do(func() {
		close(l.stop)
		if l.cancel != nil {
			l.cancel()
		}
		_ = l.agent.Close()
		l.wg.Wait()
	})
	return nil
}
