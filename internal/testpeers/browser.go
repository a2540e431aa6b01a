package testpeers

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// ErrBrowser is returned when the browser harness reports a failed command.
var ErrBrowser = errors.New("testpeers: browser")

// BrowserFlavour selects the SIP stack a browser page runs.
type BrowserFlavour string

const (
	// FlavourSIPJS is SIP.js 0.21 (UserAgent, Registerer, Inviter, Invitation).
	FlavourSIPJS BrowserFlavour = "sipjs"
	// FlavourWazo is the Wazo SDK's own phone (Wazo.Phone).
	FlavourWazo BrowserFlavour = "wazo"
)

// BrowserEvent is one JSON line the harness printed that is not a reply:
// "session" (SIP.js state changes), "wazo" (a Wazo.Phone event by Name),
// "incoming", "rejected", "console", "pageerror".
type BrowserEvent struct {
	Event  string `json:"event"`
	Peer   string `json:"peer"`
	State  string `json:"state"`
	Name   string `json:"name"`
	Text   string `json:"text"`
	Status int    `json:"status"`
	MS     int    `json:"ms"` // since the call was placed or arrived, in the page's clock
	At     time.Time
}

// Browser is one headless Debian Chromium driven by playwright-core from
// node (internal/testpeers/browser/harness.js); each BrowserPeer is a page
// in it. One browser serves a whole test package: start it in TestMain or
// share it with sync.Once, since start-up takes a second or two of CPU.
type Browser struct {
	proc *process
	in   io.WriteCloser

	mu      sync.Mutex
	nextID  int
	waiting map[int]chan reply
	events  []BrowserEvent
	changed chan struct{}
	peers   int
	log     *logBuffer
}

type reply struct {
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result"`
	Error  string          `json:"error"`
}

// BrowserDir is internal/testpeers/browser in the source tree, where
// scripts/browser-deps.sh installs node_modules and builds the page bundles.
func BrowserDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "browser")
}

// StartBrowser starts the harness and Chromium with a fresh profile. Close
// stops both; callers register it with t.Cleanup (StartBrowser does so for tb).
func StartBrowser(tb testing.TB) *Browser {
	tb.Helper()
	SkipIfShort(tb, "node, chromium")
	b, err := NewBrowser(tb.TempDir())
	if err != nil {
		tb.Fatalf("testpeers: %v", err)
	}
	tb.Cleanup(b.Close)
	return b
}

// NewBrowser is StartBrowser without a testing.TB, for TestMain; dir is a
// scratch directory for the browser profile. The caller must Close it.
func NewBrowser(dir string) (*Browser, error) {
	for _, bin := range []string{"node", "chromium"} {
		if _, err := exec.LookPath(bin); err != nil {
			return nil, fmt.Errorf("%w: run `make deps-test` (missing %s)", ErrBrowser, bin)
		}
	}
	bd := BrowserDir()
	for _, f := range []string{"node_modules/playwright-core/package.json", "build/sipjs-peer.js", "build/wazo-sdk.js", "build/wazo-peer.js"} {
		if _, err := os.Stat(filepath.Join(bd, f)); err != nil {
			return nil, fmt.Errorf("%w: run scripts/browser-deps.sh (missing %s)", ErrBrowser, f)
		}
	}
	chromium, _ := exec.LookPath("chromium")
	env := append(os.Environ(),
		"PARLO_BROWSER_BUNDLES="+filepath.Join(bd, "build"),
		"PARLO_CHROMIUM="+chromium,
		"PARLO_BROWSER_PROFILE="+filepath.Join(dir, "chromium-profile"),
		"HOME="+dir, // Chromium writes caches and crash reports under HOME
	)
	b := &Browser{waiting: map[int]chan reply{}, changed: make(chan struct{}, 1)}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	// The harness's stdin is a pipe the Go side holds; its stdout is parsed
	// line by line; its stderr goes to the log buffer.
	proc, err := startProcessPipes("node", []string{filepath.Join(bd, "harness.js")}, bd, env, pr, outW)
	_ = pr.Close()
	_ = outW.Close()
	if err != nil {
		_ = pw.Close()
		_ = outR.Close()
		return nil, err
	}
	b.proc, b.in, b.log = proc, pw, proc.log
	ready := make(chan error, 1)
	go b.read(outR, ready)
	select {
	case err := <-ready:
		if err != nil {
			b.Close()
			return nil, err
		}
	case <-time.After(60 * time.Second):
		b.Close()
		return nil, fmt.Errorf("%w: chromium not ready in 60 s\n%s", ErrNotReady, b.Log())
	}
	return b, nil
}

