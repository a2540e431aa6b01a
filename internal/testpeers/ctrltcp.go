package testpeers

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrCommandFailed is returned when baresip answers a ctrl_tcp command with
// "ok": false.
var ErrCommandFailed = errors.New("testpeers: baresip command failed")

// ErrCtrlClosed is returned once the ctrl_tcp connection is gone.
var ErrCtrlClosed = errors.New("testpeers: baresip ctrl_tcp connection closed")

// maxNetstring bounds one ctrl_tcp message; baresip's own limit is smaller.
const maxNetstring = 1 << 20

// BaresipEvent is one asynchronous event baresip pushed over ctrl_tcp, e.g.
// CALL_INCOMING, CALL_ESTABLISHED, CALL_CLOSED, REGISTER_OK.
type BaresipEvent struct {
	Seq        int    `json:"-"` // order of arrival, from 1
	Type       string `json:"type"`
	Class      string `json:"class"`
	AccountAOR string `json:"accountaor"`
	Direction  string `json:"direction"`
	PeerURI    string `json:"peeruri"`
	ID         string `json:"id"`
	Param      string `json:"param"`
	Raw        string `json:"-"`
	// At is when the event arrived on the control connection, so that a
	// waiter that reads it later still knows when it happened.
	At time.Time `json:"-"`
}

type ctrlMessage struct {
	Event    bool   `json:"event"`
	Response bool   `json:"response"`
	OK       bool   `json:"ok"`
	Data     string `json:"data"`
	Token    string `json:"token"`
}

type ctrlResult struct {
	raw string
	msg ctrlMessage
}

// ctrlClient speaks baresip's ctrl_tcp: JSON objects framed as netstrings
// ("len:json,"), commands carry a token echoed in their response, and events
// arrive unsolicited on the same connection.
type ctrlClient struct {
	conn net.Conn

	mu       sync.Mutex
	nextTok  int
	pending  map[string]chan ctrlResult
	events   []BaresipEvent
	consumed map[int]bool
	changed  chan struct{} // closed and replaced whenever events or closed change
	closed   bool

	readerDone chan struct{}
}

func newCtrlClient(conn net.Conn) *ctrlClient {
	c := &ctrlClient{
		conn:       conn,
		pending:    map[string]chan ctrlResult{},
		consumed:   map[int]bool{},
		changed:    make(chan struct{}),
		readerDone: make(chan struct{}),
	}
	go c.readLoop()
	return c
}

// readNetstring reads one "len:payload," frame. It rejects oversized or
// malformed frames instead of trusting the peer.
func readNetstring(r *bufio.Reader) ([]byte, error) {
	head, err := r.ReadString(':')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(head[:len(head)-1]))
	if err != nil || n < 0 || n > maxNetstring {
		return nil, fmt.Errorf("testpeers: bad netstring length %q", head)
	}
	buf := make([]byte, n+1)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	if buf[n] != ',' {
		return nil, errors.New("testpeers: netstring without trailing comma")
	}
	return buf[:n], nil
}

func writeNetstring(w io.Writer, payload []byte) error {
	_, err := fmt.Fprintf(w, "%d:%s,", len(payload), payload)
	return err
}

func (c *ctrlClient) readLoop() {
	defer close(c.readerDone)
	r := bufio.NewReader(c.conn)
	for {
		payload, err := readNetstring(r)
		if err != nil {
			c.shutdown()
			return
		}
		var m ctrlMessage
		if err := json.Unmarshal(payload, &m); err != nil {
			continue // not ours to judge; keep reading
		}
		switch {
		case m.Response:
			c.mu.Lock()
			ch := c.pending[m.Token]
			delete(c.pending, m.Token)
			c.mu.Unlock()
			if ch != nil {
				ch <- ctrlResult{raw: string(payload), msg: m}
			}
		case m.Event:
			var ev BaresipEvent
			if err := json.Unmarshal(payload, &ev); err != nil {
				continue
			}
			ev.Raw = string(payload)
			ev.At = time.Now()
			c.mu.Lock()
			ev.Seq = len(c.events) + 1
			c.events = append(c.events, ev)
			c.notifyLocked()
			c.mu.Unlock()
		}
	}
}

func (c *ctrlClient) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *ctrlClient) shutdown() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.closed = true
	for tok, ch := range c.pending {
		close(ch)
		delete(c.pending, tok)
	}
	c.notifyLocked()
}

// close closes the connection and waits for the reader; idempotent.
func (c *ctrlClient) close() {
	_ = c.conn.Close()
	<-c.readerDone
}

// command sends one command and waits for its response.
func (c *ctrlClient) command(ctx context.Context, cmd, params string) (string, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return "", ErrCtrlClosed
	}
	c.nextTok++
	tok := "t" + strconv.Itoa(c.nextTok)
	ch := make(chan ctrlResult, 1)
	c.pending[tok] = ch
	c.mu.Unlock()

	payload, err := json.Marshal(map[string]string{"command": cmd, "params": params, "token": tok})
	if err != nil {
		return "", err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.conn.SetWriteDeadline(dl)
	}
	if err := writeNetstring(c.conn, payload); err != nil {
		c.forget(tok)
		return "", fmt.Errorf("testpeers: send %s: %w", cmd, err)
	}
	select {
	case res, ok := <-ch:
		if !ok {
			return "", ErrCtrlClosed
		}
		if !res.msg.OK {
			return res.raw, fmt.Errorf("%w: %s %q: %s", ErrCommandFailed, cmd, params, strings.TrimSpace(res.msg.Data))
		}
		return res.raw, nil
	case <-ctx.Done():
		c.forget(tok)
		return "", fmt.Errorf("testpeers: %s: %w", cmd, ctx.Err())
	}
}

func (c *ctrlClient) forget(tok string) {
	c.mu.Lock()
	delete(c.pending, tok)
	c.mu.Unlock()
}

// waitEvent returns the first event with Seq > after that match accepts and
// that no earlier waitEvent with consume returned.
func (c *ctrlClient) waitEvent(ctx context.Context, after int, consume bool, match func(BaresipEvent) bool) (BaresipEvent, error) {
	for {
		c.mu.Lock()
		for _, ev := range c.events {
			if ev.Seq <= after || c.consumed[ev.Seq] || !match(ev) {
				continue
			}
			if consume {
				c.consumed[ev.Seq] = true
			}
			c.mu.Unlock()
			return ev, nil
		}
		closed, changed := c.closed, c.changed
		c.mu.Unlock()
		if closed {
			return BaresipEvent{}, ErrCtrlClosed
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return BaresipEvent{}, ctx.Err()
		}
	}
}

// lastSeq is the Seq of the newest event so far.
func (c *ctrlClient) lastSeq() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.events)
}

// snapshot copies every event so far.
func (c *ctrlClient) snapshot() []BaresipEvent {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]BaresipEvent(nil), c.events...)
}