func (b *Browser) read(r io.ReadCloser, ready chan<- error) {
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	sentReady := false
	for sc.Scan() {
		line := sc.Bytes()
		var head struct {
			ID    *int   `json:"id"`
			Event string `json:"event"`
			Text  string `json:"text"`
		}
		if err := json.Unmarshal(line, &head); err != nil {
			_, _ = b.log.Write(append(append([]byte("stdout: "), line...), '\n'))
			continue
		}
		if head.ID != nil {
			var rep reply
			_ = json.Unmarshal(line, &rep)
			b.mu.Lock()
			ch := b.waiting[*head.ID]
			delete(b.waiting, *head.ID)
			b.mu.Unlock()
			if ch != nil {
				ch <- rep
			}
			continue
		}
		switch head.Event {
		case "ready":
			if !sentReady {
				sentReady = true
				ready <- nil
			}
			continue
		case "fatal":
			if !sentReady {
				sentReady = true
				ready <- fmt.Errorf("%w: %s", ErrBrowser, head.Text)
			}
		}
		var ev BrowserEvent
		_ = json.Unmarshal(line, &ev)
		ev.At = time.Now()
		if ev.Event == "console" || ev.Event == "pageerror" {
			_, _ = fmt.Fprintf(b.log, "[%s] %s: %s\n", ev.Peer, ev.Event, ev.Text)
			if ev.Event == "console" {
				continue
			}
		}
		b.mu.Lock()
		b.events = append(b.events, ev)
		b.mu.Unlock()
		select {
		case b.changed <- struct{}{}:
		default:
		}
	}
	if !sentReady {
		ready <- fmt.Errorf("%w: harness exited\n%s", ErrProcessExited, b.log.String())
	}
	// Fail every waiter: nothing will answer them any more.
	b.mu.Lock()
	for id, ch := range b.waiting {
		ch <- reply{Error: "harness exited"}
		delete(b.waiting, id)
	}
	b.mu.Unlock()
}

// do sends one command and waits for its reply.
func (b *Browser) do(ctx context.Context, cmd map[string]any, result any) error {
	ch := make(chan reply, 1)
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	b.waiting[id] = ch
	cmd["id"] = id
	line, err := json.Marshal(cmd)
	if err == nil {
		_, err = b.in.Write(append(line, '\n'))
	}
	b.mu.Unlock()
	if err != nil {
		return fmt.Errorf("%w: send: %w", ErrBrowser, err)
	}
	select {
	case rep := <-ch:
		if !rep.OK {
			return fmt.Errorf("%w: %v: %s", ErrBrowser, cmd["method"], rep.Error)
		}
		if result != nil && len(rep.Result) > 0 {
			return json.Unmarshal(rep.Result, result)
		}
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		delete(b.waiting, id)
		b.mu.Unlock()
		return fmt.Errorf("%w: %v: %w", ErrBrowser, cmd["method"], ctx.Err())
	}
}

// Log is the harness's and the pages' console output so far.
func (b *Browser) Log() string { return b.log.String() }

// Close closes the harness's stdin (it then closes Chromium and exits) and
// kills the process group if it lingers. Idempotent.
func (b *Browser) Close() {
	if b.proc == nil {
		return
	}
	_ = b.in.Close()
	b.proc.waitOrKillOnce(5 * time.Second)
}

// BrowserPeer is one page of a Browser running a SIP stack.
type BrowserPeer struct {
	b    *Browser
	name string
}

// NewPeer opens a page running flavour; the page is closed by tb.Cleanup.
func (b *Browser) NewPeer(tb testing.TB, flavour BrowserFlavour) *BrowserPeer {
	tb.Helper()
	b.mu.Lock()
	b.peers++
	name := fmt.Sprintf("%s%d", flavour, b.peers)
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.do(ctx, map[string]any{"op": "newPage", "peer": name, "flavour": string(flavour)}, nil); err != nil {
		tb.Fatalf("testpeers: new %s page: %v\n%s", flavour, err, b.Log())
	}
	p := &BrowserPeer{b: b, name: name}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = b.do(ctx, map[string]any{"op": "closePage", "peer": name}, nil)
	})
	return p
}

func (p *BrowserPeer) call(ctx context.Context, method string, result any, args ...any) error {
	if args == nil {
		args = []any{}
	}
	return p.b.do(ctx, map[string]any{"op": "call", "peer": p.name, "method": method, "args": args}, result)
}

// BrowserRegistration is what a page registers with.
type BrowserRegistration struct {
	// Server is the WebSocket URL for SIP.js ("ws://127.0.0.1:port/"), and
	// "127.0.0.1:port" of Kamailio's WSS listener for the Wazo SDK (which
	// always dials wss://HOST:PORT/api/asterisk/ws).
	Server   string `json:"server"`
	URI      string `json:"uri"` // SIP.js: the address-of-record
	User     string `json:"user"`
	Password string `json:"password"`
	// ToneHz is the frequency of the sine the page sends as its microphone.
	ToneHz float64 `json:"toneHz"`
	// AutoAnswer answers incoming calls at once.
	AutoAnswer bool `json:"autoAnswer"`
	// VideoCodec, when set ("H264", "VP8"), keeps only that video codec in
	// the page's answers, so Chromium decodes it (SIP.js flavour).
	VideoCodec string `json:"videoCodec,omitempty"`
}

// Register registers the page's phone and waits for the 200.
func (p *BrowserPeer) Register(ctx context.Context, r BrowserRegistration) error {
	return p.call(ctx, "register", nil, r)
}

// Call places a call to target (a SIP URI for SIP.js, an extension for Wazo).
func (p *BrowserPeer) Call(ctx context.Context, target string) error {
	return p.call(ctx, "call", nil, target)
}

// Answer accepts the incoming call.
func (p *BrowserPeer) Answer(ctx context.Context) error { return p.call(ctx, "answer", nil) }

// Hangup ends, rejects or cancels the call.
func (p *BrowserPeer) Hangup(ctx context.Context) error { return p.call(ctx, "hangup", nil) }

// StartVideo makes the page send its fake camera (a moving test pattern,
// 640x480) in the established call: a re-INVITE adding video. SIP.js
// flavour only.
func (p *BrowserPeer) StartVideo(ctx context.Context) error { return p.call(ctx, "startVideo", nil) }

// ShareScreen makes the page share its screen the way a Wazo app does
// (Wazo.Phone.reinvite with screen constraints): a synthetic 1280x720
// screen, since headless Chromium has no getDisplayMedia picker. Wazo
// flavour only.
func (p *BrowserPeer) ShareScreen(ctx context.Context) error { return p.call(ctx, "shareScreen", nil) }

// StopScreenShare stops the page's share (Wazo.Phone.stopScreenSharing).
// Wazo flavour only.
func (p *BrowserPeer) StopScreenShare(ctx context.Context) error {
	return p.call(ctx, "stopScreenShare", nil)
}

// AudioLevel is the dominant frequency and RMS of what the page receives
// (a WebAudio analyser on the remote stream).
type AudioLevel struct {
	Hz  float64 `json:"hz"`
	RMS float64 `json:"rms"`
}

// AudioLevel reads the page's analyser.
func (p *BrowserPeer) AudioLevel(ctx context.Context) (AudioLevel, error) {
	var l AudioLevel
	err := p.call(ctx, "audioLevel", &l)
	return l, err
}

// BrowserStats is a summary of the page's RTCPeerConnection.getStats().
type BrowserStats struct {
	Audio struct {
		PacketsReceived int64 `json:"packetsReceived"`
		PacketsSent     int64 `json:"packetsSent"`
		BytesReceived   int64 `json:"bytesReceived"`
		// What Chromium's decoder made of it: the level of the last
		// decoded audio (0..1), samples decoded and how many of them were
		// concealment rather than received audio.
		AudioLevel           float64 `json:"audioLevel"`
		TotalSamplesReceived int64   `json:"totalSamplesReceived"`
		ConcealedSamples     int64   `json:"concealedSamples"`
		Codec                string  `json:"codec"`
	} `json:"audio"`
	Video struct {
		Codec                 string  `json:"codec"`
		FramesDecoded         int64   `json:"framesDecoded"`
		FramesReceived        int64   `json:"framesReceived"`
		FramesDropped         int64   `json:"framesDropped"`
		FrameWidth            int     `json:"frameWidth"`
		FrameHeight           int     `json:"frameHeight"`
		FramesPerSecond       float64 `json:"framesPerSecond"`
		PacketsReceived       int64   `json:"packetsReceived"`
		PacketsLost           int64   `json:"packetsLost"`
		NackCount             int64   `json:"nackCount"`
		PliCount              int64   `json:"pliCount"`
		FirCount              int64   `json:"firCount"`
		BytesReceived         int64   `json:"bytesReceived"`
		KeyFramesDecoded      int64   `json:"keyFramesDecoded"`
		TotalDecodeTime       float64 `json:"totalDecodeTime"`
		JitterBufferDelay     float64 `json:"jitterBufferDelay"`
		JitterBufferEmitted   int64   `json:"jitterBufferEmittedCount"`
		FreezeCount           int64   `json:"freezeCount"`
		DecoderImplementation string  `json:"decoderImplementation"`
	} `json:"video"`
	// VideoSent is the page's own outgoing video (the fake camera, after
	// StartVideo), as Chromium's encoder reports it.
	VideoSent struct {
		Codec         string `json:"codec"`
		FramesEncoded int64  `json:"framesEncoded"`
		FrameWidth    int    `json:"frameWidth"`
		FrameHeight   int    `json:"frameHeight"`
		PacketsSent   int64  `json:"packetsSent"`
		PliCount      int64  `json:"pliCount"`
		NackCount     int64  `json:"nackCount"`
	} `json:"videoSent"`
}

// Stats reads the page's getStats summary.
func (p *BrowserPeer) Stats(ctx context.Context) (BrowserStats, error) {
	var s BrowserStats
	err := p.call(ctx, "stats", &s)
	return s, err
}

// Events returns the events of this page seen so far.
func (p *BrowserPeer) Events() []BrowserEvent {
	p.b.mu.Lock()
	defer p.b.mu.Unlock()
	var out []BrowserEvent
	for _, ev := range p.b.events {
		if ev.Peer == p.name {
			out = append(out, ev)
		}
	}
	return out
}

// WaitEvent waits for the first event of this page for which match is true.
func (p *BrowserPeer) WaitEvent(ctx context.Context, match func(BrowserEvent) bool) (BrowserEvent, error) {
	for {
		for _, ev := range p.Events() {
			if match(ev) {
				return ev, nil
			}
		}
		select {
		case <-ctx.Done():
			var names []string
			for _, ev := range p.Events() {
				names = append(names, ev.Event+":"+ev.State+ev.Name)
			}
			return BrowserEvent{}, fmt.Errorf("%w: no matching event (%s): %w", ErrBrowser, strings.Join(names, ", "), ctx.Err())
		case <-p.b.changed:
		case <-time.After(50 * time.Millisecond):
		}
	}
}
